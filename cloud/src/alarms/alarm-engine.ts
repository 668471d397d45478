/**
 * The alarm engine: evaluates each pilot's rules on the readings ingest has validated (one call per
 * batch, synchronously, on ingest's path), checks silence, escalation and auto-clearing on a 1 s
 * tick, keeps at most one open alarm per (pilot, source, rule), stores every change (alarm-store.ts)
 * and hands it to its listeners. Operators acknowledge and clear alarms through it (the API).
 *
 * Readings are judged on source time, and only a reading newer than the newest of its source and
 * kind counts, so a resent batch raises nothing twice. A reading older than cloud now − lateAfterMs
 * is part of a backlog being drained: it may update or clear an alarm that is open, never raise one
 * (docs/alarms.md, "Source time and backlogs"). At start-up it clears the open alarms of sources
 * no longer in the seeds; hourly it prunes cleared alarms and old history.
 */
import type { Logger } from 'pino';
import { ErrorCodes, MichiError, type LinkSample, type MichiEvent, type Pilot, type VehicleState, type michi } from '@michi/proto';
import type { CloudMetrics } from '../metrics.js';
import type { GatewayIdentity } from '../pilot-directory.js';
import type { Alarm, AlarmChange, AlarmChangeKind, AlarmRule } from './alarm-change.js';
import { AlarmSlot, type ChangeSink, type SlotRule } from './alarm-lifecycle.js';
import { pilotRules, type PilotRules } from './alarm-rules-config.js';
import type { AlarmStore } from './alarm-store.js';
import { evaluateEvent, evaluateLink, evaluateState, type SourceAlarms } from './reading-rules.js';
import type { IngestObserver } from '../ingest-batch.js';
import { pruneHistoryInSteps } from './history-pruner.js';

export interface AlarmEngineOptions {
  /** A reading older than cloud now − this is part of a draining backlog (never raises). */
  lateAfterMs: number;
  tickIntervalMs: number;
  /** Cleared alarms stay in the alarms table this long (their changes stay in the history). */
  keepClearedMs: number;
  /** Changes older than this leave the history, except those of open alarms; absent: kept for ever. */
  keepHistoryMs?: number;
  /** Rows per delete when pruning the history (tests make it small). */
  historyPruneRows?: number;
}

export interface AlarmEngineDeps {
  store: AlarmStore;
  logger: Logger;
  metrics?: CloudMetrics;
  now?: () => number;
}

interface GatewayAlarms {
  readonly id: string;
  lastBatchMs: number;
  readonly silenceMs: number;
  readonly lat: number;
  readonly lon: number;
  readonly silent: AlarmSlot | undefined;
  readonly backlog: AlarmSlot | undefined;
}

interface PilotAlarmState {
  rules: PilotRules;
  sources: Map<string, SourceAlarms>;
  gateways: Map<string, GatewayAlarms>;
}

/** The rules whose slots take source time from readings of one kind (for the restart guard). */
const RULES_BY_KIND = {
  newestState: ['minimal-risk', 'outside-operational-area', 'in-no-go-zone', 'over-slow-zone-limit', 'low-battery'],
  newestLink: ['link-degraded'],
  newestEvent: ['emergency-stop', 'takeover', 'remote-intervention'],
} as const satisfies Record<string, readonly AlarmRule[]>;

const VEHICLE_RULES: readonly AlarmRule[] = [...RULES_BY_KIND.newestState, ...RULES_BY_KIND.newestLink, ...RULES_BY_KIND.newestEvent];

export type AlarmListener = (change: AlarmChange) => void;

/** How often cleared alarms and old history are pruned (and once at the first tick). */
const PRUNE_INTERVAL_MS = 60 * 60 * 1_000;

export class AlarmEngine implements IngestObserver, ChangeSink {
  readonly store: AlarmStore;
  private readonly opts: AlarmEngineOptions;
  private readonly log: Logger;
  private readonly metrics: CloudMetrics | undefined;
  private readonly now: () => number;
  private readonly pilots = new Map<string, PilotAlarmState>();
  /** Open alarms by id, and the slot holding each. */
  private readonly open = new Map<string, AlarmSlot>();
  private readonly listeners = new Set<AlarmListener>();
  private timer: NodeJS.Timeout | undefined;
  private nextPruneMs = 0;
  private historyPrune: Promise<void> | undefined;
  private readonly stopping = new AbortController();

  constructor(pilots: readonly Pilot[], opts: AlarmEngineOptions, deps: AlarmEngineDeps) {
    this.opts = opts;
    this.store = deps.store;
    this.log = deps.logger.child({ component: 'alarms' });
    this.metrics = deps.metrics;
    this.now = deps.now ?? Date.now;
    const start = this.now();
    for (const p of pilots) this.pilots.set(p.id, this.pilotState(p, start));
    this.restore(start);
  }

  /** Starts the tick (silence, escalation, auto-clear, pending 'updated' changes). */
  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.opts.tickIntervalMs);
    this.timer.unref();
  }

  onChange(listener: AlarmListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  observeBatch(gw: GatewayIdentity, recvMs: number, items: readonly michi.v1.Reading.$Properties[], valid: readonly number[]): void {
    const pilot = this.pilots.get(gw.pilot);
    if (pilot === undefined) return;
    const g = pilot.gateways.get(gw.gateway);
    if (g !== undefined) {
      g.lastBatchMs = recvMs;
      g.silent?.release(recvMs, recvMs);
    }
    const lateBefore = recvMs - this.opts.lateAfterMs;
    let newest = -Infinity;
    for (let i = 0; i < valid.length; i++) {
      const item = items[valid[i]!]!;
      // Decoded readings are in dictionary mode (protobufjs deletes the unset oneof members), where
      // each property read is a hash lookup: each member is read once.
      const state = item.state;
      const link = state ? undefined : item.link;
      const event = state || link ? undefined : item.event;
      const body = (state ?? link ?? event ?? item.sensor)!;
      const t = Number(body.ts_ms);
      // Every reading says how far behind its gateway is, resent or not: a backlog drains after live data.
      if (t > newest) newest = t;
      const src = pilot.sources.get(body.source_id!);
      if (src === undefined) continue;
      if (state) {
        if (t <= src.newestState) continue;
        src.newestState = t;
      } else if (link) {
        if (t <= src.newestLink) continue;
        src.newestLink = t;
      } else if (event) {
        // Two events of different types may share a millisecond: each event rule's slot drops its own repeats.
        if (t < src.newestEvent) continue;
        src.newestEvent = t;
      } else {
        if (t <= src.newestSensor) continue;
        src.newestSensor = t;
      }
      src.lastRecvMs = recvMs;
      src.gateway = gw.gateway;
      src.silent?.release(recvMs, recvMs);
      const late = t < lateBefore;
      if (state) evaluateState(src, state as VehicleState, t, late, recvMs);
      else if (link) evaluateLink(src, link as LinkSample, t, late, recvMs);
      else if (event) evaluateEvent(src, event as MichiEvent, t, late, recvMs);
    }
    // Released on the tick, lagS after the last batch behind: the edge sends live data first and
    // drains its backlog beside it, so a live batch in between does not mean it has caught up.
    const lag = recvMs - newest;
    if (g?.backlog && lag > pilot.rules.lagMs) g.backlog.hold(recvMs, lag / 1_000, g.lat, g.lon, false, recvMs);
  }

  /** Silence, auto-clear, escalation and unsaved updates, judged on cloud time; public for tests. */
  tick(now = this.now()): void {
    for (const pilot of this.pilots.values()) {
      for (const g of pilot.gateways.values()) {
        const silentFor = now - g.lastBatchMs;
        if (g.silent && silentFor >= g.silenceMs) g.silent.hold(now, silentFor / 1_000, g.lat, g.lon, false, now, false);
        if (g.backlog?.alarm && now - g.backlog.lastHoldMs >= pilot.rules.lagMs) g.backlog.release(now, now);
      }
      for (const src of pilot.sources.values()) {
        const slot = src.silent;
        if (slot === undefined) continue;
        const silentFor = now - src.lastRecvMs;
        if (silentFor < src.silenceMs) continue;
        // A source is silent on its own only while its gateway goes on sending: when the gateway has
        // been quiet as long, the gateway is the likelier cause, and its own alarm says so.
        const g = pilot.gateways.get(src.gateway);
        if (!slot.alarm && g !== undefined && now - g.lastBatchMs >= Math.min(src.silenceMs, g.silenceMs)) continue;
        slot.hold(now, silentFor / 1_000, NaN, NaN, false, now, false);
      }
    }
    for (const slot of [...this.open.values()]) {
      const rules = this.pilots.get(slot.pilot)?.rules;
      const autoClear = rules?.autoClearMs[slot.rule.rule];
      if (autoClear !== undefined && now - slot.lastHoldMs >= autoClear) {
        slot.clear('condition', now);
        continue;
      }
      if (rules) slot.escalate(rules.escalateAfterMs, now);
      if (now - slot.lastEmitMs >= (rules?.updateIntervalMs ?? 0)) slot.flush(now);
    }
    if (now >= this.nextPruneMs) {
      this.nextPruneMs = now + PRUNE_INTERVAL_MS;
      void this.prune(now);
    }
  }

  /**
   * Drops cleared alarms past keepClearedMs from the alarms table, and changes past keepHistoryMs
   * from the history in small deletes (resolves when those are done); the tick calls it at its
   * first run and hourly. Public for tests.
   */
  prune(now = this.now()): Promise<void> {
    try {
      const pruned = this.store.pruneCleared(now - this.opts.keepClearedMs);
      if (pruned > 0) this.log.info({ pruned }, 'cleared alarms pruned');
    } catch (err) {
      this.metrics?.alarmStoreFailures.inc({ reason: 'prune' });
      this.log.error({ err }, 'could not prune cleared alarms');
    }
    const keep = this.opts.keepHistoryMs;
    if (keep !== undefined && this.historyPrune === undefined) {
      this.historyPrune = pruneHistoryInSteps(this.store, now - keep, {
        rowsPerDelete: this.opts.historyPruneRows,
        signal: this.stopping.signal,
      })
        .then((pruned) => {
          if (pruned > 0) this.log.info({ pruned, olderThanMs: now - keep }, 'alarm history pruned');
        })
        .catch((err: unknown) => {
          this.metrics?.alarmStoreFailures.inc({ reason: 'prune' });
          this.log.error({ err }, 'could not prune the alarm history');
        })
        .finally(() => (this.historyPrune = undefined));
    }
    return this.historyPrune ?? Promise.resolve();
  }

  /** An operator has seen the alarm. Throws MICHI_ERR_NOT_FOUND or MICHI_ERR_ALARM_CLEARED. */
  acknowledge(id: string, by: string, comment: string | null = null): Alarm {
    const slot = this.openSlot(id);
    if (slot.alarm!.state === 'active') slot.acknowledge(by, comment, this.now());
    return structuredClone(slot.alarm!);
  }

  /** An operator clears the alarm (if its condition still holds, the next reading raises a new one). */
  clear(id: string, by: string): Alarm {
    const slot = this.openSlot(id);
    const alarm = slot.alarm!;
    slot.clear(by, this.now());
    return structuredClone(alarm);
  }

  /** Open alarms in memory: the same as store.listOpen but with counts not yet saved. */
  openAlarms(pilot: string): Alarm[] {
    return [...this.open.values()].filter((s) => s.pilot === pilot).map((s) => structuredClone(s.alarm!));
  }

  /** Stops the tick and saves unsaved counts; the store stays open (its owner closes it). */
  close(): void {
    this.stopping.abort();
    clearInterval(this.timer);
    this.timer = undefined;
    const now = this.now();
    for (const slot of [...this.open.values()]) slot.flush(now);
  }

  /** ChangeSink: every change of every slot passes here. */
  emit(kind: AlarmChangeKind, slot: AlarmSlot, now: number): void {
    const alarm = slot.alarm!;
    if (kind === 'raised') {
      this.open.set(alarm.id, slot);
      this.metrics?.alarmsOpen.inc({ severity: alarm.severity });
    } else if (kind === 'cleared') {
      this.open.delete(alarm.id);
      this.metrics?.alarmsOpen.dec({ severity: alarm.severity });
    }
    this.metrics?.alarmChanges.inc({ kind, rule: alarm.rule });
    let change: AlarmChange;
    try {
      change = this.store.commit(kind, now, alarm, slot.raisedAtMs);
    } catch (err) {
      // The alarm lives on in memory and its next change is stored; this one is lost for the history and the sinks.
      this.metrics?.alarmStoreFailures.inc({ reason: 'write' });
      this.log.error({ err, alarm: alarm.id, kind }, 'could not store an alarm change');
      return;
    }
    if (kind === 'raised') this.log.info({ pilot: alarm.pilot, source: alarm.source, rule: alarm.rule, alarm: alarm.id }, 'alarm raised');
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (err) {
        this.log.error({ err, alarm: alarm.id }, 'an alarm listener failed');
      }
    }
  }

  private openSlot(id: string): AlarmSlot {
    const slot = this.open.get(id);
    if (slot?.alarm) return slot;
    if (this.store.get(id)) throw new MichiError(ErrorCodes.ALARM_CLEARED, `alarm "${id}" is already cleared`, { alarm: id });
    throw new MichiError(ErrorCodes.NOT_FOUND, `no alarm "${id}"`, { alarm: id });
  }

  private pilotState(p: Pilot, start: number): PilotAlarmState {
    const rules = pilotRules(p);
    const slot = (source: string, type: Alarm['sourceType'], rule: AlarmRule): AlarmSlot | undefined => {
      const r = rules.slot[rule];
      return r && new AlarmSlot(p.id, source, type, r, this, rules.updateIntervalMs);
    };
    const gateways = new Map<string, GatewayAlarms>();
    for (const g of p.gateways) {
      gateways.set(g.id, {
        id: g.id,
        lastBatchMs: start,
        silenceMs: g.silenceS !== undefined ? g.silenceS * 1_000 : rules.silenceMs.gateway,
        lon: g.position[0],
        lat: g.position[1],
        silent: slot(g.id, 'gateway', 'gateway-silent'),
        backlog: slot(g.id, 'gateway', 'gateway-backlog'),
      });
    }
    const sources = new Map<string, SourceAlarms>();
    const add = (
      id: string,
      type: 'vehicle' | 'sensor',
      gateway: string,
      silenceS: number | undefined,
      ruleNames: readonly AlarmRule[],
    ) => {
      const slots: SourceAlarms['slots'] = {};
      for (const rule of [...ruleNames, 'source-silent' as const]) {
        const s = slot(id, type, rule);
        if (s) slots[rule] = s;
      }
      sources.set(id, {
        pilot: p.id,
        id,
        type,
        rules,
        slots,
        silent: slots['source-silent'],
        newestState: -Infinity,
        newestLink: -Infinity,
        newestSensor: -Infinity,
        newestEvent: -Infinity,
        // The silence clock starts with the engine: a restart does not raise every source at once.
        lastRecvMs: start,
        silenceMs: silenceS !== undefined ? silenceS * 1_000 : type === 'vehicle' ? rules.silenceMs.vehicle : rules.silenceMs.sensor,
        gateway,
      });
    };
    for (const v of p.vehicles) add(v.id, 'vehicle', v.gatewayId, v.silenceS, VEHICLE_RULES);
    // A sensor's modem may report its link and events too.
    for (const s of p.sensors) add(s.id, 'sensor', s.gatewayId, s.silenceS, [...RULES_BY_KIND.newestLink, ...RULES_BY_KIND.newestEvent]);
    return { rules, sources, gateways };
  }

  /** Puts back the alarms open when the cloud stopped, and the newest source time each rule had seen. */
  private restore(now: number): void {
    const removed: AlarmSlot[] = [];
    for (const { alarm, raisedAtMs } of this.store.loadOpen()) {
      const pilot = this.pilots.get(alarm.pilot);
      const gateway = alarm.sourceType === 'gateway' ? pilot?.gateways.get(alarm.source) : undefined;
      const source = alarm.sourceType === 'gateway' ? undefined : pilot?.sources.get(alarm.source);
      const slot = gateway ? (alarm.rule === 'gateway-silent' ? gateway.silent : gateway.backlog) : source?.slots[alarm.rule];
      // A rule since disabled: kept so an operator can clear it. A source since removed from the seeds: cleared below.
      const holder = slot ?? new AlarmSlot(alarm.pilot, alarm.source, alarm.sourceType, detachedRule(alarm), this, Infinity);
      holder.restore(alarm, raisedAtMs, now);
      this.open.set(alarm.id, holder);
      this.metrics?.alarmsOpen.inc({ severity: alarm.severity });
      if (gateway === undefined && source === undefined) removed.push(holder);
    }
    // Nothing will ever report for it again, so no condition could end it: an alarm nobody can act on
    // would stay in every operator's list. Cleared like any other (history, webhooks), with the reason.
    for (const slot of removed) slot.clear(SOURCE_REMOVED, now);
    if (removed.length > 0) {
      const pilots = [...new Set(removed.map((s) => s.pilot))];
      this.log.warn({ cleared: removed.length, pilots }, 'open alarms of sources no longer in the seeds cleared');
    }
    // Without this, the edge's resend of a batch the cloud did not acknowledge before it stopped would raise its events again.
    for (const [kind, rules] of Object.entries(RULES_BY_KIND) as [keyof typeof RULES_BY_KIND, readonly AlarmRule[]][]) {
      for (const row of this.store.lastSeen(rules)) {
        const src = this.pilots.get(row.pilot)?.sources.get(row.source);
        if (src && row.lastSeenTsMs > src[kind]) src[kind] = row.lastSeenTsMs;
        const slot = src?.slots[row.rule];
        if (slot && row.lastSeenTsMs > slot.newestTs) slot.newestTs = row.lastSeenTsMs;
      }
    }
    if (this.open.size > 0) this.log.info({ open: this.open.size }, 'open alarms restored');
  }
}

/** `clearedBy` of an alarm whose pilot, source or gateway is no longer in the seeds at start-up. */
export const SOURCE_REMOVED = 'source_removed';

function detachedRule(alarm: Alarm): SlotRule {
  return {
    rule: alarm.rule,
    severity: alarm.severity,
    pendingMs: 0,
    keepFiringMs: 0,
    lowerIsWorse: false,
    unit: alarm.unit,
    describe: () => alarm.message,
  };
}
