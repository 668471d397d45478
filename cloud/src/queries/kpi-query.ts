/**
 * A pilot's KPIs over a time range (docs/api.md defines each one, docs/reports.md how long ranges
 * are computed): whole UTC days and hours from the rollups, the rest from the raw readings (the
 * partial hours at both ends, hours whose rollup is being recomputed, and anything before the
 * rollups begin). Both go through the same mergeable figures (rollups/kpi-figures.ts), so the result
 * is the raw computation's. Up to three InfluxDB requests at once.
 */
import { MEASUREMENTS, ROLLUP_MEASUREMENTS, type Kpis, type Pilot } from '@michi/proto';
import { quoteIdentifier as q, type InfluxQuery, type InfluxRow } from '../influx-query.js';
import { KPI_EVENT_TYPES, LINK_FIELDS, STATE_FIELDS } from '../rollups/hour-rollup.js';
import {
  addAvailability,
  addEvents,
  addLinks,
  addSourceStates,
  bySource,
  emptyFigures,
  kpisOfFigures,
  mergeFigures,
  mergeSegments,
  type KpiFigures,
} from '../rollups/kpi-figures.js';
import { PERIOD_MS, rollupOfRow, type Period, type SourceRollup } from '../rollups/source-rollup.js';
import { serviceMinutes } from './service-window.js';
import { anyOf, num, pilotRange, str } from './stats.js';

const HOUR_MS = PERIOD_MS.hour;
const DAY_MS = PERIOD_MS.day;

/** What the rollup job can vouch for (rollups/rollup-job.ts). */
export interface RollupCoverage {
  /** Readings with a source timestamp from this time on are in the rollups; null: none are (yet). */
  since(): number | null;
  /** Starts of the pilot's hours whose rollups are waiting to be recomputed (late readings landed). */
  pendingHours(pilot: string): ReadonlySet<number>;
  /**
   * Hours ending later than this may not be rolled up yet even without a mark here (another
   * process, a scale-out worker, wrote their readings and rolls them up after its settle delay).
   */
  settledBefore(): number;
}

/** A run of the range, [start, end) in ms, read one way. */
interface Piece {
  kind: 'raw' | Period;
  start: number;
  end: number;
}

/** How [from, to] is read: whole days and hours the rollups cover, raw readings for the rest. */
export function planKpiPieces(from: number, to: number, rollups: RollupCoverage | undefined, pilot: string): Piece[] {
  const since = rollups?.since() ?? null;
  const hs = Math.ceil(from / HOUR_MS) * HOUR_MS;
  const he = Math.floor((to + 1) / HOUR_MS) * HOUR_MS;
  if (!rollups || since === null || hs >= he) return [{ kind: 'raw', start: from, end: to + 1 }];
  const pending = rollups.pendingHours(pilot);
  const settled = rollups.settledBefore();
  const covered = (h: number): boolean => h >= since && h + HOUR_MS <= settled && !pending.has(h);
  const pieces: Piece[] = [];
  const push = (kind: Piece['kind'], start: number, end: number): void => {
    if (end <= start) return;
    const last = pieces[pieces.length - 1];
    if (last && last.kind === kind && last.end === start) last.end = end;
    else pieces.push({ kind, start, end });
  };
  push('raw', from, hs);
  for (let h = hs; h < he;) {
    if (h % DAY_MS === 0 && h + DAY_MS <= he) {
      let whole = true;
      for (let x = h; x < h + DAY_MS && whole; x += HOUR_MS) whole = covered(x);
      if (whole) {
        push('day', h, h + DAY_MS);
        h += DAY_MS;
        continue;
      }
    }
    push(covered(h) ? 'hour' : 'raw', h, h + HOUR_MS);
    h += HOUR_MS;
  }
  push('raw', he, to + 1);
  return pieces;
}

/** The statements of one raw piece: states, links, events, readings per minute, and each source's reading before it. */
function rawStatements(pilot: Pilot, from: number, piece: Piece): string[] {
  const where = pilotRange(pilot.id, piece.start, piece.end - 1);
  const availabilityMeasurement = pilot.vehicles.length === 0 ? MEASUREMENTS.sensor : MEASUREMENTS.state;
  const statements = [
    `SELECT ${STATE_FIELDS} FROM ${q(MEASUREMENTS.state)} WHERE ${where} GROUP BY ${q('source')}`,
    `SELECT ${LINK_FIELDS} FROM ${q(MEASUREMENTS.link)} WHERE ${where}`,
    `SELECT ${q('type')}, ${q('cause')} FROM ${q(MEASUREMENTS.event)} WHERE ${where} AND ${anyOf('type', KPI_EVENT_TYPES)}`,
    `SELECT count(${q('seq')}) FROM ${q(availabilityMeasurement)} WHERE ${where} GROUP BY time(1m), ${q('source')} fill(none)`,
  ];
  // The segment into the piece starts at each source's last reading before it, if that is in the range.
  if (piece.start > from) {
    statements.push(
      `SELECT ${STATE_FIELDS} FROM ${q(MEASUREMENTS.state)} WHERE ${pilotRange(pilot.id, from, piece.start - 1)} GROUP BY ${q('source')} ORDER BY time DESC LIMIT 1`,
    );
  }
  return statements;
}

function availabilitySources(pilot: Pilot): string[] {
  return pilot.vehicles.length === 0 ? pilot.sensors.map((s) => s.id) : pilot.vehicles.map((v) => v.id);
}

function addRawPiece(fig: KpiFigures, pilot: Pilot, piece: Piece, rows: InfluxRow[][]): void {
  const [states = [], links = [], events = [], minutes = [], prev = []] = rows;
  const prevBySource = new Map(prev.map((r) => [str(r['source']) ?? '', r]));
  for (const [source, list] of bySource(states)) addSourceStates(fig, list, prevBySource.get(source));
  addLinks(fig, links);
  addEvents(fig, events);
  const present = new Map<number, Set<string>>();
  for (const r of minutes) {
    if ((num(r['count']) ?? 0) <= 0) continue;
    let set = present.get(r.time);
    if (!set) present.set(r.time, (set = new Set()));
    set.add(str(r['source']) ?? '');
  }
  const window = serviceMinutes(piece.start, piece.end - 1, pilot.serviceWindow, pilot.timezone);
  addAvailability(fig, window, availabilitySources(pilot), (s, m) => present.get(m)?.has(s) === true);
}

function addRollupPiece(fig: KpiFigures, pilot: Pilot, from: number, piece: Piece & { kind: Period }, rows: readonly InfluxRow[]): void {
  const period = PERIOD_MS[piece.kind];
  const byStart = new Map<number, Map<string, SourceRollup>>();
  for (const row of rows) {
    const r = rollupOfRow(row, piece.kind);
    if (r === null) continue;
    mergeFigures(fig, r.fig);
    // An edge segment counts when its earlier reading is inside the range, like every raw segment.
    if (r.edge && r.edge.prevMs >= from) mergeSegments(fig.seg, r.edge.seg);
    let bySource = byStart.get(r.start);
    if (!bySource) byStart.set(r.start, (bySource = new Map()));
    bySource.set(r.source, r);
  }
  // The piece starts on a UTC hour or day: each minute's period starts a whole number of periods after it.
  const window = serviceMinutes(piece.start, piece.end - 1, pilot.serviceWindow, pilot.timezone);
  addAvailability(fig, window, availabilitySources(pilot), (s, m) => {
    const start = m - ((m - piece.start) % period);
    return byStart.get(start)?.get(s)?.minutes[(m - start) / 60_000] === 1;
  });
}

/**
 * InfluxDB runs the statements of one request one after the other; the rollups, the first raw part
 * and the other raw parts go in up to three requests at once, so that a long range costs about its
 * largest part, not the sum (bench/kpi-rollups.bench.ts). Each request is bounded like any other.
 */
export async function queryKpis(queries: InfluxQuery, pilot: Pilot, from: number, to: number, rollups?: RollupCoverage): Promise<Kpis> {
  const query = queries.forPilot(pilot.id);
  const pieces = planKpiPieces(from, to, rollups, pilot.id);
  const raw = pieces.filter((p) => p.kind === 'raw');
  const groups = [pieces.filter((p) => p.kind !== 'raw'), raw.slice(0, 1), raw.slice(1)].filter((g) => g.length > 0);
  const answers = await Promise.all(
    groups.map(async (group) => {
      const statements = group.map((piece) =>
        piece.kind === 'raw'
          ? rawStatements(pilot, from, piece)
          : [`SELECT * FROM ${q(ROLLUP_MEASUREMENTS[piece.kind])} WHERE ${pilotRange(pilot.id, piece.start, piece.end - 1)}`],
      );
      const results = await query.rowsOfEach(statements.flat());
      let first = 0;
      return group.map((piece, i) => {
        const rows = results.slice(first, first + statements[i]!.length);
        first += statements[i]!.length;
        return { piece, rows };
      });
    }),
  );
  const fig = emptyFigures();
  for (const { piece, rows } of answers.flat()) {
    if (piece.kind === 'raw') addRawPiece(fig, pilot, piece, rows);
    else addRollupPiece(fig, pilot, from, { ...piece, kind: piece.kind }, rows[0] ?? []);
  }
  return kpisOfFigures(fig, from, to);
}

/**
 * The KPIs of a range nothing may be shown of (a viewer's range that ends before now − the pilot's
 * delay): no distance, no events, availability null (no minute of it is visible).
 */
export function emptyKpis(_pilot: Pilot, from: number, to: number): Kpis {
  return kpisOfFigures(emptyFigures(), from, to);
}
