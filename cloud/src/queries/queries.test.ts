import { describe, expect, it } from 'vitest';
import { coarsen } from '../api/privacy.js';
import { MAX_GAPS, seqSummary } from './completeness-query.js';
import { serviceMinutes } from './service-window.js';
import { haversineM, percentile } from './stats.js';

describe('percentile (nearest rank)', () => {
  it('takes the value at rank ⌈p/100 · n⌉', () => {
    const v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect([percentile(v, 5), percentile(v, 50), percentile(v, 95), percentile(v, 100)]).toEqual([1, 5, 10, 10]);
    expect(percentile([42], 5)).toBe(42);
    expect(percentile([], 50)).toBeNull();
  });
});

describe('haversineM', () => {
  it('is R·Δφ along a meridian and ~111.2 km per degree of latitude', () => {
    expect(haversineM(36, 139, 37, 139)).toBeCloseTo((6_371_008.8 * Math.PI) / 180, 6);
    expect(haversineM(36.38, 139.07, 36.38, 139.07)).toBe(0);
  });
});

describe('serviceMinutes', () => {
  const day = Date.UTC(2026, 10, 27); // 09:00 in Tokyo
  it('keeps whole minutes inside the local window', () => {
    // 08:00–19:00 JST = 23:00–10:00 UTC; a UTC day holds 11 hours of it
    expect(serviceMinutes(day - 9 * 3_600_000, day + 15 * 3_600_000 - 1, { start: '08:00', end: '19:00' }, 'Asia/Tokyo')).toHaveLength(
      11 * 60,
    );
    // a partial minute at either end does not count
    expect(serviceMinutes(day + 1, day + 179_998, { start: '08:00', end: '19:00' }, 'Asia/Tokyo')).toEqual([day + 60_000]);
  });
  it('crosses midnight when the end is before the start', () => {
    const m = serviceMinutes(day, day + 24 * 3_600_000 - 1, { start: '22:00', end: '02:00' }, 'Asia/Tokyo');
    expect(m).toHaveLength(4 * 60);
    expect(m[0]).toBe(day + 13 * 3_600_000); // 22:00 JST
  });
  it('follows daylight saving time', () => {
    // Europe/Berlin 2026-03-29: 02:00 → 03:00; the day has 23 hours, a 00:00–24:00-ish window 23 · 60 minutes
    const start = Date.UTC(2026, 2, 28, 23);
    expect(serviceMinutes(start, start + 23 * 3_600_000 - 1, { start: '00:00', end: '23:59' }, 'Europe/Berlin')).toHaveLength(23 * 60 - 1);
  });
});

describe('seqSummary', () => {
  it('counts distinct numbers and lists the first gaps', () => {
    expect(seqSummary([5, 3, 3, 9, 4])).toEqual({
      received: 4,
      first_seq: 3,
      last_seq: 9,
      expected: 7,
      missing: 3,
      gaps: [{ from_seq: 6, to_seq: 8 }],
    });
    const many = Array.from({ length: 40 }, (_, i) => i * 2); // 39 gaps of one
    const s = seqSummary(many);
    expect(s.gaps).toHaveLength(MAX_GAPS);
    expect(s.missing).toBe(39);
  });
});

describe('coarsen', () => {
  it('snaps to a grid of the given metres and leaves 0 alone', () => {
    const [lat, lon] = coarsen(36.38391, 139.07331, 50);
    expect(Math.abs(lat - 36.38391)).toBeLessThanOrEqual(25 / 111_320);
    expect(Math.abs(lon - 139.07331)).toBeLessThanOrEqual(25 / (111_320 * Math.cos((lat * Math.PI) / 180)) + 1e-12);
    expect(coarsen(36.38391 + 1e-6, 139.07331, 50)).toEqual([lat, lon]);
    expect(coarsen(36.38391, 139.07331, 0)).toEqual([36.38391, 139.07331]);
  });
});
