/**
 * The vehicles and roadside sensors of one pilot, built from its definition (seeds/*.json),
 * advanced together in simulated time. The fleet owns the per-source sequence numbers: they start
 * at 1 and go up by one per reading of any kind, so a receiver can spot a gap whatever the kinds
 * interleave. It also stamps readings with each source's own (offset, drifting) clock, and starts
 * and ends scripted alarm triggers (alarm-triggers.ts) at their simulated times: a silent vehicle's
 * readings are not made at all, so its sequence goes on without a gap when it resumes.
 */
import { readingTopic, type ReadingBodyProperties, type ReadingKind } from '@michi/proto';
import { SimErrorCodes, SimulatorError } from './errors.js';
import { TriggerPlan, type QuietOptions, type Trigger, type TriggerPilot, type TriggerTarget } from './alarm-triggers.js';
import { AutonomyModel, type AutonomyRates } from './autonomy-model.js';
import { LinkModel, type LinkCellSite, type LinkModelOptions } from './link-model.js';
import { deriveSeed, mulberry32 } from './prng.js';
import { RouteGeometry, type LonLat } from './route-geometry.js';
import { SensorModel, type SensorKindName } from './sensor-model.js';
import { SourceClock, type ClockOptions } from './source-clock.js';
import { VehicleModel, type KindProfile, type VehicleKind } from './vehicle-model.js';

/**
 * What the simulator needs of a pilot definition; proto's `Pilot` (seed-schema.ts) satisfies it,
 * and tests can build a small one inline.
 */
export interface FleetPilot {
  id: string;
  routes: readonly { id: string; loop: boolean; geometry: { coordinates: readonly LonLat[] } }[];
  stops: readonly { id: string; routeId: string; position: LonLat }[];
  cellSites: readonly LinkCellSite[];
  gateways: readonly { id: string }[];
  vehicles: readonly {
    id: string;
    kind: VehicleKind;
    routeId: string;
    gatewayId: string;
    nominalSpeedKmh: number;
    startOffsetM?: number | undefined;
  }[];
  sensors?: readonly { id: string; kind: SensorKindName; gatewayId: string; ratePerSecond: number }[];
  /** Where leave-area and no-go triggers put a vehicle (alarm-triggers.ts). */
  geofences?: TriggerPilot['geofences'];
}

/** One reading as the simulator produced it, with where it goes. */
export interface SimReading {
  kind: ReadingKind;
  pilotId: string;
  gatewayId: string;
  sourceId: string;
  topic: string;
  body: ReadingBodyProperties;
}

export interface FleetOptions {
  /** Seed of every random choice; the same seed gives the same readings. */
  seed?: number;
  /** Overrides per vehicle kind, e.g. `{ bus: { dwellS: 30 } }`. */
  profiles?: Partial<Record<VehicleKind, Partial<KindProfile>>>;
  link?: LinkModelOptions;
  /** Intervention rates and durations; false: every vehicle stays autonomous. */
  autonomy?: Partial<AutonomyRates> | false;
  /** Offsets and drifts of the sources' clocks (`{}`: the defaults); unset or false: true time. */
  clock?: ClockOptions | false;
  /** Scripted alarm conditions at set simulated times (alarm-triggers.ts). */
  triggers?: readonly Trigger[];
  /** A random vehicle goes quiet now and then. */
  quiet?: QuietOptions;
}

/** Rates of an autonomy model that never intervenes on its own; triggers still can. */
const NO_INTERVENTIONS: Partial<AutonomyRates> = { takeoverPerH: 0, disengagementPerH: 0, emergencyStopPerH: 0, remoteAssistPerH: 0 };

/** Kinds without a safety driver on board: their takeovers go to the remote operator. */
const DRIVERLESS: ReadonlySet<VehicleKind> = new Set(['delivery-robot']);

export interface FleetVehicle {
  readonly model: VehicleModel;
  readonly gatewayId: string;
  readonly topics: Readonly<Record<'state' | 'link' | 'event', string>>;
  readonly clock: SourceClock | undefined;
}

export interface FleetSensor {
  readonly model: SensorModel;
  readonly gatewayId: string;
  readonly topic: string;
  /** Seconds between two readings (1 / ratePerSecond in the pilot definition). */
  readonly periodS: number;
  readonly clock: SourceClock | undefined;
}

export class Fleet implements TriggerTarget {
  readonly pilotId: string;
  readonly vehicles: readonly FleetVehicle[];
  readonly sensors: readonly FleetSensor[];
  /** Simulated seconds since the start. */
  simTimeS = 0;
  private readonly seqs = new Map<string, number>();
  /** Last event timestamp per vehicle: two events of one source never share a millisecond (their identity). */
  private readonly lastEventTs = new Map<string, number>();
  private readonly plan: TriggerPlan;
  /** Vehicle id → how many silent triggers hold it (absent: none); it publishes nothing while held. */
  private readonly silentDepth = new Map<string, number>();

  constructor(pilot: FleetPilot, opts: FleetOptions = {}) {
    const seed = opts.seed ?? 42;
    this.pilotId = pilot.id;
    const clockOpts = opts.clock;
    const clockOf = (name: string): SourceClock | undefined =>
      clockOpts === undefined || clockOpts === false ? undefined : new SourceClock(mulberry32(deriveSeed(seed, name)), clockOpts);
    const routes = new Map(pilot.routes.map((r) => [r.id, new RouteGeometry(r.geometry.coordinates, r.loop)]));
    const gateways = new Set(pilot.gateways.map((g) => g.id));
    // Vehicles without a start offset share their route evenly, so they do not start bunched.
    const unplaced = new Map<string, string[]>();
    for (const v of pilot.vehicles) {
      if (v.startOffsetM === undefined) unplaced.set(v.routeId, [...(unplaced.get(v.routeId) ?? []), v.id]);
    }

    this.vehicles = pilot.vehicles.map((v) => {
      const route = routes.get(v.routeId);
      if (!route)
        throw new SimulatorError(
          SimErrorCodes.PILOT,
          `vehicle "${v.id}" drives route "${v.routeId}", which pilot "${pilot.id}" does not define`,
        );
      if (!gateways.has(v.gatewayId))
        throw new SimulatorError(
          SimErrorCodes.PILOT,
          `vehicle "${v.id}" publishes to gateway "${v.gatewayId}", which pilot "${pilot.id}" does not define`,
        );
      const peers = unplaced.get(v.routeId) ?? [];
      const startOffsetM = v.startOffsetM ?? (route.cycleM * peers.indexOf(v.id)) / Math.max(1, peers.length);
      const stopsAlongM = pilot.stops.filter((s) => s.routeId === v.routeId).map((s) => route.project(s.position));
      const model = new VehicleModel({
        id: v.id,
        kind: v.kind,
        route,
        nominalSpeedKmh: v.nominalSpeedKmh,
        startOffsetM,
        stopsAlongM,
        // Separate streams per vehicle and per radio: adding a vehicle, or asking for link
        // readings, leaves every other reading as it was.
        rng: mulberry32(deriveSeed(seed, `${pilot.id}/${v.id}`)),
        link: new LinkModel(pilot.cellSites, mulberry32(deriveSeed(seed, `${pilot.id}/${v.id}/link`)), opts.link),
        profile: opts.profiles?.[v.kind] ?? {},
        // Without random interventions too: one that never draws, so that triggers can intervene.
        autonomy: new AutonomyModel(
          mulberry32(deriveSeed(seed, `${pilot.id}/${v.id}/autonomy`)),
          opts.autonomy === false ? NO_INTERVENTIONS : (opts.autonomy ?? {}),
          !DRIVERLESS.has(v.kind),
        ),
      });
      return {
        model,
        gatewayId: v.gatewayId,
        topics: {
          state: readingTopic(pilot.id, v.gatewayId, v.id, 'state'),
          link: readingTopic(pilot.id, v.gatewayId, v.id, 'link'),
          event: readingTopic(pilot.id, v.gatewayId, v.id, 'event'),
        },
        clock: clockOf(`${pilot.id}/${v.id}/clock`),
      };
    });
    this.sensors = (pilot.sensors ?? []).map((s) => {
      if (!gateways.has(s.gatewayId))
        throw new SimulatorError(
          SimErrorCodes.PILOT,
          `sensor "${s.id}" publishes to gateway "${s.gatewayId}", which pilot "${pilot.id}" does not define`,
        );
      return {
        model: new SensorModel(s.id, s.kind, mulberry32(deriveSeed(seed, `${pilot.id}/${s.id}`))),
        gatewayId: s.gatewayId,
        topic: readingTopic(pilot.id, s.gatewayId, s.id, 'sensor'),
        periodS: 1 / s.ratePerSecond,
        clock: clockOf(`${pilot.id}/${s.id}/clock`),
      };
    });
    this.plan = new TriggerPlan(pilot, opts.triggers ?? [], { seed, quiet: opts.quiet });
  }

  /**
   * Advances every vehicle by dtS simulated seconds (0: none), starting and ending triggers at their
   * times on the way; one due at the end takes effect before the readings made then.
   */
  advance(dtS: number): void {
    if (!(dtS >= 0)) return;
    const endS = this.simTimeS + dtS;
    // Due times within a nanosecond of the end are the end: readings are made at ticks × period.
    for (let next = this.plan.nextAtS(); next <= endS + 1e-9; next = this.plan.nextAtS()) {
      this.step(next - this.simTimeS);
      this.plan.applyDue(next, this);
    }
    this.step(endS - this.simTimeS);
  }

  private step(dtS: number): void {
    if (!(dtS > 0)) return;
    for (const v of this.vehicles) v.model.step(dtS);
    for (const s of this.sensors) s.model.step(dtS);
    this.simTimeS += dtS;
  }

  /** A silent trigger on vehicle `index` begins (+1) or ends (-1): TriggerTarget. */
  silence(index: number, delta: 1 | -1): void {
    const id = this.vehicles[index]!.model.id;
    const depth = (this.silentDepth.get(id) ?? 0) + delta;
    if (depth > 0) this.silentDepth.set(id, depth);
    else this.silentDepth.delete(id);
  }

  /** Whether a vehicle holds back its readings now (a silent trigger or a quiet spell). */
  silent(vehicle: FleetVehicle): boolean {
    return this.silentDepth.size > 0 && this.silentDepth.has(vehicle.model.id);
  }

  /**
   * A reading of `kind` from a vehicle now, or undefined when it has nothing to report (a link
   * sample in a pilot without cell sites). Only readings actually made take a sequence number.
   */
  reading(vehicle: FleetVehicle, kind: 'state' | 'link', tsMs: number): SimReading | undefined {
    if (this.silent(vehicle)) return undefined;
    const { model } = vehicle;
    const seq = (this.seqs.get(model.id) ?? 0) + 1;
    const stamped = this.stamp(vehicle.clock, tsMs);
    const body = kind === 'state' ? model.state(stamped, seq) : model.linkSample(stamped, seq);
    if (!body) return undefined;
    this.seqs.set(model.id, seq);
    return { kind, pilotId: this.pilotId, gatewayId: vehicle.gatewayId, sourceId: model.id, topic: vehicle.topics[kind], body };
  }

  /**
   * The events a vehicle reported since the last call (interventions, link losses), stamped by its
   * clock with `startTsMs` as simulated time 0, and numbered.
   */
  events(vehicle: FleetVehicle, startTsMs: number): SimReading[] {
    // A silent vehicle keeps its events, as on-board logging would, and sends them when it resumes.
    if (this.silent(vehicle)) return [];
    const { model } = vehicle;
    return model.takeEvents().map((e) => {
      const seq = (this.seqs.get(model.id) ?? 0) + 1;
      this.seqs.set(model.id, seq);
      let ts = this.stamp(vehicle.clock, startTsMs + Math.round(e.atS * 1000));
      const last = this.lastEventTs.get(model.id);
      if (last !== undefined && ts <= last) ts = last + 1;
      this.lastEventTs.set(model.id, ts);
      return {
        kind: 'event' as const,
        pilotId: this.pilotId,
        gatewayId: vehicle.gatewayId,
        sourceId: model.id,
        topic: vehicle.topics.event,
        body: { source_id: model.id, ts_ms: ts, seq, ...e.body },
      };
    });
  }

  /** A roadside sensor's reading now: what it counted and measured since its previous one. */
  sensorReading(sensor: FleetSensor, tsMs: number): SimReading {
    const seq = (this.seqs.get(sensor.model.id) ?? 0) + 1;
    this.seqs.set(sensor.model.id, seq);
    const body = sensor.model.reading(this.stamp(sensor.clock, tsMs), seq);
    return { kind: 'sensor', pilotId: this.pilotId, gatewayId: sensor.gatewayId, sourceId: sensor.model.id, topic: sensor.topic, body };
  }

  private stamp(clock: SourceClock | undefined, tsMs: number): number {
    return clock ? clock.stamp(tsMs, this.simTimeS * 1000) : tsMs;
  }

  /** The gateways the fleet's vehicles publish to. */
  gatewayIds(): string[] {
    return [...new Set([...this.vehicles.map((v) => v.gatewayId), ...this.sensors.map((s) => s.gatewayId)])];
  }
}
