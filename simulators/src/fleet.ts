/**
 * The vehicles of one pilot, built from its definition (seeds/*.json), advanced together in
 * simulated time. The fleet owns the per-source sequence numbers: they start at 1 and go up by
 * one per reading of any kind, so a receiver can spot a gap whatever the kinds interleave.
 */
import { readingTopic, type ReadingBodyProperties, type ReadingKind } from '@michi/proto';
import { SimErrorCodes, SimulatorError } from './errors.js';
import { LinkModel, type LinkCellSite, type LinkModelOptions } from './link-model.js';
import { deriveSeed, mulberry32 } from './prng.js';
import { RouteGeometry, type LonLat } from './route-geometry.js';
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
}

export interface FleetVehicle {
  readonly model: VehicleModel;
  readonly gatewayId: string;
  readonly topics: Readonly<Record<'state' | 'link', string>>;
}

export class Fleet {
  readonly pilotId: string;
  readonly vehicles: readonly FleetVehicle[];
  /** Simulated seconds since the start. */
  simTimeS = 0;
  private readonly seqs = new Map<string, number>();

  constructor(pilot: FleetPilot, opts: FleetOptions = {}) {
    const seed = opts.seed ?? 42;
    this.pilotId = pilot.id;
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
      });
      return {
        model,
        gatewayId: v.gatewayId,
        topics: {
          state: readingTopic(pilot.id, v.gatewayId, v.id, 'state'),
          link: readingTopic(pilot.id, v.gatewayId, v.id, 'link'),
        },
      };
    });
  }

  /** Advances every vehicle by dtS simulated seconds. */
  advance(dtS: number): void {
    if (!(dtS > 0)) return;
    for (const v of this.vehicles) v.model.step(dtS);
    this.simTimeS += dtS;
  }

  /**
   * A reading of `kind` from a vehicle now, or undefined when it has nothing to report (a link
   * sample in a pilot without cell sites). Only readings actually made take a sequence number.
   */
  reading(vehicle: FleetVehicle, kind: 'state' | 'link', tsMs: number): SimReading | undefined {
    const { model } = vehicle;
    const seq = (this.seqs.get(model.id) ?? 0) + 1;
    const body = kind === 'state' ? model.state(tsMs, seq) : model.linkSample(tsMs, seq);
    if (!body) return undefined;
    this.seqs.set(model.id, seq);
    return { kind, pilotId: this.pilotId, gatewayId: vehicle.gatewayId, sourceId: model.id, topic: vehicle.topics[kind], body };
  }

  /** The gateways the fleet's vehicles publish to. */
  gatewayIds(): string[] {
    return [...new Set(this.vehicles.map((v) => v.gatewayId))];
  }
}
