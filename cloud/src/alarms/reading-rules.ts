/**
 * The rules judged on each reading, by family: a vehicle's state (mode, geofences, battery), its 5G
 * link samples (thresholds with hysteresis) and its events. Each feeds the source's slots with
 * "holds" or "does not hold" at the reading's source time; the slots decide about pending,
 * keep-firing and changes. Called per new reading on ingest's path: no allocation, no I/O.
 */
import type { LinkSample, MichiEvent, VehicleState } from '@michi/proto';
import type { AlarmRule } from './alarm-change.js';
import type { AlarmSlot } from './alarm-lifecycle.js';
import { AUTONOMY_MODE_MINIMAL_RISK, EVENT_RULES, type PilotRules } from './alarm-rules-config.js';

/** What the engine keeps per vehicle or sensor of a pilot. */
export interface SourceAlarms {
  readonly pilot: string;
  readonly id: string;
  readonly type: 'vehicle' | 'sensor';
  readonly rules: PilotRules;
  /** Slots of the enabled rules that apply to this source. */
  readonly slots: Partial<Record<AlarmRule, AlarmSlot>>;
  /** slots['source-silent'], read on every reading. */
  readonly silent: AlarmSlot | undefined;
  /** Newest source time evaluated, per kind: a reading not newer is ignored (a resend raises nothing twice). */
  newestState: number;
  newestLink: number;
  newestSensor: number;
  newestEvent: number;
  /** Cloud time of the last new reading. */
  lastRecvMs: number;
  readonly silenceMs: number;
  /** The gateway that relayed its last reading (its seeded gateway until then). */
  gateway: string;
}

/** A number the reading may leave out: NaN when absent, so that every comparison with it is false. */
function opt(v: number | null | undefined): number {
  return v === null || v === undefined ? NaN : v;
}

export function evaluateState(src: SourceAlarms, s: VehicleState, t: number, late: boolean, now: number): void {
  const { slots, rules } = src;
  const p = s.position;
  const lat = p ? (p.lat ?? 0) : NaN;
  const lon = p ? (p.lon ?? 0) : NaN;
  const mr = slots['minimal-risk'];
  if (mr) {
    if (s.mode === AUTONOMY_MODE_MINIMAL_RISK) mr.hold(t, NaN, lat, lon, late, now);
    else mr.release(t, now);
  }
  if (p) {
    const out = slots['outside-operational-area'];
    if (out) {
      if (rules.geofences.outsideOperational(lon, lat)) out.hold(t, NaN, lat, lon, late, now);
      else out.release(t, now);
    }
    const noGo = slots['in-no-go-zone'];
    if (noGo) {
      if (rules.geofences.noGoAt(lon, lat) !== undefined) noGo.hold(t, NaN, lat, lon, late, now);
      else noGo.release(t, now);
    }
    const slow = slots['over-slow-zone-limit'];
    if (slow) {
      const speed = s.speed_mps ?? 0;
      if (speed > rules.geofences.slowLimitAt(lon, lat)) slow.hold(t, speed, lat, lon, late, now);
      else slow.release(t, now);
    }
  }
  const battery = slots['low-battery'];
  const pct = opt(s.battery_pct);
  if (battery && pct === pct) {
    // Hysteresis: raised below raisePct, held until above clearPct.
    const holds = battery.alarm ? pct <= rules.battery.clear : pct < rules.battery.raise;
    if (holds) battery.hold(t, pct, lat, lon, late, now);
    else battery.release(t, now);
  }
}

export function evaluateLink(src: SourceAlarms, l: LinkSample, t: number, late: boolean, now: number): void {
  const slot = src.slots['link-degraded'];
  if (!slot) return;
  // RSRP 0 is "not measured" (telemetry.proto); absent figures are not judged at all.
  const rsrp = l.rsrp_dbm ? l.rsrp_dbm : NaN;
  const sinr = opt(l.sinr_db);
  const rtt = opt(l.rtt_ms);
  if (rsrp !== rsrp && sinr !== sinr && rtt !== rtt) return;
  const th = src.rules.link;
  const holds = slot.alarm
    ? rsrp < th.rsrpClear || sinr < th.sinrClear || rtt > th.rttClear
    : rsrp < th.rsrpRaise || sinr < th.sinrRaise || rtt > th.rttRaise;
  if (holds) {
    const p = l.position;
    slot.hold(t, rsrp, p ? (p.lat ?? 0) : NaN, p ? (p.lon ?? 0) : NaN, late, now);
  } else slot.release(t, now);
}

export function evaluateEvent(src: SourceAlarms, e: MichiEvent, t: number, late: boolean, now: number): void {
  const rule = EVENT_RULES.get(e.type);
  const slot = rule && src.slots[rule];
  if (!slot || t <= slot.newestTs) return;
  slot.newestTs = t;
  const p = e.position;
  slot.hold(t, NaN, p ? (p.lat ?? 0) : NaN, p ? (p.lon ?? 0) : NaN, late, now);
}
