/**
 * A pilot's KPIs over a time range, computed from the raw readings (docs/api.md defines each one):
 * distance from odometer deltas (haversine where the odometer is missing), the autonomous share
 * of it, takeovers, disengagements and emergency stops (takeovers and disengagements per 100 km,
 * in total and by cause), speed, availability of the service window, 5G link quality and
 * end-to-end latency. One InfluxDB request of four statements.
 */
import { MEASUREMENTS, type FieldName, type Kpis, type Pilot } from '@michi/proto';
import { quoteIdentifier, type InfluxQuery, type InfluxRow } from '../influx-query.js';
import { serviceMinutes } from './service-window.js';
import { anyOf, haversineM, mean, num, percentile, pilotRange, sortedNumbers, str } from './stats.js';

/** Consecutive readings further apart than this are not joined by a straight line (no odometer). */
export const MAX_HAVERSINE_GAP_MS = 60_000;

interface DistanceTotals {
  total: number;
  autonomous: number;
}

/** Metres between two consecutive readings of one vehicle (docs/api.md, "distance_km"). */
export function segmentM(a: InfluxRow, b: InfluxRow): number {
  const oa = num(a['odometer_m']);
  const ob = num(b['odometer_m']);
  if (oa !== null && ob !== null && oa > 0 && ob > 0 && ob >= oa) return ob - oa;
  if (b.time - a.time > MAX_HAVERSINE_GAP_MS) return 0;
  const [la, lo, lb, lob] = [num(a['lat']), num(a['lon']), num(b['lat']), num(b['lon'])];
  if (la === null || lo === null || lb === null || lob === null) return 0;
  return haversineM(la, lo, lb, lob);
}

function distances(states: readonly InfluxRow[]): DistanceTotals {
  const bySource = new Map<string, InfluxRow[]>();
  for (const r of states) {
    const s = str(r['source']) ?? '';
    let list = bySource.get(s);
    if (!list) bySource.set(s, (list = []));
    list.push(r);
  }
  const totals = { total: 0, autonomous: 0 };
  for (const rows of bySource.values()) {
    rows.sort((x, y) => x.time - y.time);
    for (let i = 1; i < rows.length; i++) {
      const d = segmentM(rows[i - 1]!, rows[i]!);
      totals.total += d;
      if (rows[i - 1]!['mode'] === 'AUTONOMOUS') totals.autonomous += d;
    }
  }
  return totals;
}

const per100km = (n: number, km: number): number | null => (km > 0 ? (n / km) * 100 : null);

/** Each cause's count per 100 km, by the same arithmetic as the totals; null for no distance. */
function per100kmByCause(byCause: Record<string, number>, km: number): Record<string, number> | null {
  return km > 0 ? Object.fromEntries(Object.entries(byCause).map(([cause, n]) => [cause, (n / km) * 100])) : null;
}

function countCause(byCause: Record<string, number>, event: InfluxRow): void {
  const cause = str(event['cause']) ?? 'UNSPECIFIED';
  byCause[cause] = (byCause[cause] ?? 0) + 1;
}

export async function queryKpis(query: InfluxQuery, pilot: Pilot, from: number, to: number): Promise<Kpis> {
  const where = pilotRange(pilot.id, from, to);
  const q = quoteIdentifier;
  // Availability counts the vehicles; a pilot without vehicles (roadside sensors only) counts its sensors.
  const useSensors = pilot.vehicles.length === 0;
  const availabilityMeasurement = useSensors ? MEASUREMENTS.sensor : MEASUREMENTS.state;
  const [states = [], links = [], events = [], minutes = []] = await query.rowsOfEach([
    `SELECT ${(['lat', 'lon', 'speed_mps', 'mode', 'odometer_m', 'recv_ms'] satisfies FieldName<'state'>[]).map(q).join(', ')} FROM ${q(MEASUREMENTS.state)} WHERE ${where} GROUP BY ${q('source')}`,
    `SELECT ${(['rsrp_dbm', 'sinr_db', 'rtt_ms'] satisfies FieldName<'link'>[]).map(q).join(', ')} FROM ${q(MEASUREMENTS.link)} WHERE ${where}`,
    `SELECT ${q('type')}, ${q('cause')} FROM ${q(MEASUREMENTS.event)} WHERE ${where} AND ${anyOf('type', ['TAKEOVER', 'DISENGAGEMENT', 'EMERGENCY_STOP'])}`,
    `SELECT count(${q('seq')}) FROM ${q(availabilityMeasurement)} WHERE ${where} GROUP BY time(1m), ${q('source')} fill(none)`,
  ]);
  return kpisOf(pilot, from, to, { states, links, events, minutes }, serviceMinutes(from, to, pilot.serviceWindow, pilot.timezone));
}

/**
 * The KPIs of a range nothing may be shown of (a viewer's range that ends before now − the pilot's
 * delay): no distance, no events, availability null (no minute of it is visible).
 */
export function emptyKpis(pilot: Pilot, from: number, to: number): Kpis {
  return kpisOf(pilot, from, to, { states: [], links: [], events: [], minutes: [] }, []);
}

interface KpiRows {
  states: readonly InfluxRow[];
  links: readonly InfluxRow[];
  events: readonly InfluxRow[];
  /** Readings per minute and source, for availability. */
  minutes: readonly InfluxRow[];
}

/** The KPIs of the rows of [from, to]; `window`: the minutes of the service window in it. */
function kpisOf(pilot: Pilot, from: number, to: number, { states, links, events, minutes }: KpiRows, window: readonly number[]): Kpis {
  const availabilitySources = pilot.vehicles.length === 0 ? pilot.sensors.map((s) => s.id) : pilot.vehicles.map((v) => v.id);
  const dist = distances(states);
  const distanceKm = dist.total / 1000;
  let takeovers = 0;
  let disengagements = 0;
  let emergencyStops = 0;
  const takeoversByCause: Record<string, number> = {};
  const disengagementsByCause: Record<string, number> = {};
  for (const e of events) {
    if (e['type'] === 'TAKEOVER') {
      takeovers++;
      countCause(takeoversByCause, e);
    } else if (e['type'] === 'EMERGENCY_STOP') emergencyStops++;
    else if (e['type'] === 'DISENGAGEMENT') {
      disengagements++;
      countCause(disengagementsByCause, e);
    }
  }

  const speeds = sortedNumbers(states.map((r) => r['speed_mps'])).map((v) => v * 3.6);
  const latencies = sortedNumbers(
    states.map((r) => {
      const recv = num(r['recv_ms']);
      return recv === null ? null : recv - r.time;
    }),
  );

  // availability: minutes of the service window in which every counted source has ≥ 1 reading
  let availability: number | null = null;
  if (window.length > 0) {
    const present = new Map<number, Set<string>>();
    for (const r of minutes) {
      if ((num(r['count']) ?? 0) <= 0) continue;
      let set = present.get(r.time);
      if (!set) present.set(r.time, (set = new Set()));
      set.add(str(r['source']) ?? '');
    }
    const fresh = window.filter((m) => {
      const set = present.get(m);
      return availabilitySources.length > 0 && set !== undefined && availabilitySources.every((s) => set.has(s));
    }).length;
    availability = fresh / window.length;
  }

  const rsrp = sortedNumbers(links.map((r) => r['rsrp_dbm']));
  const sinr = sortedNumbers(links.map((r) => r['sinr_db']));
  const rtt = sortedNumbers(links.map((r) => r['rtt_ms']));
  const speedMean = mean(speeds);
  return {
    from,
    to,
    distance_km: distanceKm,
    autonomous_distance_km: dist.autonomous / 1000,
    autonomous_share: dist.total > 0 ? dist.autonomous / dist.total : null,
    takeovers,
    takeovers_per_100km: per100km(takeovers, distanceKm),
    takeovers_by_cause: takeoversByCause,
    takeovers_per_100km_by_cause: per100kmByCause(takeoversByCause, distanceKm),
    disengagements,
    disengagements_per_100km: per100km(disengagements, distanceKm),
    disengagements_by_cause: disengagementsByCause,
    disengagements_per_100km_by_cause: per100kmByCause(disengagementsByCause, distanceKm),
    emergency_stops: emergencyStops,
    speed_mean_kmh: speedMean,
    speed_p95_kmh: percentile(speeds, 95),
    availability,
    link: {
      rsrp_dbm: { p5: percentile(rsrp, 5), p50: percentile(rsrp, 50), p95: percentile(rsrp, 95) },
      sinr_db: { p5: percentile(sinr, 5), p50: percentile(sinr, 50), p95: percentile(sinr, 95) },
      rtt_ms: { p50: percentile(rtt, 50), p95: percentile(rtt, 95) },
    },
    latency_ms: { p50: percentile(latencies, 50), p95: percentile(latencies, 95) },
  };
}
