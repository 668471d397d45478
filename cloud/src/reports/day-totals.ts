/**
 * The totals of a report combined from its days, for a range whose raw readings are more than one
 * InfluxDB request may hold (api.limits.maxRows, 422 for GET /kpis): distances, counts and readings
 * are summed, availability is the mean of the days weighted by their service-window minutes, shares
 * and per-100-km figures are worked out from the sums; percentiles of the link cannot be combined
 * from the days' percentiles and are null; a segment across midnight belongs to no day and is left out.
 */
import type { Kpis, ReportFigures } from '@michi/proto';

export interface ReportDayParts {
  figures: ReportFigures;
  kpis: Kpis;
  /** Service-window minutes the day's availability is over. */
  windowMinutes: number;
}

function sumCauses(all: readonly Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const byCause of all) for (const [cause, n] of Object.entries(byCause)) out[cause] = (out[cause] ?? 0) + n;
  return out;
}

const per100 = (n: number, km: number): number | null => (km > 0 ? (n / km) * 100 : null);

export function totalsOfDays(
  days: readonly ReportDayParts[],
  from: number,
  to: number,
): { figures: ReportFigures; takeoversByCause: Record<string, number>; disengagementsByCause: Record<string, number>; km: number } {
  const sum = (pick: (f: ReportFigures) => number) => days.reduce((n, d) => n + pick(d.figures), 0);
  const km = sum((f) => f.distance_km);
  const autonomous = sum((f) => f.autonomous_distance_km);
  const takeovers = sum((f) => f.takeovers);
  const counted = days.filter((d) => d.figures.availability !== null && d.windowMinutes > 0);
  const minutes = counted.reduce((n, d) => n + d.windowMinutes, 0);
  return {
    figures: {
      from,
      to,
      distance_km: km,
      autonomous_distance_km: autonomous,
      autonomous_share: km > 0 ? autonomous / km : null,
      takeovers,
      disengagements: sum((f) => f.disengagements),
      emergency_stops: sum((f) => f.emergency_stops),
      takeovers_per_100km: per100(takeovers, km),
      availability: minutes > 0 ? counted.reduce((n, d) => n + d.figures.availability! * d.windowMinutes, 0) / minutes : null,
      rsrp_dbm_p50: null,
      rsrp_dbm_p5: null,
      sinr_db_p50: null,
      sinr_db_p5: null,
      rtt_ms_p50: null,
      readings_received: sum((f) => f.readings_received),
      readings_expected: sum((f) => f.readings_expected),
    },
    takeoversByCause: sumCauses(days.map((d) => d.kpis.takeovers_by_cause)),
    disengagementsByCause: sumCauses(days.map((d) => d.kpis.disengagements_by_cause)),
    km,
  };
}
