// Where every vehicle was at one instant of a replay: positions interpolated linearly between
// the two recorded points around the instant (headings along the shorter arc), the mode and
// speed of the point before it. Pure functions over the /tracks answer, unit-tested.

import type { TimeRange, Track, TrackPoint } from '../api-types.js';
import { lerpHeading } from '../map/motion.js';

export interface ReplayPose {
  lon: number;
  lat: number;
  /** null where the track has none (viewers of a coarsened pilot get no heading). */
  heading: number | null;
  speed_mps: number | null;
  mode: TrackPoint['mode'];
  /** The recorded point this pose comes from (the one at or before the instant). */
  ts_ms: number;
}

/** Beyond this gap between two recorded points the vehicle is not drawn in between (it was off, or data is missing). */
export const MAX_INTERPOLATION_GAP_MS = 30_000;

/**
 * The gap limit for tracks asked with `maxPoints` over `range`. Past maxPoints readings the cloud
 * keeps the first of each ⌈(to − from) / (maxPoints − 1)⌉ ms bucket, stamped with the bucket start
 * (cloud/src/queries/tracks-query.ts, docs/api.md), so neighbouring points are one interval apart:
 * past ~11 h at 2,000 points that is over 30 s, and 30 s would hide every vehicle. 1.5 intervals
 * bridge one bucket and still hide a missing one (two intervals).
 */
export function maxGapFor(range: TimeRange, maxPoints: number): number {
  const interval = Math.max(1, Math.ceil((range.to - range.from) / (maxPoints - 1)));
  return Math.max(MAX_INTERPOLATION_GAP_MS, 1.5 * interval);
}

/** Index of the last point with ts_ms ≤ t, or -1 (points sorted by time). */
export function indexAtOrBefore(points: readonly TrackPoint[], t: number): number {
  let lo = 0;
  let hi = points.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid]!.ts_ms <= t) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** The pose at `t`, or null before the first point, `maxGapMs` after the last, or inside a longer gap. */
export function poseAt(points: readonly TrackPoint[], t: number, maxGapMs = MAX_INTERPOLATION_GAP_MS): ReplayPose | null {
  const i = indexAtOrBefore(points, t);
  if (i < 0) return null;
  const a = points[i]!;
  // After the last point the vehicle stays where it last reported, for as long as a gap may last.
  if (a.ts_ms === t || i === points.length - 1) return t - a.ts_ms <= maxGapMs ? toPose(a) : null;
  const b = points[i + 1]!;
  const span = b.ts_ms - a.ts_ms;
  if (span > maxGapMs) return null;
  const k = span <= 0 ? 0 : (t - a.ts_ms) / span;
  return {
    lon: a.lon + (b.lon - a.lon) * k,
    lat: a.lat + (b.lat - a.lat) * k,
    heading: a.heading_deg === null || b.heading_deg === null ? a.heading_deg : lerpHeading(a.heading_deg, b.heading_deg, k),
    speed_mps: a.speed_mps === null || b.speed_mps === null ? a.speed_mps : a.speed_mps + (b.speed_mps - a.speed_mps) * k,
    mode: a.mode,
    ts_ms: a.ts_ms,
  };
}

function toPose(p: TrackPoint): ReplayPose {
  return { lon: p.lon, lat: p.lat, heading: p.heading_deg, speed_mps: p.speed_mps, mode: p.mode, ts_ms: p.ts_ms };
}

/** The points of the `windowMs` before `t` (and the interpolated head at `t`), for a trail. */
export function trailAt(points: readonly TrackPoint[], t: number, windowMs: number): [number, number][] {
  const end = indexAtOrBefore(points, t);
  if (end < 0) return [];
  const start = Math.max(0, indexAtOrBefore(points, t - windowMs));
  const line: [number, number][] = [];
  for (let i = start; i <= end; i++) line.push([points[i]!.lon, points[i]!.lat]);
  const head = poseAt(points, t);
  if (head) line.push([head.lon, head.lat]);
  return line;
}

/** Sorts each track's points by time and drops points without a position: the API's order is not assumed. */
export function normalizeTracks(tracks: readonly Track[]): Track[] {
  return tracks.map((track) => ({
    source: track.source,
    points: track.points
      .filter((p) => Number.isFinite(p.lat) && Number.isFinite(p.lon) && Number.isFinite(p.ts_ms))
      .map((p) => ({
        ...p,
        heading_deg: Number.isFinite(p.heading_deg) ? p.heading_deg : 0,
        speed_mps: Number.isFinite(p.speed_mps) ? p.speed_mps : 0,
      }))
      .sort((a, b) => a.ts_ms - b.ts_ms),
  }));
}

/** The recorded time span over all tracks, or null when there is no point. */
export function trackSpan(tracks: readonly Track[]): { from: number; to: number } | null {
  let from = Infinity;
  let to = -Infinity;
  for (const t of tracks) {
    const first = t.points[0];
    const last = t.points[t.points.length - 1];
    if (first) from = Math.min(from, first.ts_ms);
    if (last) to = Math.max(to, last.ts_ms);
  }
  return Number.isFinite(from) ? { from, to } : null;
}
