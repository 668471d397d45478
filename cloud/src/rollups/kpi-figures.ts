/**
 * The KPIs of docs/api.md as mergeable figures: sums, counts and value histograms that add up
 * across hours, days, sources and raw pieces of a range, then turn into the API's Kpis once. The raw
 * computation and the rollups both go through these functions, so a KPI from rollups is the raw one
 * by construction (up to the order of floating-point additions).
 */
import type { Kpis } from '@michi/proto';
import type { InfluxRow } from '../influx-query.js';
import { haversineM, num, str } from '../queries/stats.js';
import { addValue, histogramPercentile, mergeHistogram, type ValueHistogram } from './value-histogram.js';

/** Consecutive readings further apart than this are not joined by a straight line (no odometer), nor counted as time in a mode. */
const MAX_HAVERSINE_GAP_MS = 60_000;

/** Buckets per unit of each percentile figure: speed, RSRP, SINR and RTT to 0.1, latency to 1 ms (docs/reports.md). */
export const PER_UNIT = { speedKmh: 10, rsrpDbm: 10, sinrDb: 10, rttMs: 10, latencyMs: 1 } as const;

/** Segments between consecutive vehicle_state readings of one source (docs/api.md, "distance_km"). */
export interface Segments {
  m: number;
  autonomousM: number;
  /** ms between consecutive readings at most MAX_HAVERSINE_GAP_MS apart, by the first reading's mode. */
  modeMs: Record<string, number>;
}

export interface KpiFigures {
  seg: Segments;
  takeovers: number;
  disengagements: number;
  emergencyStops: number;
  takeoversByCause: Record<string, number>;
  disengagementsByCause: Record<string, number>;
  speedSumKmh: number;
  speedN: number;
  speed: ValueHistogram;
  latency: ValueHistogram;
  rsrp: ValueHistogram;
  sinr: ValueHistogram;
  rtt: ValueHistogram;
  /** Service-window minutes of the range, and those in which every counted source had a reading. */
  windowMinutes: number;
  freshMinutes: number;
}

export const emptySegments = (): Segments => ({ m: 0, autonomousM: 0, modeMs: {} });

export function emptyFigures(): KpiFigures {
  return {
    seg: emptySegments(),
    takeovers: 0,
    disengagements: 0,
    emergencyStops: 0,
    takeoversByCause: {},
    disengagementsByCause: {},
    speedSumKmh: 0,
    speedN: 0,
    speed: new Map(),
    latency: new Map(),
    rsrp: new Map(),
    sinr: new Map(),
    rtt: new Map(),
    windowMinutes: 0,
    freshMinutes: 0,
  };
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
}

export function mergeSegments(into: Segments, from: Segments): void {
  into.m += from.m;
  into.autonomousM += from.autonomousM;
  addCounts(into.modeMs, from.modeMs);
}

export function mergeFigures(into: KpiFigures, from: KpiFigures): void {
  mergeSegments(into.seg, from.seg);
  into.takeovers += from.takeovers;
  into.disengagements += from.disengagements;
  into.emergencyStops += from.emergencyStops;
  addCounts(into.takeoversByCause, from.takeoversByCause);
  addCounts(into.disengagementsByCause, from.disengagementsByCause);
  into.speedSumKmh += from.speedSumKmh;
  into.speedN += from.speedN;
  for (const k of ['speed', 'latency', 'rsrp', 'sinr', 'rtt'] as const) mergeHistogram(into[k], from[k]);
  into.windowMinutes += from.windowMinutes;
  into.freshMinutes += from.freshMinutes;
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

/** Adds the segment from a to b (consecutive readings of one source) to `seg`. */
export function addSegment(seg: Segments, a: InfluxRow, b: InfluxRow): void {
  const d = segmentM(a, b);
  seg.m += d;
  if (a['mode'] === 'AUTONOMOUS') seg.autonomousM += d;
  const dt = b.time - a.time;
  const mode = str(a['mode']);
  if (mode !== null && dt <= MAX_HAVERSINE_GAP_MS) seg.modeMs[mode] = (seg.modeMs[mode] ?? 0) + dt;
}

/**
 * The vehicle_state readings of one source, ascending by time: the segments between them (and from
 * `prev`, the source's reading just before them, when given), speeds and latencies.
 */
export function addSourceStates(fig: KpiFigures, rows: readonly InfluxRow[], prev?: InfluxRow): void {
  let a = prev;
  for (const b of rows) {
    if (a !== undefined) addSegment(fig.seg, a, b);
    a = b;
    const speed = num(b['speed_mps']);
    if (speed !== null) {
      const kmh = speed * 3.6;
      fig.speedSumKmh += kmh;
      fig.speedN++;
      addValue(fig.speed, kmh, PER_UNIT.speedKmh);
    }
    const recv = num(b['recv_ms']);
    if (recv !== null) addValue(fig.latency, recv - b.time, PER_UNIT.latencyMs);
  }
}

/** vehicle_state rows of any sources, grouped by source and sorted by time. */
export function bySource(rows: readonly InfluxRow[]): Map<string, InfluxRow[]> {
  const out = new Map<string, InfluxRow[]>();
  for (const r of rows) {
    const s = str(r['source']) ?? '';
    let list = out.get(s);
    if (!list) out.set(s, (list = []));
    list.push(r);
  }
  for (const list of out.values()) list.sort((x, y) => x.time - y.time);
  return out;
}

export function addLinks(fig: KpiFigures, rows: readonly InfluxRow[]): void {
  for (const r of rows) {
    const rsrp = num(r['rsrp_dbm']);
    const sinr = num(r['sinr_db']);
    const rtt = num(r['rtt_ms']);
    if (rsrp !== null) addValue(fig.rsrp, rsrp, PER_UNIT.rsrpDbm);
    if (sinr !== null) addValue(fig.sinr, sinr, PER_UNIT.sinrDb);
    if (rtt !== null) addValue(fig.rtt, rtt, PER_UNIT.rttMs);
  }
}

function countCause(byCause: Record<string, number>, event: InfluxRow): void {
  const cause = str(event['cause']) ?? 'UNSPECIFIED';
  byCause[cause] = (byCause[cause] ?? 0) + 1;
}

/** Takeovers, disengagements (both by cause) and emergency stops; other event types are ignored. */
export function addEvents(fig: KpiFigures, rows: readonly InfluxRow[]): void {
  for (const e of rows) {
    if (e['type'] === 'TAKEOVER') {
      fig.takeovers++;
      countCause(fig.takeoversByCause, e);
    } else if (e['type'] === 'EMERGENCY_STOP') fig.emergencyStops++;
    else if (e['type'] === 'DISENGAGEMENT') {
      fig.disengagements++;
      countCause(fig.disengagementsByCause, e);
    }
  }
}

/**
 * Availability of some service-window minutes: `hasReading(source, m)` says whether the source had a
 * reading in the minute starting at m; a minute is fresh when every counted source had one.
 */
export function addAvailability(
  fig: KpiFigures,
  window: readonly number[],
  sources: readonly string[],
  hasReading: (source: string, minute: number) => boolean,
): void {
  fig.windowMinutes += window.length;
  if (sources.length === 0) return;
  for (const m of window) if (sources.every((s) => hasReading(s, m))) fig.freshMinutes++;
}

const per100km = (n: number, km: number): number | null => (km > 0 ? (n / km) * 100 : null);

/** Each cause's count per 100 km, by the same arithmetic as the totals; null for no distance. */
function per100kmByCause(byCause: Record<string, number>, km: number): Record<string, number> | null {
  return km > 0 ? Object.fromEntries(Object.entries(byCause).map(([cause, n]) => [cause, (n / km) * 100])) : null;
}

/** The API's KPIs of the figures of [from, to]. */
export function kpisOfFigures(fig: KpiFigures, from: number, to: number): Kpis {
  const distanceKm = fig.seg.m / 1000;
  const pct = (h: ValueHistogram, p: number, perUnit: number) => histogramPercentile(h, p, perUnit);
  return {
    from,
    to,
    distance_km: distanceKm,
    autonomous_distance_km: fig.seg.autonomousM / 1000,
    autonomous_share: fig.seg.m > 0 ? fig.seg.autonomousM / fig.seg.m : null,
    takeovers: fig.takeovers,
    takeovers_per_100km: per100km(fig.takeovers, distanceKm),
    takeovers_by_cause: { ...fig.takeoversByCause },
    takeovers_per_100km_by_cause: per100kmByCause(fig.takeoversByCause, distanceKm),
    disengagements: fig.disengagements,
    disengagements_per_100km: per100km(fig.disengagements, distanceKm),
    disengagements_by_cause: { ...fig.disengagementsByCause },
    disengagements_per_100km_by_cause: per100kmByCause(fig.disengagementsByCause, distanceKm),
    emergency_stops: fig.emergencyStops,
    speed_mean_kmh: fig.speedN > 0 ? fig.speedSumKmh / fig.speedN : null,
    speed_p95_kmh: pct(fig.speed, 95, PER_UNIT.speedKmh),
    availability: fig.windowMinutes > 0 ? fig.freshMinutes / fig.windowMinutes : null,
    link: {
      rsrp_dbm: {
        p5: pct(fig.rsrp, 5, PER_UNIT.rsrpDbm),
        p50: pct(fig.rsrp, 50, PER_UNIT.rsrpDbm),
        p95: pct(fig.rsrp, 95, PER_UNIT.rsrpDbm),
      },
      sinr_db: { p5: pct(fig.sinr, 5, PER_UNIT.sinrDb), p50: pct(fig.sinr, 50, PER_UNIT.sinrDb), p95: pct(fig.sinr, 95, PER_UNIT.sinrDb) },
      rtt_ms: { p50: pct(fig.rtt, 50, PER_UNIT.rttMs), p95: pct(fig.rtt, 95, PER_UNIT.rttMs) },
    },
    latency_ms: { p50: pct(fig.latency, 50, PER_UNIT.latencyMs), p95: pct(fig.latency, 95, PER_UNIT.latencyMs) },
  };
}
