/**
 * Data completeness per source over a time range, from sequence numbers: every source numbers its
 * readings of all kinds +1 each, so the seq values seen between the first and the last one tell
 * how many are missing and where (gaps). `last_recv_ms` against `last_ts_ms` shows a backlog still
 * draining (readings arriving long after they were taken).
 */
import type { Pilot } from '@michi/proto';
import { MEASUREMENTS } from '../line-protocol.js';
import { quoteIdentifier, type InfluxQuery } from '../influx-query.js';
import { num, pilotRange, str } from './stats.js';

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

export async function queryCompleteness(query: InfluxQuery, pilot: Pilot, from: number, to: number): Promise<SourceCompleteness[]> {
  const q = quoteIdentifier;
  const measurements = Object.values(MEASUREMENTS).map(q).join(', ');
  const rows = await query.rows(
    `SELECT ${q('seq')}, ${q('recv_ms')} FROM ${measurements} WHERE ${pilotRange(pilot.id, from, to)} GROUP BY ${q('source')}`,
  );
  const bySource = new Map<string, { seqs: number[]; lastTs: number | null; lastRecv: number | null }>();
  for (const r of rows) {
    const source = str(r['source']);
    if (source === null) continue;
    let s = bySource.get(source);
    if (!s) bySource.set(source, (s = { seqs: [], lastTs: null, lastRecv: null }));
    const seq = num(r['seq']);
    if (seq !== null) s.seqs.push(seq);
    s.lastTs = Math.max(s.lastTs ?? r.time, r.time);
    const recv = num(r['recv_ms']);
    if (recv !== null) s.lastRecv = Math.max(s.lastRecv ?? recv, recv);
  }
  const sources = [
    ...pilot.vehicles.map((v) => ({ id: v.id, kind: 'vehicle' as const })),
    ...pilot.sensors.map((s) => ({ id: s.id, kind: 'sensor' as const })),
  ];
  return sources.map(({ id, kind }) => {
    const s = bySource.get(id);
    return { source: id, kind, ...seqSummary(s?.seqs ?? []), last_ts_ms: s?.lastTs ?? null, last_recv_ms: s?.lastRecv ?? null };
  });
}
