// Per-hop latency from the cloud's hop histogram (michi_cloud_hop_latency_seconds, hop-timing.ts
// and the live feed): two scrapes of /metrics, and the readings observed between them, per hop.
// Quantiles are interpolated within buckets as PromQL's histogram_quantile does, so they are as
// fine as the buckets (1, 2, 5, 10, 20, 30, 50, 75, 100 ms...), not exact.

const METRIC = 'michi_cloud_hop_latency_seconds';

interface HopHistogram {
  /** Cumulative counts by upper bound (seconds), ascending, ending with +Inf. */
  buckets: [number, number][];
  sum: number;
  count: number;
}

export type HopSnapshot = Map<string, HopHistogram>;

export interface HopRow {
  hop: string;
  n: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
}

export async function scrapeHops(metricsUrl: string): Promise<HopSnapshot> {
  const text = await (await fetch(metricsUrl)).text();
  const hops: HopSnapshot = new Map();
  const of = (hop: string): HopHistogram => {
    let h = hops.get(hop);
    if (!h) hops.set(hop, (h = { buckets: [], sum: 0, count: 0 }));
    return h;
  };
  for (const line of text.split('\n')) {
    if (!line.startsWith(METRIC)) continue;
    const m = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const [, name, labels, value] = m;
    const hop = /hop="([^"]+)"/.exec(labels!)?.[1];
    if (!hop) continue;
    if (name === `${METRIC}_bucket`) {
      const le = /le="([^"]+)"/.exec(labels!)![1]!;
      of(hop).buckets.push([le === '+Inf' ? Infinity : Number(le), Number(value)]);
    } else if (name === `${METRIC}_sum`) of(hop).sum = Number(value);
    else if (name === `${METRIC}_count`) of(hop).count = Number(value);
  }
  for (const h of hops.values()) h.buckets.sort((a, b) => a[0] - b[0]);
  return hops;
}

function quantile(q: number, buckets: readonly [number, number][], count: number): number {
  const rank = q * count;
  let lower = 0;
  let below = 0;
  for (const [le, c] of buckets) {
    if (c >= rank) {
      if (le === Infinity) return lower;
      return lower + ((le - lower) * (rank - below)) / Math.max(1, c - below);
    }
    lower = le;
    below = c;
  }
  return NaN;
}

/** What each hop observed between two scrapes, in the order of `order`. */
export function hopRows(before: HopSnapshot, after: HopSnapshot, order: readonly string[]): HopRow[] {
  return order.map((hop) => {
    const a = after.get(hop);
    const b = before.get(hop);
    if (!a) return { hop, n: 0, meanMs: NaN, p50Ms: NaN, p99Ms: NaN };
    const count = a.count - (b?.count ?? 0);
    const buckets = a.buckets.map(([le, c], i): [number, number] => [le, c - (b?.buckets[i]?.[1] ?? 0)]);
    const ms = (s: number): number => Math.round(s * 10_000) / 10;
    return {
      hop,
      n: count,
      meanMs: count > 0 ? ms((a.sum - (b?.sum ?? 0)) / count) : NaN,
      p50Ms: ms(quantile(0.5, buckets, count)),
      p99Ms: ms(quantile(0.99, buckets, count)),
    };
  });
}
