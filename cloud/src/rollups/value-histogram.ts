/**
 * A mergeable percentile sketch: how many values fell in each bucket of a fixed width. The KPIs report
 * each percentile at the resolution of its bucket (docs/reports.md), so the nearest-rank percentile of
 * merged per-hour histograms is exactly the percentile of the raw values at that resolution: rounding
 * is monotone, so the value at rank r of the rounded values is the rounded value at rank r.
 */

/** Bucket index → count. A bucket k holds the values v with round(v × perUnit) = k. */
export type ValueHistogram = Map<number, number>;

function bucketOf(v: number, perUnit: number): number {
  return Math.round(v * perUnit);
}

export function addValue(h: ValueHistogram, v: number, perUnit: number): void {
  const k = bucketOf(v, perUnit);
  h.set(k, (h.get(k) ?? 0) + 1);
}

export function mergeHistogram(into: ValueHistogram, from: ValueHistogram): void {
  for (const [k, n] of from) into.set(k, (into.get(k) ?? 0) + n);
}

/**
 * Nearest-rank percentile: the bucket at 1-based rank ⌈p/100 × n⌉, as bucket / perUnit (a division,
 * so that whole and half values come out exact: -855 / 10 is -85.5, 855 × 0.1 is not). null for no values.
 */
export function histogramPercentile(h: ValueHistogram, p: number, perUnit: number): number | null {
  let n = 0;
  for (const c of h.values()) n += c;
  if (n === 0) return null;
  const rank = Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
  let seen = 0;
  for (const k of [...h.keys()].sort((a, b) => a - b)) {
    seen += h.get(k)!;
    if (seen >= rank) return k / perUnit;
  }
  return null;
}

/**
 * As stored in a rollup's string field: buckets ascending, each `delta:count` from the previous
 * bucket (the first from 0), `:count` left out when it is 1. E.g. {-855: 2, -850: 1} → "-855:2,5".
 */
export function encodeHistogram(h: ValueHistogram): string {
  let prev = 0;
  const parts: string[] = [];
  for (const k of [...h.keys()].sort((a, b) => a - b)) {
    const n = h.get(k)!;
    parts.push(n === 1 ? `${k - prev}` : `${k - prev}:${n}`);
    prev = k;
  }
  return parts.join(',');
}

export function decodeHistogram(s: unknown): ValueHistogram {
  const h: ValueHistogram = new Map();
  if (typeof s !== 'string' || s === '') return h;
  let k = 0;
  for (const part of s.split(',')) {
    const colon = part.indexOf(':');
    k += Number(colon < 0 ? part : part.slice(0, colon));
    h.set(k, colon < 0 ? 1 : Number(part.slice(colon + 1)));
  }
  return h;
}
