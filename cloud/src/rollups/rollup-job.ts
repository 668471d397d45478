/**
 * Keeps the rollups exact as readings arrive, late ones included (docs/reports.md). Ingest marks the
 * (pilot, source, hour)s of every batch InfluxDB accepted; once an hour has had no new readings for
 * `settleMs`, a tick recomputes it from the raw readings, then the hour of the source's next reading
 * (whose edge segment starts in this one) and the UTC days of both. At most `maxHoursPerTick` hours
 * per tick. InfluxDB 1.x continuous queries are not used: they cover only the latest interval and
 * miss late data.
 *
 * Dirty marks live in memory; what survives a restart is `rollup_progress`: the watermark (every
 * reading received up to it is in the rollups) and where the rollups begin. On start the job marks
 * the hours holding readings received after the watermark (their source timestamps are at most
 * timestampWindow.pastMs older); without a progress point it builds the last `backfillDays` first.
 */
import type { Logger } from 'pino';
import { Counter, Gauge } from 'prom-client';
import { MEASUREMENTS, MichiError, ROLLUP_MEASUREMENTS, type Pilot, type ROLLUP_PROGRESS_FIELDS } from '@michi/proto';
import { quoteIdentifier as q, quoteLiteral, type InfluxQuery } from '../influx-query.js';
import { escapeKey } from '../line-protocol.js';
import type { CloudMetrics } from '../metrics.js';
import type { RollupCoverage } from '../queries/kpi-query.js';
import { num, str } from '../queries/stats.js';
import { computeHourRollup, nextStateHour } from './hour-rollup.js';
import { dayOfHours, PERIOD_MS, rollupLine, rollupOfRow, type SourceRollup } from './source-rollup.js';
import type { RollupMarks, TouchedHours } from './touched-hours.js';

const DAY_MS = PERIOD_MS.day;

/** The `instance` tag of the cloud process's progress point. */
export const ROLLUP_CLOUD_INSTANCE = 'cloud';

export interface RollupJobOptions {
  /** Whose progress point this job reads and writes (tag `instance`): each process that ingests runs its own job. */
  instance: string;
  /** An hour is recomputed once no reading has landed in it for this long. */
  settleMs: number;
  tickMs: number;
  maxHoursPerTick: number;
  /** Without a progress point (first start), the days of readings rolled up before anything else. */
  backfillDays: number;
  /** timestampWindow.pastMs: how much older than its receive time a reading can be. */
  pastMs: number;
  /** How much later than its recv_ms a reading may be marked (the write's queueing and duration). */
  watermarkMarginMs: number;
}

export interface RollupWriter {
  write(lines: readonly string[]): Promise<void>;
}

export interface RollupJobDeps {
  query: InfluxQuery;
  /** Resolves once InfluxDB accepted the lines (InfluxWriter); the progress point's, and every pilot's without writerOf. */
  writer: RollupWriter;
  /** The writer of the InfluxDB holding `pilot`'s data, where its rollups belong beside its readings (influxServers). */
  writerOf?: ((pilot: string) => RollupWriter) | undefined;
  pilots: readonly Pilot[];
  logger: Logger;
  metrics?: CloudMetrics | undefined;
  now?: () => number;
}

interface Mark {
  pilot: string;
  source: string;
  hour: number;
  /** When it was first and last marked (the job's clock). */
  firstAt: number;
  lastAt: number;
}

const keyOf = (pilot: string, source: string, hour: number): string => `${pilot}\u0000${source}\u0000${hour}`;

function reasonOf(err: unknown): string {
  return err instanceof MichiError ? err.code.replace(/^MICHI_ERR_/, '').toLowerCase() : 'internal';
}

export class RollupJob implements RollupMarks, RollupCoverage {
  private readonly opts: RollupJobOptions;
  private readonly deps: RollupJobDeps;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly marks = new Map<string, Mark>();
  private readonly pilots: Set<string>;
  private sinceMs: number | null = null;
  private initialised = false;
  /** The last tick failed: further failures are logged at debug until one succeeds. */
  private failing = false;
  /** Hours marked by the first start's backfill and not yet computed; progress is saved only without them. */
  private backfilling = false;
  private savedWatermark: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly failures: Counter<'reason'> | undefined;
  private readonly computed: Counter<'period'> | undefined;

  constructor(opts: RollupJobOptions, deps: RollupJobDeps) {
    this.opts = opts;
    this.deps = deps;
    this.now = deps.now ?? Date.now;
    this.log = deps.logger.child({ component: 'rollups' });
    this.pilots = new Set(deps.pilots.map((p) => p.id));
    const registers = deps.metrics ? [deps.metrics.registry] : [];
    if (deps.metrics) {
      this.failures = new Counter({
        name: 'michi_cloud_rollup_failures_total',
        help: 'Rollup ticks that failed and will be retried, by reason (storage, timeout, internal)',
        labelNames: ['reason'],
        registers,
      });
      this.computed = new Counter({
        name: 'michi_cloud_rollups_computed_total',
        help: 'Rollups recomputed, by period (hour, day)',
        labelNames: ['period'],
        registers,
      });
      const marks = this.marks;
      new Gauge({
        name: 'michi_cloud_rollups_pending',
        help: 'Hourly rollups, one per (pilot, source, hour), waiting to be recomputed',
        registers,
        collect() {
          this.set(marks.size);
        },
      });
    }
  }

  // --- RollupMarks: called by ingest after InfluxDB accepted a batch

  markWritten(pilot: string, touched: TouchedHours): void {
    const now = this.now();
    for (const [source, hours] of touched.bySource) for (const hour of hours) this.mark(pilot, source, hour, now, now);
  }

  private mark(pilot: string, source: string, hour: number, firstAt: number, lastAt: number): void {
    const key = keyOf(pilot, source, hour);
    const held = this.marks.get(key);
    if (held) held.lastAt = Math.max(held.lastAt, lastAt);
    else this.marks.set(key, { pilot, source, hour, firstAt, lastAt });
  }

  // --- RollupCoverage: read by the KPI query

  since(): number | null {
    return this.sinceMs;
  }

  pendingHours(pilot: string): ReadonlySet<number> {
    const out = new Set<number>();
    for (const m of this.marks.values()) if (m.pilot === pilot) out.add(m.hour);
    return out;
  }

  settledBefore(): number {
    // The settle delay, a tick to notice, one to compute, and a minute for a busy InfluxDB.
    return this.now() - this.opts.settleMs - 2 * this.opts.tickMs - 60_000;
  }

  /** (pilot, source, hour)s waiting to be recomputed. */
  get pending(): number {
    return this.marks.size;
  }

  // --- lifecycle

  /** Starts ticking; the first tick reads the progress point and marks what a restart may have missed. */
  start(): void {
    this.schedule();
  }

  private async init(): Promise<void> {
    const rows = await this.deps.query.rows(
      `SELECT * FROM ${q(ROLLUP_MEASUREMENTS.progress)} WHERE ${q('instance')} = ${quoteLiteral(this.opts.instance)} AND time = 0`,
    );
    const watermark = num(rows[0]?.['watermark_ms']);
    const since = num(rows[0]?.['since_ms']);
    const now = this.now();
    // sinceMs is set only once the hours to recompute are marked: until then the KPIs read raw readings.
    if (watermark === null || since === null) {
      const from = Math.floor((now - this.opts.backfillDays * DAY_MS) / DAY_MS) * DAY_MS;
      this.backfilling = true;
      const n = await this.markReadings(from, now + DAY_MS, null);
      this.sinceMs = from;
      this.log.info({ since: from, hours: n }, 'no rollup progress found: building the rollups of the last days');
    } else {
      const n = await this.markReadings(Math.max(since, watermark - this.opts.pastMs), now + DAY_MS, watermark);
      this.sinceMs = since;
      this.savedWatermark = watermark;
      this.log.info({ since, watermark, hours: n }, 'rollups: recomputing the hours of readings received since the last progress');
    }
    this.initialised = true;
  }

  /**
   * Marks the hours with readings taken in [from, to) (received after `receivedAfter`, when given),
   * one day of readings per InfluxDB request. Ready at once: no settle delay.
   */
  private async markReadings(from: number, to: number, receivedAfter: number | null): Promise<number> {
    const measurements = Object.values(MEASUREMENTS).map(q).join(', ');
    let n = 0;
    const ready = this.now() - this.opts.settleMs;
    // Each server for the pilots it holds: readings of a pilot moved elsewhere are not its data any more.
    for (const server of this.deps.query.byServer([...this.pilots])) {
      const pilots = new Set(server.pilots);
      for (let day = Math.floor(from / DAY_MS) * DAY_MS; day < to; day += DAY_MS) {
        const recv = receivedAfter === null ? '' : ` AND ${q('recv_ms')} > ${receivedAfter}`;
        const rows = await server.query.rows(
          `SELECT count(${q('seq')}) FROM ${measurements} WHERE time >= ${Math.max(from, day)}ms AND time < ${Math.min(to, day + DAY_MS)}ms${recv} GROUP BY time(1h), ${q('pilot')}, ${q('source')} fill(none)`,
        );
        for (const r of rows) {
          const pilot = str(r['pilot']);
          const source = str(r['source']);
          if (pilot === null || source === null || !pilots.has(pilot) || (num(r['count']) ?? 0) <= 0) continue;
          if (!this.marks.has(keyOf(pilot, source, r.time))) n++;
          this.mark(pilot, source, r.time, this.now(), ready);
        }
      }
    }
    return n;
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .then(() => undefined)
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, this.opts.tickMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /**
   * One tick: recomputes up to maxHoursPerTick settled hours (oldest first), the hours after them
   * whose edge changed, and their days; then saves the watermark. Returns the hours recomputed.
   * A failure is logged and counted; the marks stay for the next tick.
   */
  async tick(): Promise<number> {
    if (!this.initialised) {
      try {
        await this.init();
      } catch (err) {
        this.failed(err, 'rollups: could not read the progress from InfluxDB; retrying next tick');
        return 0;
      }
    }
    const now = this.now();
    // Copies: ingest updates a held mark's lastAt in place, and that is how a mark marked again
    // while its hour was computed is told apart below.
    const ready = [...this.marks.values()]
      .filter((m) => now - m.lastAt >= this.opts.settleMs)
      .sort((a, b) => a.hour - b.hour)
      .slice(0, this.opts.maxHoursPerTick)
      .map((m) => ({ ...m }));
    try {
      const days = new Map<string, { pilot: string; source: string; day: number }>();
      const done = new Set<string>();
      const recompute = async (pilot: string, source: string, hour: number): Promise<void> => {
        const key = keyOf(pilot, source, hour);
        if (done.has(key)) return;
        done.add(key);
        const r = await computeHourRollup(this.deps.query, pilot, source, hour);
        await this.writerOf(pilot).write([rollupLine(r, this.now())]);
        this.computed?.inc({ period: 'hour' });
        const day = Math.floor(hour / DAY_MS) * DAY_MS;
        days.set(keyOf(pilot, source, day), { pilot, source, day });
      };
      for (const m of ready) {
        await recompute(m.pilot, m.source, m.hour);
        const next = await nextStateHour(this.deps.query, m.pilot, m.source, m.hour);
        // A marked next hour is recomputed in its own turn, with its own settle delay.
        if (next !== null && !this.marks.has(keyOf(m.pilot, m.source, next))) await recompute(m.pilot, m.source, next);
      }
      for (const { pilot, source, day } of days.values()) await this.recomputeDay(pilot, source, day);
      // Only now, with their days written, are the hours done (a failure above leaves every mark for
      // the next tick); a mark that got new readings meanwhile stays for another turn.
      for (const m of ready) {
        const key = keyOf(m.pilot, m.source, m.hour);
        if (this.marks.get(key)?.lastAt === m.lastAt) this.marks.delete(key);
      }
      await this.saveProgress();
    } catch (err) {
      this.failed(err, 'rollup tick failed; retrying next tick', { hours: ready.length });
      return ready.length;
    }
    if (this.failing) this.log.info('rollups: InfluxDB answers again; recomputing');
    this.failing = false;
    return ready.length;
  }

  /** Counts every failure; logs the first of a run at warn (a tick every few seconds while InfluxDB is down), the rest at debug. */
  private failed(err: unknown, msg: string, ctx: Record<string, unknown> = {}): void {
    const reason = reasonOf(err);
    this.failures?.inc({ reason });
    const line = { err: (err as Error).message, reason, ...ctx };
    if (this.failing) this.log.debug(line, msg);
    else this.log.warn(line, msg);
    this.failing = true;
  }

  private writerOf(pilot: string): RollupWriter {
    return this.deps.writerOf?.(pilot) ?? this.deps.writer;
  }

  private async recomputeDay(pilot: string, source: string, day: number): Promise<void> {
    const rows = await this.deps.query
      .forPilot(pilot)
      .rows(
        `SELECT * FROM ${q(ROLLUP_MEASUREMENTS.hour)} WHERE ${q('pilot')} = ${quoteLiteral(pilot)} AND ${q('source')} = ${quoteLiteral(source)} AND time >= ${day}ms AND time < ${day + DAY_MS}ms`,
      );
    const hours = rows.map((r) => rollupOfRow(r, 'hour')).filter((r): r is SourceRollup => r !== null);
    await this.writerOf(pilot).write([rollupLine(dayOfHours(pilot, source, day, hours), this.now())]);
    this.computed?.inc({ period: 'day' });
  }

  /** Saves the watermark: every reading received before the oldest pending mark (less the margin) is in the rollups. */
  private async saveProgress(): Promise<void> {
    if (this.backfilling) {
      if (this.marks.size > 0) return;
      this.backfilling = false;
    }
    let oldest = this.now();
    for (const m of this.marks.values()) oldest = Math.min(oldest, m.firstAt);
    const watermark = oldest - this.opts.watermarkMarginMs;
    if (this.savedWatermark !== null && watermark <= this.savedWatermark) return;
    const fields: Record<keyof typeof ROLLUP_PROGRESS_FIELDS, number> = { watermark_ms: watermark, since_ms: this.sinceMs ?? 0 };
    const line = `${ROLLUP_MEASUREMENTS.progress},instance=${escapeKey(this.opts.instance)} ${Object.entries(fields)
      .map(([k, v]) => `${k}=${Math.trunc(v)}i`)
      .join(',')} 0`;
    await this.deps.writer.write([line]);
    this.savedWatermark = watermark;
  }
}
