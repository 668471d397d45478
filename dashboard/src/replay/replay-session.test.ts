import { describe, expect, it } from 'vitest';
import { fakeMichiApi } from '../fake-michi-api.js';
import type { MichiApi } from '../api.js';
import type { TimeRange, TrackPoint, TracksResponse } from '../api-types.js';
import { ReplaySession } from './replay-session.js';

const HOUR_MS = 3_600_000;
// A round epoch instant, so the cloud's epoch-aligned buckets are easy to reason about.
const FROM = Date.UTC(2025, 5, 1);

const reading = (ts_ms: number): TrackPoint => ({ ts_ms, lon: 139.07, lat: 36.39, heading_deg: 0, speed_mps: 5, mode: 'AUTONOMOUS' });

/** Readings every `periodMs` over the range, except inside `gap`. */
function recorded(range: TimeRange, periodMs: number, gap?: TimeRange): TrackPoint[] {
  const points: TrackPoint[] = [];
  for (let t = range.from; t <= range.to; t += periodMs) if (!gap || t < gap.from || t >= gap.to) points.push(reading(t));
  return points;
}

/**
 * What /tracks answers, as the cloud computes it (cloud/src/queries/tracks-query.ts, docs/api.md):
 * every reading when there are at most maxPoints, else the first reading of each epoch-aligned
 * ⌈(to − from) / (maxPoints − 1)⌉ ms bucket, stamped with the bucket's start.
 */
function downsampled(points: readonly TrackPoint[], range: TimeRange, maxPoints: number): TrackPoint[] {
  if (points.length <= maxPoints) return [...points];
  const interval = Math.max(1, Math.ceil((range.to - range.from) / (maxPoints - 1)));
  const buckets = new Map<number, TrackPoint>();
  for (const p of points) {
    const start = Math.floor(p.ts_ms / interval) * interval;
    if (!buckets.has(start)) buckets.set(start, { ...p, ts_ms: start });
  }
  return [...buckets.values()];
}

function fakeApi(readings: readonly TrackPoint[]): MichiApi {
  return fakeMichiApi({
    token: () => 't',
    live: () => ({ url: 'ws://127.0.0.1:1/api/v1/live', protocols: ['michi.v1'] }),
    tracks: async (_pilot, { from, to, maxPoints = 2000 }): Promise<TracksResponse> => ({
      from,
      to,
      tracks: [{ source: 'bus-01', points: downsampled(readings, { from, to }, maxPoints) }],
    }),
  });
}

async function loaded(range: TimeRange, readings: readonly TrackPoint[]): Promise<ReplaySession> {
  const session = new ReplaySession(
    { api: fakeApi(readings), pilotId: 'p', onFrame: () => {}, onState: () => {}, onPlaying: () => {} },
    range,
    null,
  );
  await session.load();
  return session;
}

describe('ReplaySession', () => {
  it('keeps a vehicle visible between the points of a 20-hour range downsampled to 2,000 points', async () => {
    const range = { from: FROM, to: FROM + 20 * HOUR_MS };
    const session = await loaded(range, recorded(range, 1000));
    const points = session.tracks.get('bus-01')!;
    // Downsampled: neighbouring points are one ~36 s bucket apart, more than the 30 s a 1 Hz recording allows.
    expect(points.length).toBeLessThanOrEqual(2000);
    expect(points[1]!.ts_ms - points[0]!.ts_ms).toBeGreaterThan(30_000);
    for (let t = range.from; t <= range.to; t += 7 * 60_000 + 13_000) expect(session.posesAt(t).has('bus-01')).toBe(true);
  });

  it('still hides a vehicle across a downsampled 20-hour range where buckets are missing', async () => {
    const range = { from: FROM, to: FROM + 20 * HOUR_MS };
    const gap = { from: FROM + 10 * HOUR_MS, to: FROM + 10 * HOUR_MS + 5 * 60_000 };
    const session = await loaded(range, recorded(range, 1000, gap));
    expect(session.posesAt(gap.from + 150_000).has('bus-01')).toBe(false);
  });

  it('hides a vehicle across a 60 s gap in a 1-hour range', async () => {
    const range = { from: FROM, to: FROM + HOUR_MS };
    const gap = { from: FROM + 30 * 60_000, to: FROM + 31 * 60_000 };
    const session = await loaded(range, recorded(range, 1000, gap));
    expect(session.posesAt(gap.from - 10 * 60_000).has('bus-01')).toBe(true);
    expect(session.posesAt(gap.from + 30_000).has('bus-01')).toBe(false);
    expect(session.posesAt(gap.to + 10 * 60_000).has('bus-01')).toBe(true);
  });
});
