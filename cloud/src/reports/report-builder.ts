/**
 * A report's data: the KPIs of each local day of the range and of the whole range, through the
 * same KPI function as GET /kpis (so a day's row equals the KPIs of that day, and the totals the
 * KPIs of the range), plus the readings each day's sequence numbers account for.
 */
import {
  ErrorCodes,
  MichiError,
  REPORT_COLUMNS,
  type Kpis,
  type Pilot,
  type Report,
  type ReportCause,
  type ReportFigures,
  type ReportLang,
} from '@michi/proto';
import type { InfluxQuery } from '../influx-query.js';
import { serviceMinutes } from '../queries/service-window.js';
import { queryCompleteness } from '../queries/completeness-query.js';
import { emptyKpis, queryKpis, type RollupCoverage } from '../queries/kpi-query.js';
import { totalsOfDays, type ReportDayParts } from './day-totals.js';
import { localDays } from './local-days.js';
import { COLUMN_LABELS, causeLabel } from './report-labels.js';

export interface ReportRequest {
  pilot: Pilot;
  from: number;
  to: number;
  lang: ReportLang;
  /** Nothing after this is read (a viewer's horizon: now − the pilot's delay). */
  until: number;
  now: number;
  /** What the rollups cover, so that long ranges are read from them (as GET /kpis does). */
  rollups?: RollupCoverage | undefined;
}

function figuresOf(k: Kpis, readings: { received: number; expected: number }, from: number, to: number): ReportFigures {
  return {
    from,
    to,
    distance_km: k.distance_km,
    autonomous_distance_km: k.autonomous_distance_km,
    autonomous_share: k.autonomous_share,
    takeovers: k.takeovers,
    disengagements: k.disengagements,
    emergency_stops: k.emergency_stops,
    takeovers_per_100km: k.takeovers_per_100km,
    availability: k.availability,
    rsrp_dbm_p50: k.link.rsrp_dbm.p50,
    rsrp_dbm_p5: k.link.rsrp_dbm.p5,
    sinr_db_p50: k.link.sinr_db.p50,
    sinr_db_p5: k.link.sinr_db.p5,
    rtt_ms_p50: k.link.rtt_ms.p50,
    readings_received: readings.received,
    readings_expected: readings.expected,
  };
}

/**
 * How the report reads InfluxDB: `read` runs one step (a day, or the whole range) with a query of
 * its own; the API runs each step through the query gate with its own deadline (api.limits), so a
 * month is bounded per day, not squeezed into the deadline of one request.
 */
export type ReportReader = <T>(step: (query: InfluxQuery) => Promise<T>) => Promise<T>;

/** The figures of one day, read only up to `until`. */
async function dayFigures(read: ReportReader, r: ReportRequest, from: number, to: number): Promise<ReportDayParts> {
  const end = Math.min(to, r.until);
  if (end < from) {
    const kpis = emptyKpis(r.pilot, from, end);
    return { figures: figuresOf(kpis, { received: 0, expected: 0 }, from, to), kpis, windowMinutes: 0 };
  }
  const [kpis, sources] = await read(
    async (query) =>
      [await queryKpis(query, r.pilot, from, end, r.rollups), await queryCompleteness(query, r.pilot, from, end, r.now)] as const,
  );
  const readings = sources.reduce((sum, s) => ({ received: sum.received + s.received, expected: sum.expected + s.expected }), {
    received: 0,
    expected: 0,
  });
  const windowMinutes = serviceMinutes(from, end, r.pilot.serviceWindow, r.pilot.timezone).length;
  return { figures: figuresOf(kpis, readings, from, to), kpis, windowMinutes };
}

/** The KPIs of the whole range (from the rollups where they cover it); combined from the days when it is more than one request may hold (422 for /kpis). */
async function totals(read: ReportReader, r: ReportRequest, days: readonly ReportDayParts[]) {
  // Readings are the days' sums: counting a month's sequence numbers again would read its raw readings.
  const readings = {
    received: days.reduce((n, d) => n + d.figures.readings_received, 0),
    expected: days.reduce((n, d) => n + d.figures.readings_expected, 0),
  };
  try {
    const end = Math.min(r.to, r.until);
    const kpis = end < r.from ? emptyKpis(r.pilot, r.from, end) : await read((query) => queryKpis(query, r.pilot, r.from, end, r.rollups));
    return {
      exact: true,
      figures: figuresOf(kpis, readings, r.from, r.to),
      takeovers: causes(kpis.takeovers_by_cause, kpis.takeovers_per_100km_by_cause, r.lang),
      disengagements: causes(kpis.disengagements_by_cause, kpis.disengagements_per_100km_by_cause, r.lang),
    };
  } catch (err) {
    if (!(err instanceof MichiError && err.code === ErrorCodes.TOO_LARGE)) throw err;
    const t = totalsOfDays(days, r.from, r.to);
    const per100 = (byCause: Record<string, number>) =>
      t.km > 0 ? Object.fromEntries(Object.entries(byCause).map(([c, n]) => [c, (n / t.km) * 100])) : null;
    return {
      exact: false,
      figures: t.figures,
      takeovers: causes(t.takeoversByCause, per100(t.takeoversByCause), r.lang),
      disengagements: causes(t.disengagementsByCause, per100(t.disengagementsByCause), r.lang),
    };
  }
}

function causes(counts: Record<string, number>, per100km: Record<string, number> | null, lang: ReportLang): ReportCause[] {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([cause, count]) => ({ cause, label: causeLabel(cause, lang), count, per_100km: per100km?.[cause] ?? null }));
}

/** Two InfluxDB requests per day and two for the range, one step after the other (the totals may fall back to the days). */
export async function buildReport(read: ReportReader, r: ReportRequest): Promise<Report> {
  const days: { date: string; parts: ReportDayParts }[] = [];
  for (const day of localDays(r.from, r.to, r.pilot.timezone))
    days.push({ date: day.date, parts: await dayFigures(read, r, day.from, day.to) });
  const total = await totals(
    read,
    r,
    days.map((d) => d.parts),
  );
  const name = r.pilot.name[r.lang];
  return {
    pilot: {
      id: r.pilot.id,
      name,
      municipality: r.pilot.municipality[r.lang],
      municipality_code: r.pilot.municipality.code,
      timezone: r.pilot.timezone,
    },
    lang: r.lang,
    from: r.from,
    to: r.to,
    generated_at: r.now,
    columns: REPORT_COLUMNS.map((key) => ({ key, label: COLUMN_LABELS[r.lang][key] })),
    days: days.map((d) => ({ date: d.date, ...d.parts.figures })),
    totals: total.figures,
    totals_exact: total.exact,
    takeovers_by_cause: total.takeovers,
    disengagements_by_cause: total.disengagements,
  };
}
