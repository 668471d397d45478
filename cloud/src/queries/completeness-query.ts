/**
 * Data completeness per source over a time range, from sequence numbers: every source numbers its
 * readings of all kinds +1 each, so the seq values seen between the first and the last one tell
 * how many are missing and where (gaps). `last_recv_ms` against `last_ts_ms` shows a backlog still
 * draining (readings arriving long after they were taken).
 */
import type { Pilot } from '@michi/proto';
import { MEASUREMENTS } from '../line-protocol.js';
import { quoteIdentifier, type InfluxQuery } from '../influx-query.js';
import { anyOf, num, pilotRange, str } from './stats.js';

/** Gaps listed per source; `missing` counts all of them. */
export const MAX_GAPS = 20;

export interface SourceCompleteness {
  source: string;
  kind: 'vehicle' | 'sensor';
  received: number;
  first_seq: number | null;
  last_seq: number | null;
  expected: number;
  missing: number;
  gaps: { from_seq: number; to_seq: number }[];
  last_ts_ms: number | null;
  last_recv_ms: number | null;
}

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
  lastRecv: number | null;
}

/**
 * Two steps: aggregates per source and measurement (count, min, max of seq; the last reading's time
 * and the latest recv_ms), summed per source; then, only for sources where those do not add up
 * (missing or duplicated numbers), their raw sequence numbers to find the gaps. A complete source
 * costs InfluxDB an aggregate, not a transfer of every reading.
 */
export async function queryCompleteness(query: InfluxQuery, pilot: Pilot, from: number, to: number): Promise<SourceCompleteness[]> {
  const q = quoteIdentifier;
  const measurements = Object.values(MEASUREMENTS).map(q).join(', ');
  const where = pilotRange(pilot.id, from, to);
  const [aggregates = [], lasts = []] = await query.rowsOfEach([
    `SELECT count(${q('seq')}), min(${q('seq')}), max(${q('seq')}), max(${q('recv_ms')}) AS ${q('recv')} FROM ${measurements} WHERE ${where} GROUP BY ${q('source')}`,
    `SELECT last(${q('seq')}) FROM ${measurements} WHERE ${where} GROUP BY ${q('source')}`,
  ]);
  const bySource = new Map<string, Aggregate>();
  const entry = (source: string): Aggregate => {
    let a = bySource.get(source);
    if (!a) bySource.set(source, (a = { count: 0, min: null, max: null, lastTs: null, lastRecv: null }));
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
    if (source !== null) entry(source).lastTs = max(entry(source).lastTs, r.time);
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
    return { source: id, kind, ...summary, last_ts_ms: a?.lastTs ?? null, last_recv_ms: a?.lastRecv ?? null };
  });
}
