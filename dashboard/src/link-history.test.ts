import { describe, expect, it } from 'vitest';
import type { LinkPoint, VehicleStatus } from './api-types.js';
import { LiveLinkHistory, linkAt } from './link-history.js';

const point = (ts_ms: number, rsrp_dbm: number | null = -90): LinkPoint => ({ ts_ms, rsrp_dbm, sinr_db: 12, rtt_ms: 8 });

function bus(id: string, link: LinkPoint | null): VehicleStatus {
  return {
    id,
    kind: 'bus',
    name: { ja: id, en: id },
    routeId: 'loop',
    state: {
      seq: null,
      lat: 36.38,
      lon: 139.07,
      speed_mps: 5,
      heading_deg: 0,
      mode: 'AUTONOMOUS',
      battery_pct: 80,
      ts_ms: link?.ts_ms ?? 0,
      recv_ms: 0,
      link: link ? { ...link, cell: 'c', pci: 1, band: 'n79' } : null,
    },
  };
}

describe('LiveLinkHistory', () => {
  it("keeps each new sample of a vehicle once, drops those older than the window, and puts /links' samples before the live ones", () => {
    const h = new LiveLinkHistory(60_000);
    h.record([bus('a', point(100_000)), bus('b', null)], 100_000);
    // the same sample in the next state message, then a newer one
    h.record([bus('a', point(100_000))], 101_000);
    h.record([bus('a', point(102_000, -95))], 102_000);
    expect(h.of('a').map((p) => p.ts_ms)).toEqual([100_000, 102_000]);
    expect(h.of('a')[1]).toEqual({ ts_ms: 102_000, rsrp_dbm: -95, sinr_db: 12, rtt_ms: 8 });
    expect(h.of('b')).toEqual([]);
    // /links overlaps the live samples: only what came before them is added
    h.seed('a', [point(50_000), point(90_000), point(100_000), point(101_000)]);
    expect(h.of('a').map((p) => p.ts_ms)).toEqual([50_000, 90_000, 100_000, 102_000]);
    h.record([bus('a', point(160_000))], 160_000);
    expect(h.of('a').map((p) => p.ts_ms)).toEqual([100_000, 102_000, 160_000]);
    h.clear();
    expect(h.of('a')).toEqual([]);
  });
});

describe('linkAt', () => {
  it('gives the last sample at or before the time, null before the first', () => {
    const points = [point(10), point(20, null), point(30, -100)];
    expect(linkAt(points, 5)).toBeNull();
    expect(linkAt(points, 10)?.ts_ms).toBe(10);
    expect(linkAt(points, 29)).toEqual({ ts_ms: 20, cell: null, pci: null, band: null, rsrp_dbm: null, sinr_db: 12, rtt_ms: 8 });
    expect(linkAt(points, 1_000)?.rsrp_dbm).toBe(-100);
    expect(linkAt([], 10)).toBeNull();
  });
});
