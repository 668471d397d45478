// 5G coverage as hexagons: the API aggregates link samples on an H3 grid; each cell becomes a
// polygon (h3-js cellToBoundary) coloured by mean RSRP in the bands radio planners use.

import { cellToBoundary, isValidCell } from 'h3-js';
import type { FeatureCollection, Polygon } from 'geojson';
import type { CoverageCell } from '../api-types.js';

/** Lower bound (dBm) and colour of each RSRP band, best first. */
export const RSRP_BANDS: readonly { min: number; color: string; key: 'excellent' | 'good' | 'fair' | 'poor' | 'bad' }[] = [
  { min: -80, color: '#15803d', key: 'excellent' },
  { min: -90, color: '#65a30d', key: 'good' },
  { min: -100, color: '#ca8a04', key: 'fair' },
  { min: -110, color: '#ea580c', key: 'poor' },
  { min: -Infinity, color: '#b91c1c', key: 'bad' },
];
export const NO_DATA_COLOR = '#94a3b8';

export function rsrpColor(rsrp: number | null | undefined): string {
  if (rsrp === null || rsrp === undefined || !Number.isFinite(rsrp)) return NO_DATA_COLOR;
  return RSRP_BANDS.find((b) => rsrp >= b.min)!.color;
}

export function coverageFeatures(cells: readonly CoverageCell[]): FeatureCollection<Polygon> {
  const features: FeatureCollection<Polygon>['features'] = [];
  for (const cell of cells) {
    // Not an H3 index: skip the cell rather than the layer.
    if (!isValidCell(cell.h3)) continue;
    const ring = cellToBoundary(cell.h3, true);
    features.push({
      type: 'Feature',
      geometry: { type: 'Polygon', coordinates: [ring] },
      properties: {
        h3: cell.h3,
        color: rsrpColor(cell.rsrp_dbm_mean),
        rsrp: cell.rsrp_dbm_mean,
        sinr: cell.sinr_db_mean,
        rtt: cell.rtt_ms_mean,
        samples: cell.samples,
      },
    });
  }
  return { type: 'FeatureCollection', features };
}
