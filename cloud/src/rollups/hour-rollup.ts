/**
 * Computes the rollup of one source over one UTC hour from the raw readings (one InfluxDB request),
 * and finds the hour of the source's next reading after it, whose edge segment starts in this hour.
 */
import { MEASUREMENTS, type FieldName } from '@michi/proto';
import { quoteIdentifier as q, quoteLiteral, type InfluxQuery, type InfluxRow } from '../influx-query.js';
import { anyOf, num, pilotRange } from '../queries/stats.js';
import { addEvents, addLinks, addSourceStates, emptySegments, addSegment } from './kpi-figures.js';
import { emptyRollup, PERIOD_MS, type SourceRollup } from './source-rollup.js';

/** The fields of vehicle_state the KPIs read. */
export const STATE_FIELDS = (['lat', 'lon', 'speed_mps', 'mode', 'odometer_m', 'recv_ms'] satisfies FieldName<'state'>[]).map(q).join(', ');
export const LINK_FIELDS = (['rsrp_dbm', 'sinr_db', 'rtt_ms'] satisfies FieldName<'link'>[]).map(q).join(', ');
export const KPI_EVENT_TYPES = ['TAKEOVER', 'DISENGAGEMENT', 'EMERGENCY_STOP'];

/**
 * How far back a source's previous reading is looked for: the longest KPI range. An earlier one can
 * never be inside a range that also holds this hour, so its segment would never count.
 */
const PREV_LOOKBACK_MS = 400 * 86_400_000;

const HOUR_MS = PERIOD_MS.hour;

function sourceWhere(pilot: string, source: string, from: number, to: number): string {
  return `${pilotRange(pilot, from, to)} AND ${q('source')} = ${quoteLiteral(source)}`;
}

/** What one hour of one source holds, as the statements of computeHourRollup return it. */
export interface HourRows {
  states: InfluxRow[];
  /** The source's last vehicle_state before the hour (at most one). */
  prev: readonly InfluxRow[];
  links: readonly InfluxRow[];
  events: readonly InfluxRow[];
  /** `count` of vehicle_state and sensor_reading readings per minute (GROUP BY time(1m)). */
  minutes: readonly InfluxRow[];
  /** `count`, `min` and `max` of `seq`, a row per measurement. */
  seqs: readonly InfluxRow[];
}

export async function computeHourRollup(query: InfluxQuery, pilot: string, source: string, hour: number): Promise<SourceRollup> {
  const where = sourceWhere(pilot, source, hour, hour + HOUR_MS - 1);
  const M = MEASUREMENTS;
  const [states = [], prev = [], links = [], events = [], minutes = [], seqs = []] = await query
    .forPilot(pilot)
    .rowsOfEach([
      `SELECT ${STATE_FIELDS} FROM ${q(M.state)} WHERE ${where}`,
      `SELECT ${STATE_FIELDS} FROM ${q(M.state)} WHERE ${sourceWhere(pilot, source, hour - PREV_LOOKBACK_MS, hour - 1)} ORDER BY time DESC LIMIT 1`,
      `SELECT ${LINK_FIELDS} FROM ${q(M.link)} WHERE ${where}`,
      `SELECT ${q('type')}, ${q('cause')} FROM ${q(M.event)} WHERE ${where} AND ${anyOf('type', KPI_EVENT_TYPES)}`,
      `SELECT count(${q('seq')}) FROM ${q(M.state)}, ${q(M.sensor)} WHERE ${where} GROUP BY time(1m) fill(none)`,
      `SELECT count(${q('seq')}), min(${q('seq')}), max(${q('seq')}) FROM ${q(M.state)}, ${q(M.link)}, ${q(M.event)}, ${q(M.sensor)} WHERE ${where}`,
    ]);
  return hourRollupOfRows(pilot, source, hour, { states, prev, links, events, minutes, seqs });
}

/** The rollup of one source's hour from its rows. */
export function hourRollupOfRows(pilot: string, source: string, hour: number, rows: HourRows): SourceRollup {
  const r = emptyRollup(pilot, source, 'hour', hour);
  const states = [...rows.states].sort((a, b) => a.time - b.time);
  addSourceStates(r.fig, states);
  const before = rows.prev[0];
  if (before !== undefined && states[0] !== undefined) {
    const seg = emptySegments();
    addSegment(seg, before, states[0]);
    r.edge = { prevMs: before.time, seg };
  }
  addLinks(r.fig, rows.links);
  addEvents(r.fig, rows.events);
  for (const m of rows.minutes) if ((num(m['count']) ?? 0) > 0) r.minutes[Math.floor((m.time - hour) / 60_000)] = 1;
  for (const s of rows.seqs) {
    r.readings += num(s['count']) ?? 0;
    const lo = num(s['min']);
    const hi = num(s['max']);
    if (lo !== null) r.seqMin = r.seqMin === null ? lo : Math.min(r.seqMin, lo);
    if (hi !== null) r.seqMax = r.seqMax === null ? hi : Math.max(r.seqMax, hi);
  }
  return r;
}

/** The hour of the source's first vehicle_state after `hour`, or null: its edge segment starts at or before this hour's last reading. */
export async function nextStateHour(query: InfluxQuery, pilot: string, source: string, hour: number): Promise<number | null> {
  const rows: InfluxRow[] = await query
    .forPilot(pilot)
    .rows(
      `SELECT ${q('recv_ms')} FROM ${q(MEASUREMENTS.state)} WHERE ${q('pilot')} = ${quoteLiteral(pilot)} AND ${q('source')} = ${quoteLiteral(source)} AND time >= ${hour + HOUR_MS}ms ORDER BY time ASC LIMIT 1`,
    );
  const t = rows[0]?.time;
  return t === undefined ? null : Math.floor(t / HOUR_MS) * HOUR_MS;
}
