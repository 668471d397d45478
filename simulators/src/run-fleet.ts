/**
 * Runs a simulated fleet against edge brokers: advances the pilot's vehicles and roadside sensors
 * in simulated time, makes their readings on schedule (events as they happen) and publishes them,
 * paced to the wall clock (scaled by `speedup`), until a duration, a count of readings or an abort
 * signal ends the run; optionally injects faults on the way. Then waits for the outstanding
 * acknowledgements and reports what was sent, acknowledged and failed.
 */
import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises';
import type { PayloadFormat } from '@michi/proto';
import { pino, type Logger } from 'pino';
import { SimErrorCodes, SimulatorError, UsageError } from './errors.js';
import { FaultInjector, type FaultOptions } from './fault-injector.js';
import { Fleet, type FleetOptions, type FleetPilot, type SimReading } from './fleet.js';
import { MqttPublisher, type PublishStats, type ReadingPublisher } from './publisher-mqtt.js';

/** What the simulator makes: vehicle states, link samples and events, and roadside sensor readings. */
export const SIMULATED_KINDS = ['state', 'link', 'event', 'sensor'] as const;
export type SimulatedKind = (typeof SIMULATED_KINDS)[number];

export interface RunFleetOptions {
  pilot: FleetPilot;
  /** The edge broker all gateways publish to, or one URL per gateway id. Not needed with `publisher`. */
  mqttUrl?: string | Readonly<Record<string, string>>;
  /** Where readings go instead of the MQTT brokers of `mqttUrl`; the caller closes it. */
  publisher?: ReadingPublisher;
  /**
   * Gateway id → its device key (the edge's local.deviceKeyEnv): each vehicle and sensor then
   * connects on its own with its id and password, as an edge agent requires. Without one a
   * gateway's sources share anonymous connections (brokers that do not authenticate).
   */
  deviceKeys?: Readonly<Record<string, string>>;
  /** State readings per vehicle per simulated second. */
  rateHz?: number;
  /** Link samples per vehicle per simulated second. */
  linkRateHz?: number;
  /**
   * Vehicles report in this many groups spread evenly over each period (vehicle i in group
   * i mod phases), as a real fleet's independent clocks do; 1 (the default) has every vehicle
   * report at the same instant, the worst burst for the receivers.
   */
  phases?: number;
  /** Stop after this many simulated seconds (wall time is durationS / speedup). */
  durationS?: number;
  /** Stop after exactly this many readings in total, all kinds and vehicles together. */
  count?: number;
  /** Simulated seconds per wall-clock second; Infinity publishes as fast as the brokers acknowledge. */
  speedup?: number;
  seed?: number;
  format?: PayloadFormat;
  kinds?: readonly SimulatedKind[];
  /** Source timestamp of simulated time 0; the simulated clock runs from there. */
  startTsMs?: number;
  signal?: AbortSignal;
  /** Called with each reading just before it is published. */
  onReading?: (reading: SimReading) => void;
  /** Return every reading in the result (memory grows with the run). */
  keep?: boolean;
  /** At most this many readings awaiting a PUBACK; the simulator waits beyond it. */
  maxInFlight?: number;
  /** How long to wait for outstanding PUBACKs at the end before counting them as failed. */
  drainTimeoutMs?: number;
  /** Client ids are `<prefix>-<pilot>-<gateway>`. */
  clientIdPrefix?: string;
  /** Vehicle profiles, link model, autonomy rates, clocks. */
  fleet?: Omit<FleetOptions, 'seed'>;
  /** Duplicates, malformed payloads and bursts to inject; none by default. */
  faults?: FaultOptions;
  logger?: Logger;
}

export interface RunFleetResult extends PublishStats {
  /** Faults injected: duplicate publishes, malformed payloads, bursts begun. */
  faults: { duplicates: number; malformed: number; bursts: number };
  /** Every reading made, when `keep` was set; empty otherwise. */
  readings: SimReading[];
  /** Simulated seconds covered by the readings made. */
  simulatedS: number;
  elapsedMs: number;
}

/** Due times closer than this (seconds) are the same instant. */
const SAME_INSTANT_S = 1e-9;
/** At most this long (ms) between pauses that let the publishes made so far leave (emit). */
const FLUSH_EVERY_MS = 1;

export async function runFleet(opts: RunFleetOptions): Promise<RunFleetResult> {
  const calledAt = { wall: performance.now(), ts: Date.now() };
  const rateHz = opts.rateHz ?? 1;
  const linkRateHz = opts.linkRateHz ?? 1;
  const speedup = opts.speedup ?? 1;
  const kinds = opts.kinds ?? ['state'];
  const maxInFlight = opts.maxInFlight ?? 1_000;
  const phases = opts.phases ?? 1;
  checkOptions(opts, { rateHz, linkRateHz, speedup, kinds, maxInFlight, phases });
  const logger = opts.logger ?? pino({ name: 'michi-sim', level: 'warn' });

  const fleet = new Fleet(opts.pilot, { ...opts.fleet, seed: opts.seed ?? 42 });
  if (fleet.vehicles.length === 0) throw new UsageError(`pilot "${opts.pilot.id}" has no vehicles to simulate`);
  if (kinds.every((k) => k === 'link') && opts.pilot.cellSites.length === 0) {
    throw new UsageError(`pilot "${opts.pilot.id}" has no cell sites, so its vehicles make no link samples`);
  }
  const faults = new FaultInjector(opts.seed ?? 42, opts.faults);

  const ownPublisher = !opts.publisher;
  const publisher =
    opts.publisher ??
    (await MqttPublisher.open({
      pilotId: opts.pilot.id,
      gatewayUrls: gatewayUrls(opts.pilot.id, fleet.gatewayIds(), opts.mqttUrl),
      format: opts.format ?? 'protobuf',
      clientIdPrefix: opts.clientIdPrefix ?? 'sim',
      ...(opts.deviceKeys ? { deviceKeys: new Map(Object.entries(opts.deviceKeys)), sources: sourcesByGateway(opts.pilot) } : {}),
      logger,
    }));

  const readings: SimReading[] = [];
  // Simulated time 0 is due when the run was asked for, not once its fleet is built: a caller
  // (michi-sim) stamps startTsMs before calling, and building 1,000 vehicles took 100-300 ms, by
  // which every reading was stamped before it was sent (the latency bench counted it in to_edge;
  // issue 15). The first instant goes late instead. A publisher opened here connects first.
  const anchor = ownPublisher ? { wall: performance.now(), ts: Date.now() } : calledAt;
  const startTsMs = opts.startTsMs ?? anchor.ts;
  const wallStart = anchor.wall;
  // What is due when, in a fixed order within one instant, so runs are reproducible: every
  // vehicle's state then link sample (per phase group), then each roadside sensor at its own rate.
  const schedule: {
    periodS: number;
    offsetS: number;
    ticks: number;
    vehicleKind?: 'state' | 'link';
    phase?: number;
    make?: (tsMs: number) => SimReading;
  }[] = [];
  for (let phase = 0; phase < phases; phase++) {
    for (const k of ['state', 'link'] as const) {
      const periodS = 1 / (k === 'state' ? rateHz : linkRateHz);
      if (kinds.includes(k)) schedule.push({ periodS, offsetS: (phase * periodS) / phases, ticks: 0, vehicleKind: k, phase });
    }
  }
  if (kinds.includes('sensor')) {
    for (const sensor of fleet.sensors)
      schedule.push({ periodS: sensor.periodS, offsetS: 0, ticks: 0, make: (tsMs) => fleet.sensorReading(sensor, tsMs) });
  }
  const dueAt = (s: (typeof schedule)[number]): number => s.ticks * s.periodS + s.offsetS;
  if (schedule.length === 0) throw new UsageError(`pilot "${opts.pilot.id}" has nothing to simulate of kinds ${kinds.join(', ')}`);
  const withEvents = kinds.includes('event');
  let total = 0;
  let simulatedS = 0;
  let flushedAt = performance.now();
  /** Lets the publishes made so far go: mqtt.js's ticks run before the one this waits for. */
  const flushWrites = async (): Promise<void> => {
    await new Promise<void>((resolve) => process.nextTick(resolve));
    flushedAt = performance.now();
  };
  const emit = async (reading: SimReading): Promise<boolean> => {
    if (publisher.inFlight >= maxInFlight) await publisher.waitForCapacity(maxInFlight);
    if (opts.signal?.aborted) return false;
    opts.onReading?.(reading);
    if (opts.keep) readings.push(reading);
    for (const out of faults.apply(reading, simulatedS)) {
      if (out.raw) publisher.publishRaw(out.reading, out.raw);
      else publisher.publish(out.reading);
    }
    total++;
    // mqtt.js writes each publish in a process.nextTick, and this loop runs in one chain of
    // promise jobs, which Node finishes before any tick: without a pause the first of 1,000
    // readings due at once left only when the last was made (~20 ms later, profiled in
    // bench/latency.bench.ts), while the receiver idled. A tick's pause lets what was made go.
    if (performance.now() - flushedAt >= FLUSH_EVERY_MS) await flushWrites();
    return !(opts.count !== undefined && total >= opts.count);
  };
  /**
   * The readings of instant t, in their fixed order: events that happened since the previous
   * instant first, then what the schedule says. Made (and encoded, by publishers that can) before
   * their instant comes, so that at the instant only the sends are left.
   */
  const readingsAt = (t: number): SimReading[] => {
    fleet.advance(t - fleet.simTimeS);
    const out: SimReading[] = [];
    for (const vehicle of fleet.vehicles) {
      if (withEvents) out.push(...fleet.events(vehicle, startTsMs));
      else vehicle.model.takeEvents();
    }
    const due = schedule.filter((s) => dueAt(s) - t < SAME_INSTANT_S);
    for (const s of due) s.ticks++;
    const tsMs = startTsMs + Math.round(t * 1000);
    const dueKinds = new Map<number, ('state' | 'link')[]>();
    for (const s of due) if (s.vehicleKind) dueKinds.set(s.phase!, [...(dueKinds.get(s.phase!) ?? []), s.vehicleKind]);
    for (const [phase, phaseKinds] of dueKinds) {
      for (let i = phase; i < fleet.vehicles.length; i += phases) {
        for (const kind of phaseKinds) {
          const reading = fleet.reading(fleet.vehicles[i]!, kind, tsMs);
          if (reading) out.push(reading);
        }
      }
    }
    for (const s of due) if (s.make) out.push(s.make(tsMs));
    for (const reading of out) publisher.prepare?.(reading);
    return out;
  };
  try {
    run: for (;;) {
      // Each due time is ticks × period, not a running sum, so that no rounding error accumulates.
      const t = Math.min(...schedule.map(dueAt));
      if (opts.durationS !== undefined && t >= opts.durationS - SAME_INSTANT_S) break;
      if (opts.signal?.aborted) break;
      const due = readingsAt(t);
      if (Number.isFinite(speedup)) {
        const waitMs = wallStart + (t * 1000) / speedup - performance.now();
        if (waitMs > 0 && !(await sleepUnlessAborted(waitMs, opts.signal))) break;
      } else {
        await yieldToEventLoop();
      }
      simulatedS = t;
      flushedAt = performance.now();
      for (const reading of due) if (!(await emit(reading))) break run;
      // Before the next instant's readings are made: the last of these must not wait for them.
      await flushWrites();
    }
    // Readings held back by a burst still go out.
    for (const out of faults.flush()) publisher.publish(out.reading);
    await publisher.drain(opts.drainTimeoutMs ?? 10_000);
  } finally {
    if (ownPublisher) await publisher.close();
  }
  const stats = publisher.stats();
  logger.info({ pilot: opts.pilot.id, ...stats, simulatedS }, 'fleet run finished');
  return { ...stats, faults: faults.stats(), readings, simulatedS, elapsedMs: Math.round(performance.now() - wallStart) };
}

function checkOptions(
  opts: RunFleetOptions,
  o: { rateHz: number; linkRateHz: number; speedup: number; kinds: readonly string[]; maxInFlight: number; phases: number },
): void {
  const positive = (name: string, v: number, allowInfinity = false): void => {
    if (!(v > 0) || (!allowInfinity && !Number.isFinite(v))) throw new UsageError(`${name}: expected a number > 0, got ${v}`);
  };
  positive('rateHz', o.rateHz);
  positive('linkRateHz', o.linkRateHz);
  positive('speedup', o.speedup, true);
  if (opts.durationS !== undefined) positive('durationS', opts.durationS);
  if (opts.count !== undefined && !(Number.isSafeInteger(opts.count) && opts.count > 0)) {
    throw new UsageError(`count: expected a whole number > 0, got ${opts.count}`);
  }
  if (!(Number.isSafeInteger(o.maxInFlight) && o.maxInFlight > 0 && o.maxInFlight < 65_535)) {
    // MQTT packet ids are 16 bits: a client cannot have more QoS 1 publishes outstanding.
    throw new UsageError(`maxInFlight: expected a whole number from 1 to 65534, got ${o.maxInFlight}`);
  }
  if (!(Number.isSafeInteger(o.phases) && o.phases >= 1 && o.phases <= 1_000)) {
    throw new UsageError(`phases: expected a whole number from 1 to 1000, got ${o.phases}`);
  }
  if (o.kinds.length === 0) throw new UsageError(`kinds: expected at least one of ${SIMULATED_KINDS.join(', ')}`);
  for (const k of o.kinds) {
    if (!(SIMULATED_KINDS as readonly string[]).includes(k)) {
      throw new UsageError(`kinds: expected one of ${SIMULATED_KINDS.join(', ')}, got "${k}"`);
    }
  }
  if (!opts.publisher && opts.mqttUrl === undefined) throw new UsageError('mqttUrl: expected the URL of the edge broker (or a publisher)');
}

/** The broker URL of each gateway the fleet uses; every one must have one. */
export function gatewayUrls(
  pilotId: string,
  gatewayIds: readonly string[],
  mqttUrl: string | Readonly<Record<string, string>> | undefined,
): Map<string, string> {
  const urls = new Map<string, string>();
  for (const gw of gatewayIds) {
    const url = typeof mqttUrl === 'string' ? mqttUrl : mqttUrl?.[gw];
    if (url === undefined) {
      throw new SimulatorError(
        SimErrorCodes.PILOT,
        `gateway "${gw}" of pilot "${pilotId}" has no broker URL; give one for every gateway its vehicles use`,
        { gateway: gw },
      );
    }
    urls.set(gw, url);
  }
  return urls;
}

/** Gateway id → the ids of its vehicles and sensors. */
export function sourcesByGateway(pilot: FleetPilot): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const { id, gatewayId } of [...pilot.vehicles, ...(pilot.sensors ?? [])]) {
    if (!out.has(gatewayId)) out.set(gatewayId, []);
    out.get(gatewayId)!.push(id);
  }
  return out;
}

/** Resolves true after ms, or false as soon as the signal aborts. */
async function sleepUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await sleep(ms, undefined, signal ? { signal } : undefined);
    return true;
  } catch (err) {
    if (signal?.aborted) return false;
    throw err;
  }
}
