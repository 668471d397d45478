// A fleet at a fixed rate, for the alarm benchmarks: the bus pilot (seeds/maebashi-l4-bus.json)
// scaled to N vehicles, and a load generator that plays its 2 gateways' uplinks over MQTT QoS 1
// as edges send them: every vehicle one state per second (and, when asked, one 5G link sample),
// spread evenly over the second, gathered every 50 ms into one batch per gateway (at most 500
// readings), each reading stamped with the time it was due. A healthy fleet: no reading raises an
// alarm. Link samples are off by default: at 20,000 readings/s InfluxDB 1.6.7 fell behind on this
// 2-core machine while other work ran (108,060 of 200,000 readings unacknowledged 30 s after a
// 10 s phase, load average 12-18), and a backlog is not what the alarm benchmarks measure.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { PilotSchema, batchTopic, encodeBatch, loadSeeds, type Pilot, type michi } from '@michi/proto';
import { readyAndWait } from './cloud-process.js';

const SEED_FILE = new URL('../seeds/maebashi-l4-bus.json', import.meta.url);
const BATCH_ITEMS = 500;
const TICK_MS = 50;

export interface ScaledPilotOptions {
  /** Alarm settings of the seed (its `alarms` section). */
  alarms?: Record<string, unknown>;
  /** Extra vehicles `a00000`, … with this `silenceS`, which the fleet load leaves alone. */
  extraVehicles?: { count: number; silenceS: number };
}

/** The bus pilot's seed with `vehicles` buses `v00000`, … spread over its gateways, as JSON. */
export function scaledBusSeed(vehicles: number, o: ScaledPilotOptions = {}): Record<string, unknown> {
  const seed = JSON.parse(readFileSync(SEED_FILE, 'utf8')) as Record<string, unknown> & {
    vehicles: Record<string, unknown>[];
    gateways: { id: string }[];
  };
  const template = seed.vehicles[0]!;
  const gateways = seed.gateways.map((g) => g.id);
  const vehicle = (id: string, i: number, extra: Record<string, unknown> = {}) => ({
    ...template,
    id,
    gatewayId: gateways[i % gateways.length],
    relayGatewayIds: undefined,
    ...extra,
  });
  const extra = o.extraVehicles;
  return {
    ...seed,
    vehicles: [
      ...Array.from({ length: vehicles }, (_, i) => vehicle(`v${String(i).padStart(5, '0')}`, i)),
      ...Array.from({ length: extra?.count ?? 0 }, (_, i) => vehicle(`a${String(i).padStart(5, '0')}`, i, { silenceS: extra!.silenceS })),
    ],
    ...(o.alarms ? { alarms: o.alarms } : {}),
  };
}

/** Writes the seed as the only pilot of `<dir>/seeds` and returns that directory and the parsed pilot. */
export function writeSeedsDir(dir: string, seed: Record<string, unknown>): { seedsDir: string; pilot: Pilot } {
  const seedsDir = join(dir, 'seeds');
  mkdirSync(seedsDir, { recursive: true });
  writeFileSync(join(seedsDir, `${String(seed['id'])}.json`), JSON.stringify(seed));
  return { seedsDir, pilot: PilotSchema.parse(seed) };
}

/** The environment variable holding a gateway's secret (its `credentialsRef` is `env:NAME`). */
export const secretEnvOf = (pilot: Pilot, gateway: string): string =>
  pilot.gateways.find((g) => g.id === gateway)!.credentialsRef.replace(/^env:/, '');

/** Connects as `gateway` the way an edge does (client id edge-<gateway>.<suffix>, TCP_NODELAY). */
export function connectGateway(port: number, gateway: string, secret: string, suffix: string): Promise<mqtt.MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect({
      host: '127.0.0.1',
      port,
      protocolVersion: 4,
      clientId: `edge-${gateway}.${suffix}`,
      username: gateway,
      password: secret,
      reconnectPeriod: 0,
    });
    c.once('connect', () => {
      (c.stream as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
      resolve(c);
    });
    c.once('error', reject);
  });
}

export function publishBatch(c: mqtt.MqttClient, pilot: string, gateway: string, batch: Parameters<typeof encodeBatch>[0]): Promise<void> {
  return new Promise((resolve, reject) =>
    c.publish(batchTopic(pilot, gateway), Buffer.from(encodeBatch(batch)), { qos: 1 }, (err) => (err ? reject(err) : resolve())),
  );
}

/** Whether each vehicle sends a link sample per second beside its state: MICHI_BENCH_FLEET_LINK=1. */
/** The state of a bus of the scaled fleet in second `s` of a run, at a point of its route: what the fleet benches send. */
export function busState(
  source: string,
  ts: number,
  seq: number,
  s: number,
  [lon, lat]: readonly [number, number],
): michi.v1.Reading.$Properties {
  return {
    state: {
      source_id: source,
      ts_ms: ts,
      seq,
      position: { lat, lon },
      speed_mps: 5,
      heading_deg: 90,
      mode: 2,
      battery_pct: 80 - s / 100,
      odometer_m: 1_000 + s * 5,
    },
  };
}

/** The 5G link sample the fleet benches send beside busState. */
export function busLink(source: string, ts: number, seq: number, [lon, lat]: readonly [number, number]): michi.v1.Reading.$Properties {
  return {
    link: {
      source_id: source,
      ts_ms: ts,
      seq,
      cell_id: '',
      pci: 101,
      band: 'n79',
      rsrp_dbm: -95,
      sinr_db: 15,
      rtt_ms: 20,
      slice: 'URLLC',
      position: { lat, lon },
    },
  };
}

export const FLEET_LINK = process.env['MICHI_BENCH_FLEET_LINK'] === '1';

/**
 * Command-line arguments of the generator, for startLoad: `--fleet SEEDS_DIR PORT[,PORT] SECONDS LINK`.
 * With several ports, each batch goes to each of those clouds.
 */
export function fleetArgs(seedsDir: string, ports: number | readonly number[], seconds: number): string[] {
  return ['--fleet', seedsDir, [ports].flat().join(','), String(seconds), FLEET_LINK ? 'link' : 'state'];
}

/** Runs the generator when the arguments are fleetArgs' (the bench file is its own generator); false otherwise. */
export async function runFleetLoadIfAsked(args: readonly string[]): Promise<boolean> {
  if (args[0] !== '--fleet') return false;
  await fleetLoad(loadSeeds(args[1]!)[0]!, args[2]!.split(',').map(Number), Number(args[3]), args[4] === 'link');
  return true;
}

/**
 * The generator (a child process started with startLoad): plays the fleet for `seconds` after the
 * go, then waits for every acknowledgement, 30 s at most, and prints the LoadResult.
 */
async function fleetLoad(pilot: Pilot, ports: readonly number[], seconds: number, withLink: boolean): Promise<void> {
  const route = pilot.routes[0]!.geometry.coordinates;
  const fleet = pilot.vehicles.filter((v) => v.id.startsWith('v'));
  const gateways = pilot.gateways.map((g) => g.id);
  // clients[gateway index]: one connection to each cloud.
  const clients = await Promise.all(
    gateways.map((g) =>
      Promise.all(ports.map((port) => connectGateway(port, g, process.env[secretEnvOf(pilot, g)]!, `fleet${process.pid}`))),
    ),
  );
  const seq = new Map(gateways.map((g) => [g, 1]));
  let acked = 0;
  let failed: Error | undefined;
  let pending = 0;
  const items = new Map<string, michi.v1.Reading.$Properties[]>(gateways.map((g) => [g, []]));
  const flush = (gateway: string): void => {
    const list = items.get(gateway)!;
    if (list.length === 0) return;
    items.set(gateway, []);
    const first = seq.get(gateway)!;
    seq.set(gateway, first + list.length);
    const payload = Buffer.from(
      encodeBatch({ pilot_id: pilot.id, gateway_id: gateway, first_seq: first, items: list, sent_ts_ms: Date.now() }),
    );
    for (const c of clients[gateways.indexOf(gateway)]!) {
      pending += list.length;
      c.publish(batchTopic(pilot.id, gateway), payload, { qos: 1 }, (err) => {
        pending -= list.length;
        if (err) failed ??= err;
        else acked += list.length;
      });
    }
  };
  await readyAndWait();
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  const started = performance.now();
  let done = 0; // vehicle slots sent: slot k is vehicle k % n in second ⌊k / n⌋, due at t0 + k·1000/n
  const total = fleet.length * seconds;
  while (done < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1_000) * fleet.length) + 1);
    for (; done < due; done++) {
      const i = done % fleet.length;
      const s = Math.floor(done / fleet.length);
      const v = fleet[i]!;
      const ts = t0 + Math.floor((done * 1_000) / fleet.length);
      const at = route[(i + s) % route.length]!;
      const list = items.get(v.gatewayId)!;
      // Per-source sequence numbers go on rising from one generator (one phase) to the next.
      const sq = 2 * Math.floor(ts / 1_000);
      list.push(busState(v.id, ts, sq + 1, s, at));
      if (withLink) list.push(busLink(v.id, ts, sq + 2, at));
      if (list.length >= BATCH_ITEMS) flush(v.gatewayId);
    }
    gateways.forEach(flush);
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  const sentMs = performance.now() - started;
  const deadline = performance.now() + 30_000;
  while (pending > 0 && failed === undefined && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (failed) throw failed;
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(
    JSON.stringify({
      readings: acked / ports.length,
      unacknowledged: pending / ports.length,
      ms: Math.max(sentMs, performance.now() - started),
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    }) + '\n',
  );
  clients.flat().forEach((c) => c.end(true));
  process.exit(0);
}
