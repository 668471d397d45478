/**
 * The operating-state recorder: an ingest observer (ingest-batch.ts) that turns each batch's valid
 * readings into record entries: mode changes derived from VehicleState.mode (mode-timeline.ts) and
 * the events a Level-4 operator must keep (takeover, disengagement, emergency stop, remote
 * intervention), each with source time, cloud receive time, gateway, the reading's identity and a
 * position. Entries of one batch are appended in one transaction and their chain heads written to
 * the heads file before ingest goes on, so an acknowledged reading's entry is on disk.
 *
 * Failures never stop ingest (InfluxDB still gets the readings): entries that could not be stored
 * are kept in memory and retried with the next batch and on the flush tick, counted and logged.
 */
import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import { michi, type MichiEvent, type Pilot, type VehicleState } from '@michi/proto';
import type { IngestObserver } from '../ingest-batch.js';
import type { CloudMetrics } from '../metrics.js';
import type { GatewayIdentity } from '../pilot-directory.js';
import type { ChainHead, HeadFile } from './head-file.js';
import { observeMode, trimRuns, type ModeRun } from './mode-timeline.js';
import { RECORDED_EVENTS, degreesE7, type EntryDraft, type EntryPosition } from './record-entry.js';
import type { RecordStore, StoredEntry, VehicleModes } from './record-store.js';

export interface OperatingRecorderOptions {
  /** Entries received longer ago than this are removed (with a retention checkpoint). */
  retentionMs: number;
  /** Ingest refuses readings older than this (timestampWindow.pastMs): older mode runs are forgotten. */
  lateHorizonMs: number;
  /** How often mode runs that only grew are saved, and entries that failed are retried. */
  flushIntervalMs: number;
  /** How often retention runs (and once at start). */
  retentionIntervalMs: number;
}

export interface OperatingRecorderDeps {
  store: RecordStore;
  heads: HeadFile;
  logger: Logger;
  metrics?: CloudMetrics;
  now?: () => number;
}

interface VehicleRecord {
  readonly pilot: string;
  readonly vehicle: string;
  runs: ModeRun[];
  /** Newest source time of a state or recorded event: an older one is late. */
  newestTs: number;
  /**
   * Position of the newest state, in degrees (NaN before one): numbers, not an object, since a new
   * object per state would outlive V8's young generation and cost garbage collection on ingest's path.
   */
  lat: number;
  lon: number;
  /** Runs grew since they were saved. */
  dirty: boolean;
}

/** Entries kept for a retry while the database fails; beyond this the oldest are dropped (and counted). */
const MAX_PENDING = 10_000;

/** An enum's names without their prefix, computed once: this runs for every state ingested. */
const enumNames = (values: object, prefix: string) => {
  const names = new Map<number, string>();
  for (const [name, n] of Object.entries(values)) if (typeof n === 'number') names.set(n, name.replace(prefix, ''));
  return (n: number | null | undefined): string => names.get(n ?? 0) ?? String(n ?? 0);
};
const modeName = enumNames(michi.v1.AutonomyMode, 'AUTONOMY_MODE_');
const eventTypeName = enumNames(michi.v1.EventType, 'EVENT_TYPE_');
const causeName = enumNames(michi.v1.EventCause, 'EVENT_CAUSE_');
const severityName = enumNames(michi.v1.Severity, 'SEVERITY_');

export class OperatingRecorder implements IngestObserver {
  readonly store: RecordStore;
  private readonly heads: HeadFile;
  private readonly opts: OperatingRecorderOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  /** By pilot, then vehicle id. */
  private readonly vehicles = new Map<string, Map<string, VehicleRecord>>();
  private pending: EntryDraft[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private readonly entriesTotal: Counter<'kind'> | undefined;
  private readonly failures: Counter<'reason'> | undefined;

  constructor(pilots: readonly Pilot[], opts: OperatingRecorderOptions, deps: OperatingRecorderDeps) {
    this.store = deps.store;
    this.heads = deps.heads;
    this.opts = opts;
    this.log = deps.logger.child({ component: 'records' });
    this.now = deps.now ?? Date.now;
    const registers = deps.metrics ? [deps.metrics.registry] : [];
    if (deps.metrics) {
      this.entriesTotal = new Counter({
        name: 'michi_cloud_record_entries_total',
        help: 'Entries appended to the operating-state record, by kind.',
        labelNames: ['kind'],
        registers,
      });
      this.failures = new Counter({
        name: 'michi_cloud_record_failures_total',
        help: 'Operating-state record failures, by reason: write (retried), heads, retention, dropped (pending entries over the limit, lost).',
        labelNames: ['reason'],
        registers,
      });
    }
    for (const p of pilots) {
      const byId = new Map<string, VehicleRecord>();
      for (const v of p.vehicles)
        byId.set(v.id, { pilot: p.id, vehicle: v.id, runs: [], newestTs: -Infinity, lat: NaN, lon: NaN, dirty: false });
      this.vehicles.set(p.id, byId);
    }
    for (const m of this.store.loadModes()) {
      const v = this.vehicles.get(m.pilot)?.get(m.vehicle);
      if (v === undefined) continue;
      v.runs = m.runs;
      v.newestTs = m.runs.at(-1)?.toTs ?? -Infinity;
    }
  }

  /** Starts the flush and retention ticks; retention runs once now. */
  start(): void {
    this.flushTimer ??= setInterval(() => this.flush(), this.opts.flushIntervalMs);
    this.flushTimer.unref();
    this.retentionTimer ??= setInterval(() => this.applyRetention(), this.opts.retentionIntervalMs);
    this.retentionTimer.unref();
    this.applyRetention();
  }

  observeBatch(gw: GatewayIdentity, recvMs: number, items: readonly michi.v1.Reading.$Properties[], valid: readonly number[]): void {
    const byId = this.vehicles.get(gw.pilot);
    if (byId === undefined) return;
    const drafts: EntryDraft[] = [];
    const changed = new Set<VehicleRecord>();
    for (const index of valid) {
      const item = items[index]!;
      const state = item.state;
      const event = state ? undefined : item.event;
      if (!state && !event) continue;
      const body = (state ?? event)!;
      const v = byId.get(body.source_id!);
      if (v === undefined) continue;
      const t = Number(body.ts_ms);
      const late = t < v.newestTs;
      if (state) this.observeState(v, state as VehicleState, t, late, gw.gateway, recvMs, drafts, changed);
      else this.observeEvent(v, event as MichiEvent, t, late, gw.gateway, recvMs, drafts);
    }
    if (drafts.length > 0 || changed.size > 0 || this.pending.length > 0) this.commit(drafts, [...changed]);
  }

  private observeState(
    v: VehicleRecord,
    s: VehicleState,
    t: number,
    late: boolean,
    gateway: string,
    recvMs: number,
    drafts: EntryDraft[],
    changed: Set<VehicleRecord>,
  ): void {
    const p = s.position;
    if (t >= v.newestTs) {
      v.newestTs = t;
      if (p) {
        v.lat = p.lat ?? 0;
        v.lon = p.lon ?? 0;
      }
    }
    const { change, boundaries } = observeMode(v.runs, t, modeName(s.mode));
    if (change === 'extended') v.dirty = true;
    else if (change === 'structure') changed.add(v);
    const position = p && boundaries.length > 0 ? { latE7: degreesE7(p.lat ?? 0), lonE7: degreesE7(p.lon ?? 0) } : undefined;
    for (const b of boundaries) {
      // The second boundary of a split is at another observation's time, whose position is not kept.
      const own = b.tsMs === t;
      drafts.push({
        pilot: v.pilot,
        vehicle: v.vehicle,
        kind: 'mode-change',
        sourceTsMs: b.tsMs,
        recvMs,
        gateway,
        reading: own ? { kind: 'state', seq: String(s.seq ?? 0) } : null,
        position: own && position ? { ...position, from: 'reading' } : null,
        late: late || !own,
        data: { fromMode: b.fromMode, fromTsMs: b.fromTsMs, toMode: b.toMode },
      });
    }
  }

  private observeEvent(
    v: VehicleRecord,
    e: MichiEvent,
    t: number,
    late: boolean,
    gateway: string,
    recvMs: number,
    drafts: EntryDraft[],
  ): void {
    const type = eventTypeName(e.type);
    const kind = RECORDED_EVENTS[type as keyof typeof RECORDED_EVENTS];
    if (kind === undefined) return;
    if (t > v.newestTs) v.newestTs = t;
    const p = e.position;
    let position: EntryPosition | null = null;
    if (p) position = { latE7: degreesE7(p.lat ?? 0), lonE7: degreesE7(p.lon ?? 0), from: 'reading' };
    else if (v.lat === v.lat) position = { latE7: degreesE7(v.lat), lonE7: degreesE7(v.lon), from: 'latest-state' };
    drafts.push({
      pilot: v.pilot,
      vehicle: v.vehicle,
      kind,
      sourceTsMs: t,
      recvMs,
      gateway,
      reading: { kind: 'event', seq: String(e.seq ?? 0) },
      position,
      late,
      data: { type, cause: causeName(e.cause), severity: severityName(e.severity), detail: e.detail ?? '', durationMs: e.duration_ms ?? 0 },
    });
  }

  private commit(drafts: EntryDraft[], changed: VehicleRecord[]): void {
    const all = this.pending.length > 0 ? [...this.pending, ...drafts] : drafts;
    let appended: StoredEntry[];
    try {
      appended = this.store.append(all, changed.map(modesOf));
    } catch (err) {
      this.failures?.inc({ reason: 'write' });
      this.log.error({ err, entries: all.length }, 'could not append to the operating-state record; kept in memory to retry');
      this.pending = all;
      const over = this.pending.length - MAX_PENDING;
      if (over > 0) {
        this.failures?.inc({ reason: 'dropped' }, over);
        this.log.error({ dropped: over }, 'operating-state record entries lost: the database has failed for too long');
        this.pending = this.pending.slice(over);
      }
      return;
    }
    this.pending = [];
    for (const v of changed) v.dirty = false;
    this.written(appended);
  }

  /** Counts the appended entries and writes the heads of their chains. */
  private written(appended: readonly StoredEntry[]): void {
    if (appended.length === 0) return;
    const heads = new Map<string, ChainHead>();
    const atMs = this.now();
    for (const { entry, hash } of appended) {
      this.entriesTotal?.inc({ kind: entry.kind });
      heads.set(`${entry.pilot}\u0000${entry.vehicle}`, { atMs, pilot: entry.pilot, vehicle: entry.vehicle, n: entry.n, hash });
    }
    try {
      this.heads.append([...heads.values()]);
    } catch (err) {
      // The entries are stored; the next head of the chain will cover them.
      this.failures?.inc({ reason: 'heads' });
      this.log.error({ err, file: this.heads.file }, 'could not write the record heads file');
    }
  }

  /** Saves runs that only grew, and retries entries that failed; public for tests and close(). */
  flush(): void {
    const horizon = this.now() - this.opts.lateHorizonMs;
    const dirty: VehicleRecord[] = [];
    for (const byId of this.vehicles.values()) {
      for (const v of byId.values()) {
        if (trimRuns(v.runs, horizon)) v.dirty = true;
        if (v.dirty) dirty.push(v);
      }
    }
    if (dirty.length > 0 || this.pending.length > 0) this.commit([], dirty);
  }

  /** Removes entries received more than retentionMs ago from the start of each chain; public for tests. */
  applyRetention(now = this.now()): StoredEntry[] {
    let appended: StoredEntry[] = [];
    try {
      appended = this.store.applyRetention(now - this.opts.retentionMs, now);
      this.written(appended);
      // Hourly, whether or not anything was removed: the file grows by a line per chain per appending batch.
      this.heads.compact();
      if (appended.length > 0) this.log.info({ chains: appended.length }, 'operating-state record: entries past retention removed');
    } catch (err) {
      this.failures?.inc({ reason: 'retention' });
      this.log.error({ err }, 'operating-state record: retention failed');
    }
    return appended;
  }

  /** Stops the ticks, saves what is unsaved, and closes the database and the heads file. */
  close(): void {
    if (!this.store.db.open) return;
    clearInterval(this.flushTimer);
    clearInterval(this.retentionTimer);
    this.flushTimer = this.retentionTimer = undefined;
    this.flush();
    this.store.close();
    this.heads.close();
  }
}

function modesOf(v: VehicleRecord): VehicleModes {
  return { pilot: v.pilot, vehicle: v.vehicle, runs: v.runs };
}
