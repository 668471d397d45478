/**
 * Data completeness per source over a time range, from sequence numbers: every source numbers its
 * readings of all kinds +1 each, so the seq values seen between the first and the last one tell
 * how many are missing and where (gaps). Whether a backlog is still draining is told by the
 * readings received in the last minute that were taken long before: the newest reading alone cannot
 * tell it, because an edge sends live readings ahead of its backlog (docs/edge.md, "Order").
 */
import { MEASUREMENTS, type Pilot, type SourceCompleteness } from '@michi/proto';
import { quoteIdentifier, type InfluxQuery } from '../influx-query.js';
import { anyOf, num, pilotRange, str } from './stats.js';

/** Gaps listed per source; `missing` counts all of them. */
export const MAX_GAPS = 20;

/** Readings the cloud received at most this long before the request count as arriving now… */
export const RECENT_MS = 60_000;
/**
 * …and as backlog when they were taken at least this long before the request, hence arrived at
 * least a minute late: well beyond an edge's batch delay and uplink latency (about a second), so
 * only readings that waited in an edge buffer count.
 */
export const BACKLOG_AGE_MS = 120_000;

/** Summarizes distinct sequence numbers (any order, duplicates allowed). */
export function seqSummary(
  seqs: number[],
): Pick<SourceCompleteness, 'received' | 'first_seq' | 'last_seq' | 'expected' | 'missing' | 'gaps'> {
  const sorted = [...new Set(seqs)].sort((a, b) => a - b);
  if (sorted.length === 0) return { received: 0, first_seq: null, last_seq: null, expected: 0, missing: 0, gaps: [] };
  const first = sorted[0]!;
  const last = sorted[sorted.length - 1]!;
  const gaps: { from_seq: number; to_seq: number }[] = [];
  for (let i = 1; i < sorted.length && gaps.length < MAX_GAPS; i++) {
    if (sorted[i]! > sorted[i - 1]! + 1) gaps.push({ from_seq: sorted[i - 1]! + 1, to_seq: sorted[i]! - 1 });
  }
  const expected = last - first + 1;
  return { received: sorted.length, first_seq: first, last_seq: last, expected, missing: expected - sorted.length, gaps };
}

interface Aggregate {
  count: number;
  min: number | null;
  max: number | null;
  lastTs: number | null;
  /** recv_ms of the reading at lastTs. */
  lastTsRecv: number | null;
  lastRecv: number | null;
  backlog: number;
}

/**
 * Two steps: aggregates per source and measurement (count, min, max of seq; the last reading's time
 * and recv_ms, the latest recv_ms, the count of backlog arriving now), summed per source; then, only
 * for sources where those do not add up (missing or duplicated numbers), their raw sequence numbers
 * to find the gaps. A complete source costs InfluxDB an aggregate, not a transfer of every reading.
 */
export async function queryCompleteness(
  queries: InfluxQuery,
  pilot: Pilot,
  from: number,
  to: number,
  now: number = Date.now(),
): Promise<SourceCompleteness[]> {
  const query = queries.forPilot(pilot.id);
  const q = quoteIdentifier;
  const measurements = Object.values(MEASUREMENTS).map(q).join(', ');
  const where = pilotRange(pilot.id, from, to);
  // InfluxQL cannot subtract time from a field, so "at least a minute late" is asked as: received
  // since now − RECENT_MS, taken by now − BACKLOG_AGE_MS (an empty time range when that is before `from`).
  const backlogWhere = `${pilotRange(pilot.id, from, Math.min(to, now - BACKLOG_AGE_MS))} AND ${q('recv_ms')} >= ${Math.trunc(now - RECENT_MS)}`;
  const [aggregates = [], lasts = [], backlogs = []] = await query.rowsOfEach([
    `SELECT count(${q('seq')}), min(${q('seq')}), max(${q('seq')}), max(${q('recv_ms')}) AS ${q('recv')} FROM ${measurements} WHERE ${where} GROUP BY ${q('source')}`,
    `SELECT last(${q('seq')}), ${q('recv_ms')} FROM ${measurements} WHERE ${where} GROUP BY ${q('source')}`,
    `SELECT count(${q('seq')}) FROM ${measurements} WHERE ${backlogWhere} GROUP BY ${q('source')}`,
  ]);
  const bySource = new Map<string, Aggregate>();
  const entry = (source: string): Aggregate => {
    let a = bySource.get(source);
    if (!a) bySource.set(source, (a = { count: 0, min: null, max: null, lastTs: null, lastTsRecv: null, lastRecv: null, backlog: 0 }));
    return a;
  };
  const max = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));
  const min = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
  for (const r of aggregates) {
    const source = str(r['source']);
    if (source === null) continue;
    const a = entry(source);
    a.count += num(r['count']) ?? 0;
    a.min = min(a.min, num(r['min']));
    a.max = max(a.max, num(r['max']));
    a.lastRecv = max(a.lastRecv, num(r['recv']));
  }
  for (const r of lasts) {
    const source = str(r['source']);
    if (source === null) continue;
    const a = entry(source);
    const recv = num(r['recv_ms']);
    // The newest over all measurements; of two at the same time, the later arrival.
    if (a.lastTs === null || r.time > a.lastTs || (r.time === a.lastTs && (recv ?? -Infinity) > (a.lastTsRecv ?? -Infinity))) {
      a.lastTs = r.time;
      a.lastTsRecv = recv;
    }
  }
  for (const r of backlogs) {
    const source = str(r['source']);
    if (source !== null) entry(source).backlog += num(r['count']) ?? 0;
  }

  const sources = [
    ...pilot.vehicles.map((v) => ({ id: v.id, kind: 'vehicle' as const })),
    ...pilot.sensors.map((s) => ({ id: s.id, kind: 'sensor' as const })),
  ];
  const needRaw = sources
    .map((s) => s.id)
    .filter((id) => {
      const a = bySource.get(id);
      return a !== undefined && a.min !== null && a.max !== null && a.max - a.min + 1 !== a.count;
    });
  const raw = new Map<string, number[]>();
  if (needRaw.length > 0) {
    const rows = await query.rows(
      `SELECT ${q('seq')} FROM ${measurements} WHERE ${where} AND ${anyOf('source', needRaw)} GROUP BY ${q('source')}`,
    );
    for (const r of rows) {
      const source = str(r['source']);
      const seq = num(r['seq']);
      if (source === null || seq === null) continue;
      let list = raw.get(source);
      if (!list) raw.set(source, (list = []));
      list.push(seq);
    }
  }
  return sources.map(({ id, kind }) => {
    const a = bySource.get(id);
    const rawSeqs = raw.get(id);
    const summary =
      rawSeqs !== undefined
        ? seqSummary(rawSeqs)
        : a && a.min !== null && a.max !== null
          ? { received: a.count, first_seq: a.min, last_seq: a.max, expected: a.count, missing: 0, gaps: [] }
          : seqSummary([]);
    const lastTs = a?.lastTs ?? null;
    const lastTsRecv = a?.lastTsRecv ?? null;
    const backlog = a?.backlog ?? 0;
    return {
      source: id,
      kind,
      ...summary,
      last_ts_ms: lastTs,
      last_recv_ms: a?.lastRecv ?? null,
      lag_ms: lastTs !== null && lastTsRecv !== null ? lastTsRecv - lastTs : null,
      backlog_last_minute: backlog,
      draining: backlog > 0,
    };
  });
}
