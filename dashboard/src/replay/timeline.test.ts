import { describe, expect, it } from 'vitest';
import type { TrackPoint } from '../api-types.js';
import { indexAtOrBefore, maxGapFor, normalizeTracks, poseAt, trackSpan, trailAt } from './timeline.js';

const pt = (
  ts_ms: number,
  lon: number,
  lat: number,
  heading_deg = 0,
  mode: TrackPoint['mode'] = 'AUTONOMOUS',
  speed_mps = 5,
): TrackPoint => ({
  ts_ms,
  lon,
  lat,
  heading_deg,
  mode,
  speed_mps,
});

describe('replay timeline', () => {
  const points = [pt(1000, 139.0, 36.0, 350), pt(2000, 139.001, 36.002, 10, 'MANUAL', 7), pt(60_000, 139.01, 36.01)];

  it('finds the point at or before an instant', () => {
    expect(indexAtOrBefore(points, 999)).toBe(-1);
    expect(indexAtOrBefore(points, 1000)).toBe(0);
    expect(indexAtOrBefore(points, 1999)).toBe(0);
    expect(indexAtOrBefore(points, 2000)).toBe(1);
    expect(indexAtOrBefore(points, 1e12)).toBe(2);
    expect(indexAtOrBefore([], 5)).toBe(-1);
  });

  it('interpolates position, speed and heading (through north) between two points', () => {
    const p = poseAt(points, 1500)!;
    expect(p.lon).toBeCloseTo(139.0005, 9);
    expect(p.lat).toBeCloseTo(36.001, 9);
    expect(p.speed_mps).toBeCloseTo(6, 9);
    expect(p.heading).toBeCloseTo(0, 9);
    expect(p.mode).toBe('AUTONOMOUS');
    expect(p.ts_ms).toBe(1000);
  });

  it('returns recorded points exactly, and nothing before the first', () => {
    expect(poseAt(points, 2000)).toMatchObject({ lon: 139.001, lat: 36.002, mode: 'MANUAL' });
    expect(poseAt(points, 999)).toBeNull();
  });

  it('does not draw a vehicle across a long gap, and holds the last point only briefly', () => {
    expect(poseAt(points, 30_000)).toBeNull();
    expect(poseAt(points, 60_000 + 5_000)).toMatchObject({ lon: 139.01 });
    expect(poseAt(points, 60_000 + 31_000)).toBeNull();
  });

  it('follows the downsampling interval of long ranges and keeps 30 s for short ones', () => {
    const HOUR_MS = 3_600_000;
    // 20 h at 2,000 points: the cloud's buckets are ⌈72,000,000 / 1,999⌉ = 36,019 ms wide.
    const day = maxGapFor({ from: 0, to: 20 * HOUR_MS }, 2000);
    expect(day).toBe(1.5 * 36_019);
    const buckets = [pt(0, 139.0, 36.0), pt(36_019, 139.01, 36.01), pt(72_038, 139.02, 36.02), pt(144_076, 139.04, 36.04)];
    expect(poseAt(buckets, 18_000, day)).toMatchObject({ ts_ms: 0 });
    expect(poseAt(buckets, 50_000, day)).toMatchObject({ ts_ms: 36_019 });
    expect(poseAt(buckets, 100_000, day)).toBeNull(); // a missing bucket is still a gap
    expect(poseAt(buckets, 144_076 + 50_000, day)).not.toBeNull();

    const hour = maxGapFor({ from: 0, to: HOUR_MS }, 2000);
    expect(hour).toBe(30_000);
    expect(poseAt(points, 30_000, hour)).toBeNull(); // the 58 s gap between 2 s and 60 s
    expect(maxGapFor({ from: 0, to: 11 * HOUR_MS }, 2000)).toBe(30_000);
  });

  it('builds a trail ending at the interpolated head', () => {
    const trail = trailAt(points, 1500, 10_000);
    expect(trail).toHaveLength(2);
    expect(trail[0]).toEqual([139.0, 36.0]);
    expect(trail[1]![0]).toBeCloseTo(139.0005, 9);
    expect(trail[1]![1]).toBeCloseTo(36.001, 9);
    expect(trailAt(points, 500, 10_000)).toEqual([]);
  });

  it('sorts points and drops those without a position', () => {
    const [track] = normalizeTracks([{ source: 'bus-01', points: [pt(3, 1, 1), pt(1, 1, 1), { ...pt(2, 1, 1), lat: Number.NaN }] }]);
    expect(track!.points.map((p) => p.ts_ms)).toEqual([1, 3]);
    expect(trackSpan([track!, { source: 'x', points: [] }])).toEqual({ from: 1, to: 3 });
    expect(trackSpan([])).toBeNull();
  });
});
