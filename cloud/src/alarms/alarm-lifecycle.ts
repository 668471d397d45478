/**
 * The lifecycle of the one alarm a (pilot, source, rule) may have open: pending (the condition holds,
 * not yet for `pendingMs`), raised, updated while it holds, cleared once it has been false for
 * `keepFiringMs`. One AlarmSlot per (pilot, source, rule), made once at start-up, so that feeding
 * it a reading allocates nothing unless a change is emitted. Times `t` are source time for the
 * reading rules and cloud time for the silence rules (docs/alarms.md); `now` is always cloud time.
 */
import { UNHANDLED_ALARM, type Alarm, type AlarmChangeKind, type AlarmRule, type AlarmSeverity } from './alarm-change.js';

/** What a slot needs to know of its rule; fixed at start-up from the pilot's `alarms` section. */
export interface SlotRule {
  rule: AlarmRule;
  severity: AlarmSeverity;
  pendingMs: number;
  keepFiringMs: number;
  /** `worstValue` is the lowest value seen (RSRP, battery) rather than the highest (speed, silence). */
  lowerIsWorse: boolean;
  unit: string | null;
  /** The alarm's message from its source and worst value. */
  describe(source: string, value: number | null): string;
}

/** Where a slot's changes go: the engine stores them, counts them and tells its listeners. */
export interface ChangeSink {
  emit(kind: AlarmChangeKind, slot: AlarmSlot, now: number): void;
}

export class AlarmSlot {
  /** Start of the current run of true readings before raising; NaN when not pending. */
  pendingSince = NaN;
  /** When the condition went false while open; NaN while it holds. */
  falseSince = NaN;
  /** The open alarm, undefined when there is none. */
  alarm: Alarm | undefined;
  /** Cloud time it was raised (escalation counts from it). */
  raisedAtMs = 0;
  /** Cloud time of the last change emitted for the open alarm. */
  lastEmitMs = 0;
  /** Matches since the last change emitted ('updated' flushes them on the tick). */
  unsaved = false;
  /** Event rules: the newest source time of an event this slot has taken (a repeat is ignored). */
  newestTs = -Infinity;
  /** Cloud time of the last match while open (autoClearS of the event rules counts from it). */
  lastHoldMs = 0;

  constructor(
    readonly pilot: string,
    readonly source: string,
    readonly sourceType: Alarm['sourceType'],
    readonly rule: SlotRule,
    private readonly sink: ChangeSink,
    private readonly updateIntervalMs: number,
  ) {}

  /**
   * The condition holds at `t` (value NaN: the rule measures nothing; lat NaN: position unknown).
   * `late` readings (a draining backlog) update an open alarm but never raise one; `count` false
   * for the silence rules, which hold on every tick rather than per reading.
   */
  hold(t: number, value: number, lat: number, lon: number, late: boolean, now: number, count = true): void {
    const a = this.alarm;
    if (a !== undefined) {
      this.lastHoldMs = now;
      if (this.falseSince === this.falseSince) {
        // True again within keep-firing: the same alarm, one more flap.
        a.flaps++;
        this.falseSince = NaN;
      }
      if (count) a.count++;
      if (t > a.lastSeenTsMs) a.lastSeenTsMs = t;
      if (value === value) {
        const worse = a.worstValue === null || (this.rule.lowerIsWorse ? value < a.worstValue : value > a.worstValue);
        if (worse) a.worstValue = value;
      }
      if (lat === lat) a.position = { lat, lon };
      this.unsaved = true;
      if (now - this.lastEmitMs >= this.updateIntervalMs) this.flush(now);
      return;
    }
    if (late) return;
    if (this.pendingSince !== this.pendingSince) this.pendingSince = t;
    if (t - this.pendingSince < this.rule.pendingMs) return;
    this.raise(t, value, lat, lon, now);
  }

  /** The condition does not hold at `t`. */
  release(t: number, now: number): void {
    this.pendingSince = NaN;
    if (this.alarm === undefined) return;
    if (this.falseSince !== this.falseSince) this.falseSince = t;
    if (t - this.falseSince >= this.rule.keepFiringMs) this.clear('condition', now);
  }

  /** Emits 'updated' when matches are unsaved. */
  flush(now: number): void {
    if (this.alarm === undefined || !this.unsaved) return;
    this.alarm.message = this.rule.describe(this.source, this.alarm.worstValue);
    this.unsaved = false;
    this.lastEmitMs = now;
    this.sink.emit('updated', this, now);
  }

  clear(by: string, now: number): void {
    const a = this.alarm;
    if (a === undefined) return;
    a.state = 'cleared';
    a.clearedAtMs = now;
    a.clearedBy = by;
    this.unsaved = false;
    this.sink.emit('cleared', this, now);
    this.alarm = undefined;
    this.falseSince = NaN;
    this.pendingSince = NaN;
  }

  acknowledge(by: string, comment: string | null, now: number): void {
    const a = this.alarm!;
    a.state = 'acknowledged';
    a.acknowledgedBy = by;
    a.acknowledgedAtMs = now;
    a.acknowledgeComment = comment;
    this.unsaved = false;
    this.lastEmitMs = now;
    this.sink.emit('acknowledged', this, now);
  }

  /** Escalates an active alarm every `afterMs` since it was raised or last escalated. */
  escalate(afterMs: number, now: number): void {
    const a = this.alarm;
    if (a === undefined || a.state !== 'active') return;
    if (now - (a.escalatedAtMs ?? this.raisedAtMs) < afterMs) return;
    a.escalations++;
    a.escalatedAtMs = now;
    this.unsaved = false;
    this.lastEmitMs = now;
    this.sink.emit('escalated', this, now);
  }

  /** Puts back an alarm that was open when the cloud stopped (alarm-store.ts loadOpen). */
  restore(alarm: Alarm, raisedAtMs: number, now: number): void {
    this.alarm = alarm;
    this.raisedAtMs = raisedAtMs;
    this.lastEmitMs = now;
    this.lastHoldMs = now;
  }

  private raise(t: number, value: number, lat: number, lon: number, now: number): void {
    const worst = value === value ? value : null;
    this.alarm = {
      id: `${this.pilot}.${this.source}.${this.rule.rule}.${t}`,
      pilot: this.pilot,
      source: this.source,
      sourceType: this.sourceType,
      rule: this.rule.rule,
      severity: this.rule.severity,
      state: 'active',
      raisedTsMs: t,
      lastSeenTsMs: t,
      count: 1,
      worstValue: worst,
      unit: this.rule.unit,
      flaps: 0,
      position: lat === lat ? { lat, lon } : null,
      message: this.rule.describe(this.source, worst),
      ...UNHANDLED_ALARM,
    };
    this.pendingSince = NaN;
    this.falseSince = NaN;
    this.raisedAtMs = now;
    this.lastEmitMs = now;
    this.lastHoldMs = now;
    this.unsaved = false;
    this.sink.emit('raised', this, now);
  }
}
