/**
 * Latest readings that the in-memory cache does not hold: each sensor's last reading, and each
 * vehicle's last state at or before an instant (the public view's delayed positions), and a
 * vehicle's states over the last moments (what the live feed's delay history starts from).
 */
import { FIELD_PREFIXES, MEASUREMENTS, type SensorLatest } from '@michi/proto';
import { quoteIdentifier, quoteLiteral, type InfluxQuery } from '../influx-query.js';
import { snapshotFromRow, type VehicleSnapshot } from '../latest-state.js';
import { str } from './stats.js';

function lastPerSource(measurement: string, pilot: string, atOrBefore?: number): string {
  const q = quoteIdentifier;
  const until = atOrBefore === undefined ? '' : ` AND time <= ${Math.trunc(atOrBefore)}ms`;
  return `SELECT * FROM ${q(measurement)} WHERE ${q('pilot')} = ${quoteLiteral(pilot)}${until} GROUP BY ${q('source')} ORDER BY time DESC LIMIT 1`;
}

/** sensor id → its last reading's counts and measures. */
export async function querySensorsLatest(query: InfluxQuery, pilot: string): Promise<Map<string, SensorLatest>> {
  const rows = await query.forPilot(pilot).rows(lastPerSource(MEASUREMENTS.sensor, pilot));
  const out = new Map<string, SensorLatest>();
  for (const r of rows) {
    const source = str(r['source']);
    if (source === null) continue;
    const latest: SensorLatest = { ts_ms: r.time, counts: {}, measures: {} };
    for (const [k, v] of Object.entries(r)) {
      if (typeof v !== 'number') continue;
      if (k.startsWith(FIELD_PREFIXES.count)) latest.counts[k.slice(FIELD_PREFIXES.count.length)] = v;
      else if (k.startsWith(FIELD_PREFIXES.measure)) latest.measures[k.slice(FIELD_PREFIXES.measure.length)] = v;
    }
    out.set(source, latest);
  }
  return out;
}

/** vehicle id → its last state with a source timestamp ≤ `atOrBefore`. */
export async function queryVehicleStatesAt(query: InfluxQuery, pilot: string, atOrBefore: number): Promise<Map<string, VehicleSnapshot>> {
  const rows = await query.forPilot(pilot).rows(lastPerSource(MEASUREMENTS.state, pilot, atOrBefore));
  const out = new Map<string, VehicleSnapshot>();
  for (const r of rows) {
    const source = str(r['source']);
    if (source !== null) out.set(source, snapshotFromRow(r));
  }
  return out;
}

/**
 * vehicle id → its states with a source timestamp in (`after`, `until`], oldest first, at most
 * `limitPerVehicle` each (the oldest: a delayed view needs those first).
 */
export async function queryVehicleStatesBetween(
  query: InfluxQuery,
  pilot: string,
  after: number,
  until: number,
  limitPerVehicle: number,
): Promise<Map<string, VehicleSnapshot[]>> {
  const q = quoteIdentifier;
  const rows = await query
    .forPilot(pilot)
    .rows(
      `SELECT * FROM ${q(MEASUREMENTS.state)} WHERE ${q('pilot')} = ${quoteLiteral(pilot)} AND time > ${Math.trunc(after)}ms AND time <= ${Math.trunc(until)}ms GROUP BY ${q('source')} ORDER BY time ASC LIMIT ${Math.max(1, Math.trunc(limitPerVehicle))}`,
    );
  const out = new Map<string, VehicleSnapshot[]>();
  for (const r of rows) {
    const source = str(r['source']);
    if (source === null) continue;
    let list = out.get(source);
    if (!list) out.set(source, (list = []));
    list.push(snapshotFromRow(r));
  }
  return out;
}
