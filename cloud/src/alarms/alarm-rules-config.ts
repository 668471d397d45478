/**
 * A pilot's `alarms` section (proto alarm-rules-schema.ts) turned into what the engine evaluates:
 * one SlotRule per enabled rule with its timings in ms, message and unit, and the thresholds of the
 * rules that measure something, in the units the readings carry.
 */
import type { Pilot, PilotAlarms } from '@michi/proto';
import type { AlarmRule } from './alarm-change.js';
import type { SlotRule } from './alarm-lifecycle.js';
import { GeofenceIndex } from './geofence-index.js';

const S = 1_000;

const round = (v: number | null, digits = 0): string => (v === null ? '?' : v.toFixed(digits));

/** Message and unit of each rule: `value` is the alarm's worst value. */
const WORDING: Record<
  AlarmRule,
  { unit: string | null; lowerIsWorse: boolean; describe: (source: string, value: number | null) => string }
> = {
  'minimal-risk': { unit: null, lowerIsWorse: false, describe: (s) => `vehicle ${s} is in a minimal-risk condition` },
  'emergency-stop': { unit: null, lowerIsWorse: false, describe: (s) => `vehicle ${s} made an emergency stop` },
  takeover: { unit: null, lowerIsWorse: false, describe: (s) => `the safety driver of ${s} took over` },
  'remote-intervention': { unit: null, lowerIsWorse: false, describe: (s) => `the remote monitoring center intervened on ${s}` },
  'source-silent': { unit: 's', lowerIsWorse: false, describe: (s, v) => `no reading from ${s} for ${round(v)} s` },
  'gateway-silent': { unit: 's', lowerIsWorse: false, describe: (s, v) => `no batch from gateway ${s} for ${round(v)} s` },
  'gateway-backlog': {
    unit: 's',
    lowerIsWorse: false,
    describe: (s, v) => `gateway ${s} is draining a backlog: its readings arrive up to ${round(v)} s late`,
  },
  'link-degraded': { unit: 'dBm', lowerIsWorse: true, describe: (s, v) => `5G link of ${s} degraded (worst RSRP ${round(v, 1)} dBm)` },
  'outside-operational-area': { unit: null, lowerIsWorse: false, describe: (s) => `vehicle ${s} is outside every operational area` },
  'in-no-go-zone': { unit: null, lowerIsWorse: false, describe: (s) => `vehicle ${s} is inside a no-go zone` },
  'over-slow-zone-limit': {
    unit: 'm/s',
    lowerIsWorse: false,
    describe: (s, v) => `vehicle ${s} is over a slow zone's speed limit (up to ${round(v === null ? null : v * 3.6)} km/h)`,
  },
  'low-battery': { unit: '%', lowerIsWorse: true, describe: (s, v) => `battery of ${s} is low (${round(v)} %)` },
};

/** Event rules, by EventType number (telemetry.proto). */
export const EVENT_RULES: ReadonlyMap<number, AlarmRule> = new Map([
  [1, 'takeover'],
  [3, 'emergency-stop'],
  [4, 'remote-intervention'],
] as const);

export const AUTONOMY_MODE_MINIMAL_RISK = 5;

export interface PilotRules {
  /** Enabled rules only. */
  slot: Partial<Record<AlarmRule, SlotRule>>;
  /** autoClearS of each event rule in ms; absent: stays until an operator clears it. */
  autoClearMs: Partial<Record<AlarmRule, number>>;
  geofences: GeofenceIndex;
  link: { rsrpRaise: number; rsrpClear: number; sinrRaise: number; sinrClear: number; rttRaise: number; rttClear: number };
  battery: { raise: number; clear: number };
  silenceMs: { vehicle: number; sensor: number; gateway: number };
  lagMs: number;
  escalateAfterMs: number;
  updateIntervalMs: number;
}

export function pilotRules(pilot: Pilot): PilotRules {
  const a: PilotAlarms = pilot.alarms;
  const r = a.rules;
  const slot: PilotRules['slot'] = {};
  const autoClearMs: PilotRules['autoClearMs'] = {};
  for (const rule of Object.keys(WORDING) as AlarmRule[]) {
    const c = r[rule];
    if (!c.enabled) continue;
    const pendingS = 'forS' in c ? c.forS : c.pendingS;
    slot[rule] = { rule, severity: c.severity, pendingMs: pendingS * S, keepFiringMs: c.keepFiringS * S, ...WORDING[rule] };
    if ('autoClearS' in c && c.autoClearS !== undefined) autoClearMs[rule] = c.autoClearS * S;
  }
  const l = r['link-degraded'];
  return {
    slot,
    autoClearMs,
    geofences: new GeofenceIndex(pilot.geofences),
    link: {
      rsrpRaise: l.rsrpRaiseDbm,
      rsrpClear: l.rsrpClearDbm,
      sinrRaise: l.sinrRaiseDb,
      sinrClear: l.sinrClearDb,
      rttRaise: l.rttRaiseMs,
      rttClear: l.rttClearMs,
    },
    battery: { raise: r['low-battery'].raisePct, clear: r['low-battery'].clearPct },
    silenceMs: {
      vehicle: r['source-silent'].vehicleS * S,
      sensor: r['source-silent'].sensorS * S,
      gateway: r['gateway-silent'].afterS * S,
    },
    lagMs: r['gateway-backlog'].lagS * S,
    escalateAfterMs: a.escalateAfterS * S,
    updateIntervalMs: a.updateIntervalS * S,
  };
}
