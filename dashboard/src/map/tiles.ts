// Base-map tiles for production: none by default (the offline style of the seeds), or a raster
// tile URL template (e.g. GSI's https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png), a
// raster PMTiles archive, or a whole MapLibre style URL with michi's layers drawn on top. The
// setting comes from GET /api/v1/config (`tiles`), else from the build-time VITE_MICHI_TILES
// (JSON), else nothing: the dashboard never fetches a tile unless someone configured one.

import { addProtocol } from 'maplibre-gl';
import { Protocol } from 'pmtiles';
import type { TileSource } from '../api-types.js';
import type { StyleSpecification } from './style.js';

export const BASEMAP_SOURCE = 'michi-basemap';
export const BASEMAP_LAYER = 'basemap';

let pmtilesRegistered = false;

/** Parses VITE_MICHI_TILES; a malformed value is reported and ignored (offline style). */
export function tilesFromEnv(raw: string | undefined, onError: (err: unknown) => void): TileSource | null {
  if (!raw) return null;
  try {
    return validTileSource(JSON.parse(raw));
  } catch (err) {
    onError(new Error(`VITE_MICHI_TILES is not a valid tile source: ${(err as Error).message}`));
    return null;
  }
}

export function validTileSource(value: unknown): TileSource | null {
  if (value === null || value === undefined) return null;
  const v = value as Partial<TileSource>;
  if (typeof v !== 'object' || typeof v.url !== 'string' || !['raster', 'pmtiles', 'style'].includes(String(v.type))) {
    throw new Error('expected {type: "raster" | "pmtiles" | "style", url: string}');
  }
  return v as TileSource;
}

/** The sources and layers to put under michi's own, for a raster or PMTiles setting. */
export function basemapOf(tiles: TileSource | null): Pick<StyleSpecification, 'sources' | 'layers'> | null {
  if (!tiles || tiles.type === 'style') return null;
  const common = { tileSize: tiles.tileSize ?? 256, maxzoom: tiles.maxzoom ?? 18, attribution: tiles.attribution ?? '' };
  let source: StyleSpecification['sources'][string];
  if (tiles.type === 'pmtiles') {
    if (!pmtilesRegistered) {
      addProtocol('pmtiles', new Protocol().tile);
      pmtilesRegistered = true;
    }
    source = { type: 'raster', url: `pmtiles://${tiles.url}`, ...common };
  } else {
    source = { type: 'raster', tiles: [tiles.url], ...common };
  }
  return {
    sources: { [BASEMAP_SOURCE]: source },
    layers: [{ id: BASEMAP_LAYER, type: 'raster', source: BASEMAP_SOURCE, paint: { 'raster-opacity': 0.85 } }],
  };
}
