/**
 * One rollup point: the figures of one source over one UTC hour or day (proto storage-schema.ts,
 * ROLLUP_FIELDS), as line protocol and back from a row of `SELECT *`.
 */
import { ROLLUP_MEASUREMENTS, type RollupFieldName } from '@michi/proto';
import type { InfluxRow } from '../influx-query.js';
import { escapeKey } from '../line-protocol.js';
import { num, str } from '../queries/stats.js';
import { emptyFigures, emptySegments, mergeFigures, mergeSegments, type KpiFigures, type Segments } from './kpi-figures.js';
import { decodeHistogram, encodeHistogram } from './value-histogram.js';

export type Period = 'hour' | 'day';
export const PERIOD_MS: Record<Period, number> = { hour: 3_600_000, day: 86_400_000 };
const MINUTE_MS = 60_000;

/** Bumped when what a rollup means changes; rows of another version are not used (docs/reports.md). */
export const ROLLUP_VERSION = 1;

export interface SourceRollup {
  pilot: string;
  source: string;
  period: Period;
  /** Start of the hour or day, ms (UTC). */
  start: number;
  /** Segments whose later reading is in the period and whose earlier one is too; the rest of the figures. Availability counts stay 0. */
  fig: KpiFigures;
  /** The segment from the source's last reading before the period to its first in it, with that reading's time. */
  edge: { prevMs: number; seg: Segments } | null;
  /** 1 for each minute of the period with a vehicle_state or sensor_reading of the source. */
  minutes: Uint8Array;
  /** Readings of every kind, and the smallest and largest sequence number among them. */
  readings: number;
  seqMin: number | null;
  seqMax: number | null;
}

export function emptyRollup(pilot: string, source: string, period: Period, start: number): SourceRollup {
  return {
    pilot,
    source,
    period,
    start,
    fig: emptyFigures(),
    edge: null,
    minutes: new Uint8Array(PERIOD_MS[period] / MINUTE_MS),
    readings: 0,
    seqMin: null,
    seqMax: null,
  };
}

function encodeCounts(c: Record<string, number>): string {
  return Object.entries(c)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, n]) => `${k}:${n}`)
    .join(',');
}

function decodeCounts(s: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (typeof s !== 'string' || s === '') return out;
  for (const part of s.split(',')) {
    const i = part.lastIndexOf(':');
    out[part.slice(0, i)] = Number(part.slice(i + 1));
  }
  return out;
}

function encodeMinutes(bits: Uint8Array): string {
  let hex = '';
  for (let i = 0; i < bits.length; i += 4) hex += ((bits[i]! << 3) | (bits[i + 1]! << 2) | (bits[i + 2]! << 1) | bits[i + 3]!).toString(16);
  return hex;
}

function decodeMinutes(s: unknown, n: number): Uint8Array {
  const bits = new Uint8Array(n);
  if (typeof s !== 'string') return bits;
  for (let i = 0; i < s.length && i * 4 < n; i++) {
    const d = parseInt(s[i]!, 16);
    for (let b = 0; b < 4; b++) bits[i * 4 + b] = (d >> (3 - b)) & 1;
  }
  return bits;
}

const stringField = (v: string): string => `"${v}"`;

/** The rollup as one line of line protocol (precision ms). Strings hold only [A-Z0-9_:,.-], so need no escaping. */
export function rollupLine(r: SourceRollup, computedMs: number): string {
  const f = r.fig;
  const fields: [RollupFieldName, string][] = [
    ['version', `${ROLLUP_VERSION}i`],
    ['computed_ms', `${Math.trunc(computedMs)}i`],
    ['distance_m', `${f.seg.m}`],
    ['autonomous_m', `${f.seg.autonomousM}`],
    ['mode_ms', stringField(encodeCounts(f.seg.modeMs))],
  ];
  if (r.edge) {
    fields.push(
      ['edge_prev_ms', `${r.edge.prevMs}i`],
      ['edge_distance_m', `${r.edge.seg.m}`],
      ['edge_autonomous_m', `${r.edge.seg.autonomousM}`],
      ['edge_mode_ms', stringField(encodeCounts(r.edge.seg.modeMs))],
    );
  }
  fields.push(
    ['takeovers', `${f.takeovers}i`],
    ['disengagements', `${f.disengagements}i`],
    ['emergency_stops', `${f.emergencyStops}i`],
    ['takeovers_by_cause', stringField(encodeCounts(f.takeoversByCause))],
    ['disengagements_by_cause', stringField(encodeCounts(f.disengagementsByCause))],
    ['speed_sum_kmh', `${f.speedSumKmh}`],
    ['speed_n', `${f.speedN}i`],
    ['speed_hist', stringField(encodeHistogram(f.speed))],
    ['latency_hist', stringField(encodeHistogram(f.latency))],
    ['rsrp_hist', stringField(encodeHistogram(f.rsrp))],
    ['sinr_hist', stringField(encodeHistogram(f.sinr))],
    ['rtt_hist', stringField(encodeHistogram(f.rtt))],
    ['minutes', stringField(encodeMinutes(r.minutes))],
    ['readings', `${r.readings}i`],
  );
  if (r.seqMin !== null && r.seqMax !== null) fields.push(['seq_min', `${r.seqMin}i`], ['seq_max', `${r.seqMax}i`]);
  const tags = `pilot=${escapeKey(r.pilot)},source=${escapeKey(r.source)}`;
  return `${ROLLUP_MEASUREMENTS[r.period]},${tags} ${fields.map(([k, v]) => `${k}=${v}`).join(',')} ${r.start}`;
}

/** A row of `SELECT * FROM rollup_hour|rollup_day` (null for another version's row). */
export function rollupOfRow(row: InfluxRow, period: Period): SourceRollup | null {
  const v = (k: RollupFieldName): unknown => row[k];
  if (num(v('version')) !== ROLLUP_VERSION) return null;
  const r = emptyRollup(str(row['pilot']) ?? '', str(row['source']) ?? '', period, row.time);
  const f = r.fig;
  f.seg = { m: num(v('distance_m')) ?? 0, autonomousM: num(v('autonomous_m')) ?? 0, modeMs: decodeCounts(v('mode_ms')) };
  const prevMs = num(v('edge_prev_ms'));
  if (prevMs !== null) {
    r.edge = {
      prevMs,
      seg: { m: num(v('edge_distance_m')) ?? 0, autonomousM: num(v('edge_autonomous_m')) ?? 0, modeMs: decodeCounts(v('edge_mode_ms')) },
    };
  }
  f.takeovers = num(v('takeovers')) ?? 0;
  f.disengagements = num(v('disengagements')) ?? 0;
  f.emergencyStops = num(v('emergency_stops')) ?? 0;
  f.takeoversByCause = decodeCounts(v('takeovers_by_cause'));
  f.disengagementsByCause = decodeCounts(v('disengagements_by_cause'));
  f.speedSumKmh = num(v('speed_sum_kmh')) ?? 0;
  f.speedN = num(v('speed_n')) ?? 0;
  f.speed = decodeHistogram(v('speed_hist'));
  f.latency = decodeHistogram(v('latency_hist'));
  f.rsrp = decodeHistogram(v('rsrp_hist'));
  f.sinr = decodeHistogram(v('sinr_hist'));
  f.rtt = decodeHistogram(v('rtt_hist'));
  r.minutes = decodeMinutes(v('minutes'), r.minutes.length);
  r.readings = num(v('readings')) ?? 0;
  r.seqMin = num(v('seq_min'));
  r.seqMax = num(v('seq_max'));
  return r;
}

/**
 * The day of a source from its hours (any order): an hour's edge whose earlier reading is in the
 * same day is a segment inside the day; the one before the day is the day's edge.
 */
export function dayOfHours(pilot: string, source: string, dayStart: number, hours: readonly SourceRollup[]): SourceRollup {
  const day = emptyRollup(pilot, source, 'day', dayStart);
  for (const h of hours) {
    mergeFigures(day.fig, h.fig);
    if (h.edge) {
      if (h.edge.prevMs >= dayStart) mergeSegments(day.fig.seg, h.edge.seg);
      else day.edge = { prevMs: h.edge.prevMs, seg: { ...emptySegments(), ...h.edge.seg } };
    }
    day.minutes.set(h.minutes, (h.start - dayStart) / MINUTE_MS);
    day.readings += h.readings;
    if (h.seqMin !== null) day.seqMin = day.seqMin === null ? h.seqMin : Math.min(day.seqMin, h.seqMin);
    if (h.seqMax !== null) day.seqMax = day.seqMax === null ? h.seqMax : Math.max(day.seqMax, h.seqMax);
  }
  return day;
}
