// The MapLibre style of a pilot, built in code from its definition: background, geofences,
// routes, stops and 5G cell sites as GeoJSON layers, plus the layers the dashboard fills at run
// time (5G coverage hexagons, vehicle trails, vehicle dots for large fleets). By default nothing
// in it points outside the page: no tiles, no sprite and no `glyphs` URL, so no symbol (text)
// layer either. Every label is an HTML element (vehicle markers, hover tooltips), which the
// browser draws with its own fonts. A deployment may add a base map (tiles.ts).

import type { FeatureCollection, LineString, Point, Polygon } from 'geojson';
import type { LngLatBoundsLike, MapOptions } from 'maplibre-gl';
import type { LonLat, PilotDetail } from '../api.js';

export const SOURCE = {
  geofences: 'michi-geofences',
  routes: 'michi-routes',
  stops: 'michi-stops',
  cellSites: 'michi-cell-sites',
  coverage: 'michi-coverage',
  trails: 'michi-trails',
  vehicleDots: 'michi-vehicle-dots',
} as const;

export const LAYER = {
  background: 'background',
  geofenceFill: 'geofence-fill',
  geofenceOutline: 'geofence-outline',
  routeCasing: 'route-casing',
  routeLine: 'route-line',
  stops: 'stops',
  cellSiteRing: 'cell-site-ring',
  cellSiteDot: 'cell-site-dot',
  coverageFill: 'coverage-fill',
  coverageOutline: 'coverage-outline',
  trails: 'vehicle-trails',
  vehicleDots: 'vehicle-dots',
  vehicleDotsSelected: 'vehicle-dots-selected',
} as const;

const EMPTY: FeatureCollection = { type: 'FeatureCollection', features: [] };

/** Chosen not to be mistaken for a mode colour (green, amber, blue, red) on the markers above. */
export const ROUTE_COLORS = ['#3b5580', '#8a5a2b', '#0e7490', '#86198f'] as const;
export const CELL_SITE_COLOR = '#6d28d9';
export const LAND_COLOR = '#f3f1ec';

export const GEOFENCE_COLORS = {
  operational: '#64748b',
  'slow-zone': '#d97706',
  'no-go': '#dc2626',
} as const;

export function routeColor(index: number): string {
  return ROUTE_COLORS[index % ROUTE_COLORS.length]!;
}

// maplibre-gl 6 does not re-export the style-spec types; derive them from what it does export.
export type StyleSpecification = Exclude<MapOptions['style'], string | undefined>;
type FillLayer = Extract<StyleSpecification['layers'][number], { type: 'fill' }>;
type ColorValue = NonNullable<NonNullable<FillLayer['paint']>['fill-color']>;

type Props = Record<string, string | number | boolean>;

function collection<G extends Point | LineString | Polygon>(
  features: { geometry: G; properties: Props; id: string }[],
): FeatureCollection<G, Props> {
  return { type: 'FeatureCollection', features: features.map((f) => ({ type: 'Feature', ...f })) };
}

export function pilotFeatures(pilot: PilotDetail) {
  const colorOfRoute = new Map(pilot.routes.map((r, i) => [r.id, routeColor(i)]));
  return {
    geofences: collection(
      pilot.geofences.map((g) => ({
        id: g.id,
        geometry: g.geometry,
        properties: { id: g.id, kind: g.kind, name_ja: g.name.ja, name_en: g.name.en },
      })),
    ),
    routes: collection(
      pilot.routes.map((r) => ({
        id: r.id,
        geometry: r.geometry,
        properties: { id: r.id, color: colorOfRoute.get(r.id)!, name_ja: r.name.ja, name_en: r.name.en },
      })),
    ),
    stops: collection(
      pilot.stops.map((s) => ({
        id: s.id,
        geometry: { type: 'Point', coordinates: s.position } satisfies Point,
        properties: { id: s.id, color: colorOfRoute.get(s.routeId) ?? routeColor(0), name_ja: s.name.ja, name_en: s.name.en },
      })),
    ),
    cellSites: collection(
      pilot.cellSites.map((c) => ({
        id: c.id,
        geometry: { type: 'Point', coordinates: c.position } satisfies Point,
        properties: { id: c.id, name: c.name, cellId: c.cellId, pci: c.pci, band: c.band },
      })),
    ),
  };
}

/** A width or radius that grows with the zoom, so lines stay readable from town to street scale. */
const zoomed = (z14: number, z18: number): ['interpolate', ['exponential', number], ['zoom'], number, number, number, number] => [
  'interpolate',
  ['exponential', 1.6],
  ['zoom'],
  14,
  z14,
  18,
  z18,
];

export function pilotStyle(pilot: PilotDetail, basemap: Pick<StyleSpecification, 'sources' | 'layers'> | null = null): StyleSpecification {
  const f = pilotFeatures(pilot);
  const kindColor: ColorValue = [
    'match',
    ['get', 'kind'],
    'operational',
    GEOFENCE_COLORS.operational,
    'slow-zone',
    GEOFENCE_COLORS['slow-zone'],
    'no-go',
    GEOFENCE_COLORS['no-go'],
    '#94a3b8',
  ];
  return {
    version: 8,
    name: `michi ${pilot.id}`,
    sources: {
      [SOURCE.geofences]: { type: 'geojson', data: f.geofences },
      [SOURCE.routes]: { type: 'geojson', data: f.routes },
      [SOURCE.stops]: { type: 'geojson', data: f.stops },
      [SOURCE.cellSites]: { type: 'geojson', data: f.cellSites },
      [SOURCE.coverage]: { type: 'geojson', data: EMPTY },
      [SOURCE.trails]: { type: 'geojson', data: EMPTY },
      [SOURCE.vehicleDots]: { type: 'geojson', data: EMPTY },
      ...basemap?.sources,
    },
    layers: [
      { id: LAYER.background, type: 'background', paint: { 'background-color': LAND_COLOR } },
      ...(basemap?.layers ?? []),
      {
        id: LAYER.coverageFill,
        type: 'fill',
        source: SOURCE.coverage,
        layout: { visibility: 'none' },
        paint: { 'fill-color': ['get', 'color'], 'fill-opacity': 0.3 },
      },
      {
        id: LAYER.coverageOutline,
        type: 'line',
        source: SOURCE.coverage,
        layout: { visibility: 'none' },
        paint: { 'line-color': ['get', 'color'], 'line-width': 1, 'line-opacity': 0.8 },
      },
      {
        id: LAYER.geofenceFill,
        type: 'fill',
        source: SOURCE.geofences,
        paint: {
          'fill-color': kindColor,
          // The operational area is context; slow and no-go zones are warnings.
          'fill-opacity': ['match', ['get', 'kind'], 'operational', 0.05, 0.16],
        },
      },
      {
        id: LAYER.geofenceOutline,
        type: 'line',
        source: SOURCE.geofences,
        paint: {
          'line-color': kindColor,
          'line-width': ['match', ['get', 'kind'], 'operational', 1.5, 2],
          'line-dasharray': [3, 2],
          'line-opacity': 0.9,
        },
      },
      {
        id: LAYER.routeCasing,
        type: 'line',
        source: SOURCE.routes,
        layout: { 'line-join': 'round', 'line-cap': 'round' },
        paint: { 'line-color': '#ffffff', 'line-width': zoomed(7, 16) },
      },
      {
        id: LAYER.routeLine,
        type: 'line',
        source: SOURCE.routes,
        layout: { 'line-join': 'round', 'line-cap': 'round' },
        paint: { 'line-color': ['get', 'color'], 'line-width': zoomed(3.5, 9), 'line-opacity': 0.85 },
      },
      {
        id: LAYER.trails,
        type: 'line',
        source: SOURCE.trails,
        layout: { 'line-join': 'round', 'line-cap': 'round' },
        paint: { 'line-color': ['get', 'color'], 'line-width': zoomed(2.5, 5), 'line-opacity': 0.75 },
      },
      {
        id: LAYER.stops,
        type: 'circle',
        source: SOURCE.stops,
        paint: {
          'circle-radius': zoomed(4, 8),
          'circle-color': '#ffffff',
          'circle-stroke-color': ['get', 'color'],
          'circle-stroke-width': zoomed(2.5, 4),
        },
      },
      {
        id: LAYER.cellSiteRing,
        type: 'circle',
        source: SOURCE.cellSites,
        paint: {
          'circle-radius': zoomed(11, 16),
          'circle-color': CELL_SITE_COLOR,
          'circle-opacity': 0.1,
          'circle-stroke-color': CELL_SITE_COLOR,
          'circle-stroke-width': 2,
          'circle-stroke-opacity': 0.85,
        },
      },
      {
        id: LAYER.cellSiteDot,
        type: 'circle',
        source: SOURCE.cellSites,
        paint: {
          'circle-radius': zoomed(4, 6),
          'circle-color': CELL_SITE_COLOR,
          'circle-stroke-color': '#ffffff',
          'circle-stroke-width': 1.5,
        },
      },
      {
        id: LAYER.vehicleDots,
        type: 'circle',
        source: SOURCE.vehicleDots,
        paint: {
          'circle-radius': zoomed(4, 8),
          'circle-color': ['get', 'color'],
          'circle-opacity': ['case', ['get', 'stale'], 0.4, 1],
          'circle-stroke-color': '#ffffff',
          'circle-stroke-width': 1.5,
        },
      },
      {
        id: LAYER.vehicleDotsSelected,
        type: 'circle',
        source: SOURCE.vehicleDots,
        filter: ['==', ['get', 'selected'], true],
        paint: {
          'circle-radius': zoomed(9, 14),
          'circle-color': 'rgba(0,0,0,0)',
          'circle-stroke-color': '#0f172a',
          'circle-stroke-width': 3,
        },
      },
    ],
  };
}

/** The box to fit the map to: the routes, or failing that anything the pilot placed on the map. */
export function pilotBounds(pilot: PilotDetail): LngLatBoundsLike | null {
  let points: LonLat[] = pilot.routes.flatMap((r) => r.geometry.coordinates);
  if (points.length === 0) {
    points = [
      ...pilot.geofences.flatMap((g) => g.geometry.coordinates[0] ?? []),
      ...pilot.stops.map((s) => s.position),
      ...pilot.cellSites.map((c) => c.position),
      ...pilot.sensors.map((s) => s.position),
    ];
  }
  if (points.length === 0) return null;
  let [west, south] = points[0]!;
  let [east, north] = points[0]!;
  for (const [lon, lat] of points) {
    west = Math.min(west, lon);
    east = Math.max(east, lon);
    south = Math.min(south, lat);
    north = Math.max(north, lat);
  }
  return [
    [west, south],
    [east, north],
  ];
}
