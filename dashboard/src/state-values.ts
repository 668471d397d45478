// Figures of a vehicle's state or track as the API sends them: any may be null (not reported, or
// hidden from a viewer), so the map and charts read them through these.

import type { TrackPoint } from './api-types.js';

/** [lon, lat] of a state or point whose position is known and finite, else null. */
export function positionOf(s: { lat: number | null; lon: number | null } | null | undefined): [number, number] | null {
  if (!s || s.lat === null || s.lon === null || !Number.isFinite(s.lat) || !Number.isFinite(s.lon)) return null;
  return [s.lon, s.lat];
}

/** km/h over time of the points that carry a speed. */
export function speedSeries(points: readonly Pick<TrackPoint, 'ts_ms' | 'speed_mps'>[]): { t: number; v: number }[] {
  const out: { t: number; v: number }[] = [];
  for (const p of points) if (p.speed_mps !== null && Number.isFinite(p.speed_mps)) out.push({ t: p.ts_ms, v: p.speed_mps * 3.6 });
  return out;
}
