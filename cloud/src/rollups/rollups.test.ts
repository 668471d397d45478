import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planKpiPieces, type RollupCoverage } from '../queries/kpi-query.js';
import { percentile } from '../queries/stats.js';
import { addValue, decodeHistogram, encodeHistogram, histogramPercentile, mergeHistogram, type ValueHistogram } from './value-histogram.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;

describe('value histograms', () => {
  it('merged per chunk, give the nearest-rank percentile of the values rounded to 0.1, and survive their string form', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.double({ min: -150, max: 150, noNaN: true }), { maxLength: 40 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 100 }),
        (chunks, p) => {
          const merged: ValueHistogram = new Map();
          for (const chunk of chunks) {
            const h: ValueHistogram = new Map();
            for (const v of chunk) addValue(h, v, 10);
            mergeHistogram(merged, decodeHistogram(encodeHistogram(h)));
          }
          const rounded = chunks
            .flat()
            .map((v) => Math.round(v * 10) / 10)
            .sort((a, b) => a - b);
          // -0 and 0 are one bucket (and one JSON number).
          const zeroless = (v: number | null) => (v === null ? null : v + 0);
          expect(zeroless(histogramPercentile(merged, p, 10))).toBe(zeroless(percentile(rounded, p)));
        },
      ),
    );
  });

  it('write buckets as differences, counts of 1 left out', () => {
    const h: ValueHistogram = new Map();
    for (const v of [-85.5, -85.5, -85, -84.7, -84.7, -84.7, -84.7]) addValue(h, v, 10);
    expect(encodeHistogram(h)).toBe('-855:2,5,3:4');
    expect(histogramPercentile(decodeHistogram('-855:2,5,3:4'), 5, 10)).toBe(-85.5);
  });
});

/** Rollups from `since` on, settled up to `settledBefore`, with some hours pending. */
function coverage(since: number | null, settledBefore: number, pending: number[] = []): RollupCoverage {
  return { since: () => since, settledBefore: () => settledBefore, pendingHours: () => new Set(pending) };
}

const kinds = (from: number, to: number, c: RollupCoverage | undefined) =>
  planKpiPieces(from, to, c, 'p').map((p) => `${p.kind} ${(p.start - D) / HOUR}-${(p.end - D) / HOUR}`);
const D = Date.UTC(2026, 10, 1);

describe('planKpiPieces', () => {
  const all = coverage(0, D + 100 * DAY);
  it('reads whole days and hours from rollups and the partial hours at the ends raw', () => {
    expect(kinds(D - 2.5 * HOUR, D + DAY + 1.5 * HOUR - 1, all)).toEqual([
      'raw -2.5--2',
      'hour -2-0',
      'day 0-24',
      'hour 24-25',
      'raw 25-25.5',
    ]);
    // `to` is inclusive: a range ending at hh:59:59.999 ends with a whole hour.
    expect(kinds(D, D + 2 * HOUR - 1, all)).toEqual(['hour 0-2']);
  });

  it('reads raw: without rollups, hours pending or not settled yet, and before the rollups begin', () => {
    expect(kinds(D, D + DAY - 1, undefined)).toEqual(['raw 0-24']);
    expect(kinds(D, D + DAY - 1, coverage(null, D + DAY))).toEqual(['raw 0-24']);
    expect(kinds(D, D + DAY - 1, coverage(0, D + DAY, [D + 5 * HOUR]))).toEqual(['hour 0-5', 'raw 5-6', 'hour 6-24']);
    expect(kinds(D, D + DAY - 1, coverage(0, D + 20 * HOUR + 1))).toEqual(['hour 0-20', 'raw 20-24']);
    expect(kinds(D - 3 * HOUR, D + DAY - 1, coverage(D - HOUR, D + DAY))).toEqual(['raw -3--1', 'hour -1-0', 'day 0-24']);
  });
});
