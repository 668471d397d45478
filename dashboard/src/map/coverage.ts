// 5G coverage as hexagons: the API aggregates link samples on an H3 grid; each cell becomes a
// polygon (h3-js cellToBoundary) coloured by the chosen metric's mean (RSRP, SINR or RTT) in the
// bands radio planners use, at a resolution that follows the map's zoom.

import { cellToBoundary, isValidCell } from 'h3-js';
import type { FeatureCollection, Polygon } from 'geojson';
import type { CoverageCell } from '../api-types.js';
import type { MessageKey } from '../i18n.js';

export type CoverageMetric = 'rsrp' | 'sinr' | 'rtt';
export const COVERAGE_METRICS: readonly CoverageMetric[] = ['rsrp', 'sinr', 'rtt'];

export interface CoverageBand {
  /** Inclusive lower bound for RSRP and SINR (higher is better); exclusive upper bound for RTT (lower is better). */
  limit: number;
  color: string;
  label: MessageKey;
}

// One palette, best to worst, for every metric: green always means good.
const PALETTE = ['#15803d', '#65a30d', '#ca8a04', '#ea580c', '#b91c1c'] as const;
export const NO_DATA_COLOR = '#94a3b8';

function bands(limits: readonly number[], labels: readonly MessageKey[]): readonly CoverageBand[] {
  return limits.map((limit, i) => ({ limit, color: PALETTE[i]!, label: labels[i]! }));
}

/** The bands of each metric, best first. */
export const COVERAGE_BANDS: Readonly<Record<CoverageMetric, readonly CoverageBand[]>> = {
  // dBm, the usual LTE/NR reference-signal planning bands.
  rsrp: bands(
    [-80, -90, -100, -110, -Infinity],
    ['coverage.rsrp.excellent', 'coverage.rsrp.good', 'coverage.rsrp.fair', 'coverage.rsrp.poor', 'coverage.rsrp.bad'],
  ),
  // dB: from ≥ 20 (top modulation) to below −5 (the link barely holds).
  sinr: bands(
    [20, 13, 0, -5, -Infinity],
    ['coverage.sinr.excellent', 'coverage.sinr.good', 'coverage.sinr.fair', 'coverage.sinr.poor', 'coverage.sinr.bad'],
  ),
  // ms, lower is better: remote assistance wants well under 100 ms round trips.
  rtt: bands(
    [20, 50, 100, 200, Infinity],
    ['coverage.rtt.excellent', 'coverage.rtt.good', 'coverage.rtt.fair', 'coverage.rtt.poor', 'coverage.rtt.bad'],
  ),
};

const MEAN: Record<CoverageMetric, (cell: CoverageCell) => number | null> = {
  rsrp: (c) => c.rsrp_dbm_mean,
  sinr: (c) => c.sinr_db_mean,
  rtt: (c) => c.rtt_ms_mean,
};

/** The band a value falls in, or null without a value. */
export function coverageBand(metric: CoverageMetric, value: number | null | undefined): CoverageBand | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  const list = COVERAGE_BANDS[metric];
  const found = metric === 'rtt' ? list.find((b) => value < b.limit) : list.find((b) => value >= b.limit);
  return found ?? list[list.length - 1]!;
}

export function coverageColor(metric: CoverageMetric, value: number | null | undefined): string {
  return coverageBand(metric, value)?.color ?? NO_DATA_COLOR;
}

/**
 * The H3 resolution to ask for at a map zoom: cells a few dozen pixels across. Res 8 cells
 * (≈ 0.7 km²) suit a town, res 9 (≈ 0.1 km²) a district, res 10 (≈ 15 000 m²) a street.
 */
export function coverageResolution(zoom: number): 8 | 9 | 10 {
  if (zoom >= 15) return 10;
  if (zoom >= 13) return 9;
  return 8;
}

export function coverageFeatures(cells: readonly CoverageCell[], metric: CoverageMetric = 'rsrp'): FeatureCollection<Polygon> {
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
        color: coverageColor(metric, MEAN[metric](cell)),
        rsrp: cell.rsrp_dbm_mean,
        sinr: cell.sinr_db_mean,
        rtt: cell.rtt_ms_mean,
        samples: cell.samples,
      },
    });
  }
  return { type: 'FeatureCollection', features };
}
