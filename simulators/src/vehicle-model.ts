/**
 * One simulated vehicle: drives its route at up to its nominal speed within its acceleration
 * limits, brakes for and dwells at stops, counts its odometer, drains its battery, and reports
 * michi.v1 VehicleState and LinkSample bodies. Deterministic: all noise comes from the Random it
 * is given, so the same seed and the same sequence of steps give the same readings.
 *
 * Who drives comes from its AutonomyModel (autonomy-model.ts): in a minimal-risk condition the
 * vehicle brakes hard and holds, waiting for a remote assist it slows to a halt, with a safety or
 * remote driver it drives a little below its cruise speed. Interventions and link losses become
 * pending `event` bodies, which the fleet stamps and numbers (`takeEvents`).
 */
import { v1, type michi } from '@michi/proto';
import { type AutonomyModel, type AutonomyEvent, type ForcedIntervention } from './autonomy-model.js';
import type { LinkModel } from './link-model.js';
import type { Random } from './prng.js';
import type { LonLat, RouteGeometry, RoutePoint } from './route-geometry.js';

export type VehicleKind = 'bus' | 'delivery-robot' | 'car' | 'shuttle';

/** How a kind of vehicle drives and what it carries. */
export interface KindProfile {
  accelMps2: number;
  decelMps2: number;
  /** Mean dwell at a stop (and at the turnaround of an out-and-back route), seconds. */
  dwellS: number;
  /** Battery used per kilometre driven, percent. */
  drainPctPerKm: number;
  /** Battery used per hour standing (computers, air conditioning), percent. */
  idleDrainPctPerH: number;
  /** Odometer reading at the start of the simulation, km (drawn between these). */
  initialOdometerKm: readonly [number, number];
  /** 1-sigma horizontal accuracy of the GNSS fix it reports (RTK on buses), metres. */
  gnssAccuracyM: number;
  /** Whether it has passenger doors (reported as a VSS signal while dwelling). */
  doors: boolean;
}

// Figures for a ~10 m Level-4 bus (300 kWh, ~1.2 kWh/km) and a sidewalk delivery robot (~1 kWh).
export const KIND_PROFILES: Readonly<Record<VehicleKind, KindProfile>> = {
  bus: {
    accelMps2: 1,
    decelMps2: 1,
    dwellS: 20,
    drainPctPerKm: 0.4,
    idleDrainPctPerH: 2,
    initialOdometerKm: [1_000, 40_000],
    gnssAccuracyM: 0.1,
    doors: true,
  },
  shuttle: {
    accelMps2: 1,
    decelMps2: 1,
    dwellS: 20,
    drainPctPerKm: 0.6,
    idleDrainPctPerH: 2,
    initialOdometerKm: [500, 20_000],
    gnssAccuracyM: 0.1,
    doors: true,
  },
  car: {
    accelMps2: 1.5,
    decelMps2: 1.5,
    dwellS: 10,
    drainPctPerKm: 0.3,
    idleDrainPctPerH: 1,
    initialOdometerKm: [1_000, 60_000],
    gnssAccuracyM: 0.5,
    doors: true,
  },
  'delivery-robot': {
    accelMps2: 0.5,
    decelMps2: 0.5,
    dwellS: 5,
    drainPctPerKm: 3,
    idleDrainPctPerH: 4,
    initialOdometerKm: [100, 3_000],
    gnssAccuracyM: 0.3,
    doors: false,
  },
};

/** Below this the battery stops draining: charging arrives with the mode state machine. */
const MIN_BATTERY_PCT = 5;
/** Integration step: small enough that braking for a stop at 1 m/s² overshoots by centimetres. */
const MAX_SUBSTEP_S = 0.1;
/** Closer than this to a stop counts as there. */
const ARRIVAL_M = 0.05;
/** Braking into a minimal-risk condition, m/s² (a firm emergency stop, not a full 8 m/s² one). */
const EMERGENCY_DECEL_MPS2 = 3;
/** Share of the cruise speed a human (safety or remote) driver keeps. */
const HUMAN_SPEED_SHARE = 0.85;

export interface VehicleModelOptions {
  id: string;
  kind: VehicleKind;
  route: RouteGeometry;
  nominalSpeedKmh: number;
  /** Distance along the route where the vehicle starts, metres. */
  startOffsetM?: number;
  /** Positions of its stops, as distances along the route's line (see RouteGeometry.project). */
  stopsAlongM?: readonly number[];
  rng: Random;
  /** The vehicle's modem; without one, `linkSample` returns undefined. */
  link?: LinkModel;
  /** Overrides of the kind's profile (dwell time, acceleration, ...). */
  profile?: Partial<KindProfile>;
  /** Who drives; without one the vehicle is autonomous throughout. */
  autonomy?: AutonomyModel;
}

type EventProps = michi.v1.Event.$Properties;

/** An event the vehicle reported, `atS` seconds after the start of the simulation; not yet stamped. */
export interface PendingEvent {
  atS: number;
  body: Omit<EventProps, 'source_id' | 'ts_ms' | 'seq'>;
}

type VehicleStateProps = michi.v1.VehicleState.$Properties;
type LinkSampleProps = michi.v1.LinkSample.$Properties;

export class VehicleModel {
  readonly id: string;
  readonly kind: VehicleKind;
  readonly route: RouteGeometry;
  readonly nominalSpeedMps: number;
  readonly profile: KindProfile;
  private readonly rng: Random;
  private readonly autonomy: AutonomyModel | undefined;
  private readonly pending: PendingEvent[] = [];
  /** Simulated seconds since the start, for event times. */
  private clockS = 0;
  private linkLost = false;
  private readonly link: LinkModel | undefined;
  /** Travel distances (within one cycle) where the vehicle stops, ascending. */
  private readonly stopPoints: number[];
  private travelM: number;
  private speedMps = 0;
  private accelMps2 = 0;
  private odometerM: number;
  private batteryPct: number;
  /** Cruise speed as a share of nominal: traffic and the planner's margin, wandering slowly. */
  private cruiseFactor: number;
  private dwellLeftS = 0;
  /** Absolute travel distance of the next stop; Infinity without stops. */
  private nextStopM = Infinity;
  private odometerAtLastLink: number;
  /** Scripted overrides (alarm-triggers.ts): a multiple of the nominal speed, a position reported instead of the route's. */
  private speedFactor = 1;
  private shownAt: LonLat | undefined;

  constructor(opts: VehicleModelOptions) {
    this.id = opts.id;
    this.kind = opts.kind;
    this.route = opts.route;
    this.nominalSpeedMps = opts.nominalSpeedKmh / 3.6;
    this.profile = { ...KIND_PROFILES[opts.kind], ...opts.profile };
    this.rng = opts.rng;
    this.link = opts.link;
    this.autonomy = opts.autonomy;
    this.travelM = this.route.wrap(opts.startOffsetM ?? 0);

    const points = (opts.stopsAlongM ?? []).flatMap((a) => this.route.passes(a));
    // An out-and-back vehicle has to stop to turn round at either end.
    if (!this.route.loop) points.push(0, this.route.lengthM);
    this.stopPoints = [...new Set(points.map((p) => this.route.wrap(p)))].sort((a, b) => a - b);
    this.nextStopM = this.findNextStop();

    const [odoMin, odoMax] = this.profile.initialOdometerKm;
    this.odometerM = Math.round(this.rng.uniform(odoMin, odoMax) * 1000);
    this.odometerAtLastLink = this.odometerM;
    this.batteryPct = this.rng.uniform(70, 100);
    this.cruiseFactor = this.rng.uniform(0.9, 1);
  }

  get mode(): michi.v1.AutonomyMode {
    return this.autonomy?.mode ?? v1.AutonomyMode.AUTONOMY_MODE_AUTONOMOUS;
  }

  /** Events reported since the last call, oldest first. */
  takeEvents(): PendingEvent[] {
    return this.pending.splice(0);
  }

  /** Whether the vehicle stands at a stop. */
  get dwelling(): boolean {
    return this.dwellLeftS > 0;
  }

  /** Distance travelled since the start of the route's cycle, metres, in [0, route.cycleM). */
  get positionM(): number {
    return this.route.wrap(this.travelM);
  }

  get speed(): number {
    return this.speedMps;
  }

  /** Where the vehicle is on its route, whatever it reports. */
  get routePosition(): LonLat {
    const p = this.route.pointAt(this.travelM);
    return [p.lon, p.lat];
  }

  /** Starts an intervention now for `durationS` (a scripted trigger); needs an AutonomyModel. */
  intervene(kind: ForcedIntervention, durationS: number): void {
    if (!this.autonomy) throw new RangeError(`vehicle "${this.id}" has no autonomy model to intervene in`);
    this.report(this.autonomy.force(kind, durationS));
  }

  /** Sets the battery's charge, percent: a scripted drop, or a charge. */
  setBatteryPct(pct: number): void {
    this.batteryPct = pct;
  }

  /** Drives at `factor` × its nominal speed; above 1 it also runs past its stops, as a speeding vehicle would. */
  setSpeedFactor(factor: number): void {
    this.speedFactor = factor;
    if (factor > 1) this.dwellLeftS = 0;
    else this.nextStopM = this.findNextStop();
  }

  /** Reports this position (and measures its link there) instead of its route's, until called with undefined. */
  showAt(position: LonLat | undefined): void {
    this.shownAt = position;
  }

  /** Its modem received as in a dead zone, yet connected (LinkModel.degraded). */
  degradeLink(on: boolean): void {
    if (this.link) this.link.degraded = on;
  }

  /** The position the vehicle reports. */
  private where(): RoutePoint {
    const p = this.route.pointAt(this.travelM);
    return this.shownAt ? { lon: this.shownAt[0], lat: this.shownAt[1], headingDeg: p.headingDeg } : p;
  }

  /** Advances the vehicle by dtS seconds of simulated time. */
  step(dtS: number): void {
    if (!(dtS > 0)) return;
    const startSpeed = this.speedMps;
    const startOdo = this.odometerM;
    if (this.autonomy) {
      const moving = this.speedMps > 0.1 && this.dwellLeftS === 0;
      for (const e of this.autonomy.step(dtS, moving, this.linkLost)) this.report(e);
    }
    const n = Math.ceil(dtS / MAX_SUBSTEP_S);
    const h = dtS / n;
    for (let i = 0; i < n; i++) this.substep(h);
    this.accelMps2 = (this.speedMps - startSpeed) / dtS;
    const drivenKm = (this.odometerM - startOdo) / 1000;
    const drain = drivenKm * this.profile.drainPctPerKm + (dtS / 3600) * this.profile.idleDrainPctPerH;
    this.batteryPct = Math.max(MIN_BATTERY_PCT, this.batteryPct - drain);
    // A slow random walk of the cruise speed, never above nominal.
    this.cruiseFactor = Math.min(1, Math.max(0.8, this.cruiseFactor + this.rng.normal(0, 0.02 * Math.sqrt(dtS))));
    this.clockS += dtS;
  }

  private report(e: AutonomyEvent): void {
    const p = this.where();
    this.pending.push({
      atS: this.clockS + e.atS,
      body: { ...e.body, position: { lat: p.lat, lon: p.lon, alt_m: 0, accuracy_m: this.profile.gnssAccuracyM } },
    });
  }

  /** Brakes at `decel` towards a standstill, wherever the vehicle is. */
  private halt(h: number, decel: number): void {
    const v0 = this.speedMps;
    const v1 = Math.max(0, v0 - decel * h);
    this.speedMps = v1;
    // Part of the substep at v0 > 0 only: (v0 + v1)/2 over the time it takes to stop.
    const t = v0 > 0 ? Math.min(h, v0 / decel) : 0;
    this.advanceBy(((v0 + v1) / 2) * t);
  }

  private substep(h: number): void {
    if (this.dwellLeftS > 0) {
      this.dwellLeftS -= h;
      this.speedMps = 0;
      if (this.dwellLeftS <= 0) {
        this.dwellLeftS = 0;
        this.nextStopM = this.findNextStop();
      }
      return;
    }
    const { accelMps2, decelMps2 } = this.profile;
    const mode = this.mode;
    if (mode === v1.AutonomyMode.AUTONOMY_MODE_MINIMAL_RISK) return this.halt(h, EMERGENCY_DECEL_MPS2);
    if (mode === v1.AutonomyMode.AUTONOMY_MODE_REMOTE_ASSIST) return this.halt(h, decelMps2);
    const human = mode === v1.AutonomyMode.AUTONOMY_MODE_MANUAL || mode === v1.AutonomyMode.AUTONOMY_MODE_REMOTE_DRIVING;
    const toStop = this.speedFactor > 1 ? Infinity : this.nextStopM - this.travelM;
    const v0 = this.speedMps;
    // What the vehicle would do if there were no stop ahead: approach its cruise speed.
    const topMps = this.nominalSpeedMps * this.speedFactor;
    const cruise = topMps * this.cruiseFactor * (human ? HUMAN_SPEED_SHARE : 1);
    const vTry = Math.min(topMps, Math.max(0, v0 + Math.max(-decelMps2 * h, Math.min(accelMps2 * h, cruise - v0))));
    const dTry = toStop - ((v0 + vTry) / 2) * h;
    // Brake now if, after one more substep like that, stopping in time would need more than the
    // decelerating limit (v² = 2·a·d). Braking then uses the constant deceleration that ends
    // exactly at the stop, which by the same test never exceeds the limit.
    if (dTry <= ARRIVAL_M || (vTry * vTry) / (2 * dTry) > decelMps2) {
      const a = toStop > 0 ? (v0 * v0) / (2 * toStop) : Infinity;
      if (v0 <= 0 || v0 / a <= h) {
        this.advanceBy(Math.max(0, toStop));
        this.arrive();
        return;
      }
      this.speedMps = v0 - a * h;
      this.advanceBy(v0 * h - (a * h * h) / 2);
      return;
    }
    this.speedMps = vTry;
    this.advanceBy(((v0 + vTry) / 2) * h);
  }

  private advanceBy(ds: number): void {
    this.travelM += ds;
    this.odometerM += ds;
  }

  private arrive(): void {
    this.speedMps = 0;
    this.dwellLeftS = this.profile.dwellS * this.rng.uniform(0.75, 1.25);
  }

  /** Absolute travel distance of the first stop strictly ahead of the vehicle. */
  private findNextStop(): number {
    if (this.stopPoints.length === 0) return Infinity;
    let best = Infinity;
    for (const p of this.stopPoints) {
      const ahead = this.route.ahead(this.travelM, p);
      if (ahead > ARRIVAL_M && ahead < best) best = ahead;
    }
    // A single stop on a loop is a whole cycle ahead once the vehicle stands on it.
    if (best === Infinity) best = this.route.cycleM;
    return this.travelM + best;
  }

  /** The vehicle's state as a michi.v1 VehicleState body. */
  state(tsMs: number, seq: number): VehicleStateProps {
    const p = this.where();
    const signals: Record<string, number> = { 'Vehicle.Speed': Math.floor(this.speedMps * 360) / 100 };
    if (this.profile.doors) signals['Vehicle.Cabin.Door.Row1.PassengerSide.IsOpen'] = this.dwelling ? 1 : 0;
    return {
      source_id: this.id,
      ts_ms: tsMs,
      seq,
      position: { lat: p.lat, lon: p.lon, alt_m: 0, accuracy_m: this.profile.gnssAccuracyM },
      // Truncated, not rounded, so a vehicle at its nominal speed never reports more.
      speed_mps: Math.floor(this.speedMps * 1000) / 1000,
      heading_deg: round(p.headingDeg, 2) % 360,
      accel_mps2: round(this.accelMps2, 3),
      mode: this.mode,
      odometer_m: round(this.odometerM, 2),
      battery_pct: round(this.batteryPct, 2),
      signals,
    };
  }

  /** A 5G measurement of the vehicle's modem at its current position, or undefined without cell sites. */
  linkSample(tsMs: number, seq: number): LinkSampleProps | undefined {
    if (!this.link) return undefined;
    const p = this.where();
    const m = this.link.sample([p.lon, p.lat], this.odometerM - this.odometerAtLastLink);
    this.odometerAtLastLink = this.odometerM;
    const lost = this.link.lost;
    if (lost && !this.linkLost) {
      this.pending.push({
        atS: this.clockS,
        body: {
          type: v1.EventType.EVENT_TYPE_LINK_LOSS,
          cause: v1.EventCause.EVENT_CAUSE_COMMUNICATION,
          severity: v1.Severity.SEVERITY_WARNING,
          position: { lat: p.lat, lon: p.lon, alt_m: 0, accuracy_m: this.profile.gnssAccuracyM },
          detail: '5G link lost',
        },
      });
    }
    this.linkLost = lost;
    if (!m) return undefined;
    return { source_id: this.id, ts_ms: tsMs, seq, ...m };
  }
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
