/**
 * Scripted conditions that michi's alarm rules react to, at set simulated times (`--trigger`), and
 * vehicles that go quiet now and then at random (`--quiet`): what tests and demos use to see every
 * alarm without waiting for chance. A trigger starts at `atS` and ends `durationS` later; the plan
 * tells the fleet when the next start or end is due and applies it to the vehicle concerned.
 */
import { UsageError } from './errors.js';
import { interiorPoint, pointJustOutside, type PolygonRings } from './geofence-geometry.js';
import { deriveSeed, mulberry32, type Random } from './prng.js';
import { haversineM, type LonLat } from './route-geometry.js';
import type { VehicleModel } from './vehicle-model.js';

export const TRIGGER_KINDS = [
  'minimal-risk',
  'emergency-stop',
  'takeover',
  'remote-intervention',
  'silent',
  'link-degraded',
  'low-battery',
  'leave-area',
  'no-go',
  'speeding',
] as const;
export type TriggerKind = (typeof TRIGGER_KINDS)[number];

export interface Trigger {
  kind: TriggerKind;
  /** Simulated seconds after the start. */
  atS: number;
  durationS: number;
  /** The pilot's first vehicle when unset. */
  vehicleId?: string;
}

/** A random vehicle stops publishing `perH` times an hour (a Poisson process over the fleet), for `durationS`. */
export interface QuietOptions {
  perH: number;
  durationS: number;
}

/** What the plan needs of a pilot: its vehicles' ids and its geofences. */
export interface TriggerPilot {
  id: string;
  vehicles: readonly { id: string }[];
  geofences?: readonly { id: string; kind: string; geometry: { coordinates: PolygonRings } }[];
}

/** What the plan acts on: the fleet's vehicles, and their silence, which the fleet owns. */
export interface TriggerTarget {
  readonly vehicles: readonly { readonly model: VehicleModel }[];
  /** +1: the vehicle stops publishing; -1: one reason less to stay silent. */
  silence(index: number, delta: 1 | -1): void;
}

/** Battery charge a low-battery trigger leaves, percent: under the 20 % at which michi raises its alarm by default. */
const LOW_BATTERY_PCT = 14;
/** Charge after the "charging" that ends a low-battery trigger, percent: over the 25 % that clears it. */
const CHARGED_BATTERY_PCT = 100;
/** How far beyond the operational area a leave-area trigger puts the vehicle, metres: clearly out, yet nearby. */
const OUTSIDE_MARGIN_M = 30;
/** A speeding vehicle drives at this multiple of its nominal speed. */
const SPEEDING_FACTOR = 2;

const SYNTAX = '<what>@<seconds>[+<duration s>][:<vehicle id>], e.g. takeover@30:bus-02 or silent@60+20';

/** Parses one `--trigger` value; `defaultDurationS` applies without a `+<s>`. Throws UsageError. */
export function parseTrigger(raw: string, defaultDurationS: number): Trigger {
  const m = /^([a-z-]+)@([^+:]*)(?:\+([^:]*))?(?::(.*))?$/.exec(raw.trim());
  if (!m) throw new UsageError(`--trigger: expected ${SYNTAX}, got ${JSON.stringify(raw)}`);
  const [, kind, at, duration, vehicleId] = m;
  if (!(TRIGGER_KINDS as readonly string[]).includes(kind!)) {
    throw new UsageError(`--trigger ${raw}: expected one of ${TRIGGER_KINDS.join(', ')} before the @, got ${JSON.stringify(kind)}`);
  }
  const atS = Number(at);
  if (at!.trim() === '' || !Number.isFinite(atS) || atS < 0) {
    throw new UsageError(`--trigger ${raw}: expected the simulated second it starts (a number ≥ 0) after the @, got ${JSON.stringify(at)}`);
  }
  const durationS = duration === undefined ? defaultDurationS : Number(duration);
  if (duration !== undefined && (duration.trim() === '' || !Number.isFinite(durationS) || durationS <= 0)) {
    throw new UsageError(`--trigger ${raw}: expected its duration in seconds (a number > 0) after the +, got ${JSON.stringify(duration)}`);
  }
  if (vehicleId !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(vehicleId)) {
    throw new UsageError(`--trigger ${raw}: expected a vehicle id after the :, got ${JSON.stringify(vehicleId)}`);
  }
  return { kind: kind as TriggerKind, atS, durationS, ...(vehicleId !== undefined ? { vehicleId } : {}) };
}

function areas(pilot: TriggerPilot, kind: string): PolygonRings[] {
  return (pilot.geofences ?? []).filter((g) => g.kind === kind).map((g) => g.geometry.coordinates);
}

/**
 * Triggers that set one thing of a vehicle (where it reports itself, its speed, battery or link) and
 * put it back at their end: two of one group overlapping on a vehicle would end each other early.
 */
const EXCLUSIVE: Partial<Record<TriggerKind, string>> = {
  'leave-area': 'position',
  'no-go': 'position',
  speeding: 'speed',
  'low-battery': 'battery',
  'link-degraded': 'link',
};

const label = (t: Trigger): string => `${t.kind}@${t.atS}+${t.durationS}`;

/**
 * Checks the triggers against the pilot: known vehicles, the geofences leave-area and no-go need,
 * and no two triggers of one EXCLUSIVE group overlapping on a vehicle. Throws UsageError.
 */
export function checkTriggers(pilot: TriggerPilot, triggers: readonly Trigger[]): void {
  triggers.forEach((t, i) => {
    const group = EXCLUSIVE[t.kind];
    const vehicle = t.vehicleId ?? pilot.vehicles[0]?.id;
    const other = triggers.find(
      (u, j) =>
        j < i &&
        EXCLUSIVE[u.kind] === group &&
        group !== undefined &&
        (u.vehicleId ?? pilot.vehicles[0]?.id) === vehicle &&
        u.atS < t.atS + t.durationS &&
        t.atS < u.atS + u.durationS,
    );
    if (other) {
      throw new UsageError(
        `--trigger ${label(other)} and ${label(t)} overlap on vehicle "${vehicle}": both set its ${group}; start one after the other ends, or shorten it with +<seconds>`,
      );
    }
  });
  for (const t of triggers) {
    if (t.vehicleId !== undefined && !pilot.vehicles.some((v) => v.id === t.vehicleId)) {
      throw new UsageError(
        `--trigger ${t.kind}@${t.atS}:${t.vehicleId}: pilot "${pilot.id}" has no vehicle "${t.vehicleId}"; its vehicles are ${pilot.vehicles.map((v) => v.id).join(', ')}`,
      );
    }
    if (t.kind === 'leave-area' && areas(pilot, 'operational').length === 0) {
      throw new UsageError(
        `--trigger leave-area: pilot "${pilot.id}" has no operational geofence to leave (kind "operational" in its seed)`,
      );
    }
    if (t.kind === 'no-go' && areas(pilot, 'no-go').length === 0) {
      throw new UsageError(
        `--trigger no-go: pilot "${pilot.id}" has no no-go geofence to enter (kind "no-go" in its seed); choose another pilot or trigger`,
      );
    }
  }
}

interface Action {
  atS: number;
  /** Order of starts and ends at one instant: ends first, so a trigger that follows another on the same vehicle wins. */
  order: number;
  apply: (target: TriggerTarget) => void;
}

export class TriggerPlan {
  private readonly actions: Action[] = [];
  private readonly quiet: QuietOptions | undefined;
  private readonly quietRng: Random;
  private nextQuietS = Infinity;
  private readonly pilot: TriggerPilot;

  constructor(pilot: TriggerPilot, triggers: readonly Trigger[], opts: { seed: number; quiet?: QuietOptions | undefined }) {
    checkTriggers(pilot, triggers);
    this.pilot = pilot;
    for (const t of triggers) {
      const index = t.vehicleId === undefined ? 0 : pilot.vehicles.findIndex((v) => v.id === t.vehicleId);
      this.schedule(t.kind, index, t.atS, t.durationS);
    }
    this.quiet = opts.quiet && opts.quiet.perH > 0 ? opts.quiet : undefined;
    // Its own stream: quiet spells leave every other random draw of the fleet as it was.
    this.quietRng = mulberry32(deriveSeed(opts.seed, `${pilot.id}/quiet`));
    if (this.quiet) this.nextQuietS = this.quietGapS();
  }

  /** Simulated time of the next start or end, Infinity when nothing is left. */
  nextAtS(): number {
    return Math.min(this.nextQuietS, this.actions[0]?.atS ?? Infinity);
  }

  /** Applies what is due at or before `nowS`, in time order. */
  applyDue(nowS: number, target: TriggerTarget): void {
    while (this.nextQuietS <= nowS) {
      const index = Math.floor(this.quietRng.next() * this.pilot.vehicles.length);
      this.schedule('silent', index, this.nextQuietS, this.quiet!.durationS);
      this.nextQuietS += this.quietGapS();
    }
    while (this.actions.length > 0 && this.actions[0]!.atS <= nowS) this.actions.shift()!.apply(target);
  }

  /** Exponential gaps between quiet spells: a Poisson process whatever the step sizes of the run. */
  private quietGapS(): number {
    return (-Math.log(1 - this.quietRng.next()) * 3600) / this.quiet!.perH;
  }

  private schedule(kind: TriggerKind, index: number, atS: number, durationS: number): void {
    const on = (apply: (model: VehicleModel, target: TriggerTarget) => void): Action => ({
      atS,
      order: 1,
      apply: (target) => apply(target.vehicles[index]!.model, target),
    });
    const off = (apply: (model: VehicleModel, target: TriggerTarget) => void): Action => ({
      atS: atS + durationS,
      order: 0,
      apply: (target) => apply(target.vehicles[index]!.model, target),
    });
    const pair = ((): [Action, Action?] => {
      switch (kind) {
        case 'minimal-risk':
        case 'emergency-stop':
          // One intervention for both rules: the emergency stop (the event) leaves the vehicle in MINIMAL_RISK (the mode).
          return [on((m) => m.intervene('emergency-stop', durationS))];
        case 'takeover':
        case 'remote-intervention':
          return [on((m) => m.intervene(kind, durationS))];
        case 'silent':
          return [on((_, t) => t.silence(index, 1)), off((_, t) => t.silence(index, -1))];
        case 'link-degraded':
          return [on((m) => m.degradeLink(true)), off((m) => m.degradeLink(false))];
        case 'low-battery':
          return [on((m) => m.setBatteryPct(LOW_BATTERY_PCT)), off((m) => m.setBatteryPct(CHARGED_BATTERY_PCT))];
        case 'speeding':
          return [on((m) => m.setSpeedFactor(SPEEDING_FACTOR)), off((m) => m.setSpeedFactor(1))];
        case 'leave-area':
          return [on((m) => m.showAt(this.outsidePoint(m.routePosition))), off((m) => m.showAt(undefined))];
        case 'no-go':
          return [on((m) => m.showAt(this.noGoPoint(m.routePosition))), off((m) => m.showAt(undefined))];
      }
    })();
    for (const a of pair) if (a) this.actions.push(a);
    this.actions.sort((a, b) => a.atS - b.atS || a.order - b.order);
  }

  /** Just outside the operational area, nearest to where the vehicle is. */
  private outsidePoint(from: LonLat): LonLat {
    const p = pointJustOutside(areas(this.pilot, 'operational'), from, OUTSIDE_MARGIN_M);
    if (!p) throw new UsageError(`--trigger leave-area: pilot "${this.pilot.id}" has no point outside its operational geofences`);
    return p;
  }

  /** The centroid of the no-go zone nearest to the vehicle (by its centroid). */
  private noGoPoint(from: LonLat): LonLat {
    const points = areas(this.pilot, 'no-go').map(interiorPoint);
    return points.reduce((a, b) => (haversineM(b, from) < haversineM(a, from) ? b : a));
  }
}
