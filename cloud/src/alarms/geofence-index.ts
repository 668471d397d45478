/**
 * A pilot's geofences prepared for a point test per vehicle state: rings as flat arrays with their
 * bounding box, so that the common case (a point far from a zone) costs four comparisons and no
 * allocation. Ray casting (even-odd rule) on lon/lat as planar coordinates: a town's zones are a few
 * hundred metres across, where the curvature of lines of latitude is far below GPS error.
 */
import type { PilotGeofence } from '@michi/proto';

interface Zone {
  id: string;
  /** Outer ring then holes, each [lon0, lat0, lon1, lat1, ...]. */
  rings: Float64Array[];
  minLon: number;
  maxLon: number;
  minLat: number;
  maxLat: number;
  /** Slow zones: the speed limit in m/s; NaN when the zone sets none. */
  limitMps: number;
}

function ringContains(ring: Float64Array, lon: number, lat: number): boolean {
  let inside = false;
  const n = ring.length;
  for (let i = 0, j = n - 2; i < n; j = i, i += 2) {
    const xi = ring[i]!;
    const yi = ring[i + 1]!;
    const xj = ring[j]!;
    const yj = ring[j + 1]!;
    if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function zoneContains(z: Zone, lon: number, lat: number): boolean {
  if (lon < z.minLon || lon > z.maxLon || lat < z.minLat || lat > z.maxLat) return false;
  if (!ringContains(z.rings[0]!, lon, lat)) return false;
  for (let h = 1; h < z.rings.length; h++) if (ringContains(z.rings[h]!, lon, lat)) return false;
  return true;
}

function zoneOf(g: PilotGeofence): Zone {
  const rings = g.geometry.coordinates.map((ring) => Float64Array.from(ring.flat()));
  const outer = g.geometry.coordinates[0]!;
  const lons = outer.map((p) => p[0]);
  const lats = outer.map((p) => p[1]);
  return {
    id: g.id,
    rings,
    minLon: Math.min(...lons),
    maxLon: Math.max(...lons),
    minLat: Math.min(...lats),
    maxLat: Math.max(...lats),
    limitMps: g.speedLimitKmh === undefined ? NaN : g.speedLimitKmh / 3.6,
  };
}

export class GeofenceIndex {
  private readonly operational: Zone[];
  private readonly noGo: Zone[];
  private readonly slow: Zone[];

  constructor(geofences: readonly PilotGeofence[]) {
    this.operational = geofences.filter((g) => g.kind === 'operational').map(zoneOf);
    this.noGo = geofences.filter((g) => g.kind === 'no-go').map(zoneOf);
    // A slow zone without a limit can never be exceeded: left out.
    this.slow = geofences.filter((g) => g.kind === 'slow-zone' && g.speedLimitKmh !== undefined).map(zoneOf);
  }

  get hasOperational(): boolean {
    return this.operational.length > 0;
  }

  /** Outside every operational area; false when the pilot has none. */
  outsideOperational(lon: number, lat: number): boolean {
    if (this.operational.length === 0) return false;
    for (const z of this.operational) if (zoneContains(z, lon, lat)) return false;
    return true;
  }

  /** The id of a no-go zone containing the point, or undefined. */
  noGoAt(lon: number, lat: number): string | undefined {
    for (const z of this.noGo) if (zoneContains(z, lon, lat)) return z.id;
    return undefined;
  }

  /** The lowest speed limit (m/s) of the slow zones containing the point; NaN when none does. */
  slowLimitAt(lon: number, lat: number): number {
    let limit = NaN;
    for (const z of this.slow) if (zoneContains(z, lon, lat) && !(z.limitMps >= limit)) limit = z.limitMps;
    return limit;
  }
}
