// What the NATS mode (docs/scaling.md) costs against the single-process cloud, same run, same
// InfluxDB, same readings: acknowledged throughput of gateway batches (500 readings each, 8
// unacknowledged per gateway, the seeds' 4 gateways over MQTT 3.1.1 QoS 1) into InfluxDB.
//
// - raw: the same points POSTed as line protocol (5,000-line batches, 3 writers): the ceiling.
// - cloud: the cloud process (cloud/src/main.ts) with its own broker; a PUBACK means InfluxDB has it.
// - NATS, 1 worker / 2 workers: a three-node NATS cluster on loopback (configurations from
//   natsClusterFiles, R3 streams) and michi-ingest-worker processes in NATS mode. Gateway g
//   publishes to node g mod 3. Two times: until the last PUBACK (the batches are in JetStream, R3),
//   and until the workers' durable consumer has nothing pending or unacknowledged (every batch in
//   InfluxDB and acked): the second is the acknowledged rate compared with the cloud's.
// - NATS, 2 workers, the cloud watching: once, last, with the cloud process reading every batch from
//   its own durable consumer for its live feed, alarms and record (watch.enabled, fleet-watch.ts);
//   done when both consumers have nothing pending. Its CPU is in the cloud column.
// - CPU per process group from /proc/<pid>/stat over each phase, in cores (1.00 = one core).
// - Rounds of raw, cloud, NATS ×1, NATS ×2, raw; each path's share is its rate over the mean of the
//   raw phases around it (the InfluxDB ceiling drifts; only same-run ratios mean anything).
//
//   node --conditions=michi-src --import tsx bench/nats-cluster.bench.ts   (also part of make bench)
//   MICHI_BENCH_NATS_READINGS=200000 readings per phase, MICHI_BENCH_NATS_ROUNDS=2 rounds.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import mqtt from 'mqtt';
import { stringify } from 'yaml';
import { loadCloudConfig } from '@michi/cloud';
import { batchTopic, loadSeeds } from '@michi/proto';
import { natsClusterFiles } from '../cloud/src/nats-cluster-config.js';
import { MQTT_MSGS_STREAM } from '../cloud/src/worker-nats.js';
import {
  freePorts,
  scratchDatabases,
  startInfluxDb,
  startNatsCluster,
  tcpConnect,
  waitFor,
  type NatsClusterHandle,
} from '../scripts/test-support/index.js';
import { batches, cpuSeconds, gateways, raw, rawBaselineOf } from './ingest-load.js';

const READINGS = Number(process.env['MICHI_BENCH_NATS_READINGS'] ?? 200_000);
const ROUNDS = Number(process.env['MICHI_BENCH_NATS_ROUNDS'] ?? 2);
const IN_FLIGHT = 8;
const WORKER_PASSWORD = randomBytes(18).toString('base64url');

interface Phase {
  name: string;
  readings: number;
  /** Until every reading was acknowledged after its InfluxDB write. */
  seconds: number;
  /** NATS only: until the last PUBACK (in JetStream, not yet in InfluxDB). */
  publishSeconds?: number;
  cpu: Record<string, number>;
}

type Target = { host: string; port: number };

/** Publishes every gateway's batches at QoS 1, IN_FLIGHT unacknowledged per gateway; resolves at the last PUBACK. */
async function publishAll(targets: Target[], perGateway: Uint8Array[][], secrets: Record<string, string>): Promise<void> {
  const gws = gateways();
  const clients = await Promise.all(
    gws.map(
      (gw, g) =>
        new Promise<mqtt.MqttClient>((resolve, reject) => {
          const c = mqtt.connect({
            ...targets[g % targets.length]!,
            protocolVersion: 4,
            // As the edge agent's: NATS rejects client ids with '.', '*', '>' or spaces (subjects are made of them).
            clientId: `edge-${gw.id}`,
            username: gw.id,
            password: secrets[gw.secretEnv]!,
            clean: false,
            // As the edge does: a CONNECT can time out while JetStream is busy (measured here under load).
            reconnectPeriod: 500,
            connectTimeout: 10_000,
          });
          c.on('connect', () => {
            (c.stream as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
            resolve(c);
          });
          c.on('error', (err: Error & { code?: unknown }) => {
            if (typeof err.code === 'number') reject(err); // refused: wrong secret or permissions
          });
        }),
    ),
  );
  try {
    await Promise.all(
      perGateway.map(async (list, g) => {
        let next = 0;
        const topic = batchTopic(gws[g]!.pilot, gws[g]!.id);
        const lane = async (): Promise<void> => {
          while (next < list.length) {
            const b = list[next++]!;
            await new Promise<void>((resolve, reject) =>
              clients[g]!.publish(topic, Buffer.from(b), { qos: 1 }, (err) => (err ? reject(err) : resolve())),
            );
          }
        };
        await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
      }),
    );
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true)));
  }
}

async function measure(name: string, pids: Record<string, number[]>, run: () => Promise<Omit<Phase, 'name' | 'cpu'>>): Promise<Phase> {
  const cpuOf = (list: number[]) => list.reduce((a, pid) => a + cpuSeconds(pid), 0);
  const before = Object.fromEntries(Object.entries(pids).map(([k, list]) => [k, cpuOf(list)]));
  const wall0 = performance.now();
  const result = await run();
  const wall = (performance.now() - wall0) / 1_000;
  const cpu = Object.fromEntries(Object.entries(pids).map(([k, list]) => [k, (cpuOf(list) - before[k]!) / wall]));
  return { name, ...result, cpu };
}

function spawnNode(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--conditions=michi-src', '--import', 'tsx', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function orchestrate(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'michi-bench-nats-'));
  const influx = await startInfluxDb();
  const secrets: Record<string, string> = {
    MICHI_BENCH_API_TOKEN: randomBytes(24).toString('base64url'),
    MICHI_BENCH_WORKER: WORKER_PASSWORD,
  };
  for (const gw of gateways()) secrets[gw.secretEnv] = randomBytes(18).toString('base64url');
  const resolveSecret = loadCloudConfig(undefined, secrets).resolveSecret;
  let nats: NatsClusterHandle | undefined;
  const children: ChildProcess[] = [];
  const phases: Phase[] = [];
  try {
    nats = await startNatsCluster({
      configure: (layout) =>
        natsClusterFiles(loadSeeds('seeds'), resolveSecret, {
          cluster: layout,
          worker: {
            username: 'michi-ingest',
            password: WORKER_PASSWORD,
            stream: MQTT_MSGS_STREAM,
            durables: ['michi-ingest', 'michi-watch'],
          },
          maxPayloadBytes: 4 * 1024 * 1024,
        }).files,
    });
    const cluster = nats;
    const [mqttPort, httpPort, metricsPort, w1Port, w2Port] = (await freePorts(5)) as [number, number, number, number, number];
    const base = { seedsDir: 'seeds', influx: { url: influx.url, database: 'michi' }, log: { level: 'warn' } };
    // A failed run says why in the processes' warnings; a good one prints only the tables.
    const cloudSettings = {
      ...base,
      mqtt: { port: mqttPort },
      http: { port: httpPort },
      metrics: { port: metricsPort },
      dashboardDir: join(dir, 'none'),
      auth: { tokens: [{ id: 'bench', role: 'operator', pilots: ['*'], tokenEnv: 'MICHI_BENCH_API_TOKEN' }] },
      ...scratchDatabases(dir),
    };
    writeFileSync(join(dir, 'cloud.yaml'), stringify(cloudSettings));
    const startWorker = async (id: string, port: number): Promise<ChildProcess> => {
      const file = join(dir, `${id}.yaml`);
      writeFileSync(
        file,
        stringify({
          ...base,
          worker: { mode: 'nats', clientId: id, passwordEnv: 'MICHI_BENCH_WORKER', nats: { servers: cluster.servers }, metrics: { port } },
        }),
      );
      const child = spawnNode(['cloud/src/worker-main.ts', '--config', file], secrets);
      children.push(child);
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.ok || undefined, {
        what: `worker ${id}`,
        timeoutMs: 60_000,
      });
      return child;
    };
    const nc = await natsConnect({ servers: cluster.servers, user: 'michi-ingest', pass: WORKER_PASSWORD });
    /** Every batch acknowledged by the workers' consumer and, once the watching cloud runs, by its own. */
    let consumers = ['michi-ingest'];
    const drained = async (): Promise<void> => {
      const jsm = await jetstreamManager(nc);
      for (const durable of consumers) {
        for (;;) {
          const c = await jsm.consumers.info(MQTT_MSGS_STREAM, durable);
          if (c.num_pending === 0 && c.num_ack_pending === 0) break;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };

    const span = READINGS + 10;
    const tsBase = Date.now() - 6 * 3_600_000;
    let nextRange = 0;
    const range = (): number => tsBase + nextRange++ * span;
    const gws = gateways();
    const perGatewayBatches = (): Uint8Array[][] => {
      const ts = range();
      return gws.map((_, g) => batches(gws, g, Math.ceil(READINGS / gws.length), ts));
    };
    const readings = gws.length * Math.ceil(READINGS / gws.length);
    const natsPids = () => cluster.nodes.map((n) => n.pid);
    const natsTargets = cluster.nodes.map((n) => ({ host: n.host, port: n.mqttPort }));
    const rawPhase = async (): Promise<void> => {
      const send = raw(influx.url, range(), READINGS);
      phases.push(
        await measure('raw line protocol', { bench: [process.pid], influxd: [influx.pid] }, async () => {
          const r = await send();
          return { readings: r.readings, seconds: r.ms / 1_000 };
        }),
      );
    };
    const natsPhase = async (name: string, workerPids: number[], cloudPids: number[] = []): Promise<void> => {
      const load = perGatewayBatches();
      const pids = {
        bench: [process.pid],
        nats: natsPids(),
        workers: workerPids,
        influxd: [influx.pid],
        ...(cloudPids.length ? { cloud: cloudPids } : {}),
      };
      phases.push(
        await measure(name, pids, async () => {
          const t0 = performance.now();
          await publishAll(natsTargets, load, secrets);
          const published = performance.now();
          await drained();
          return { readings, publishSeconds: (published - t0) / 1_000, seconds: (performance.now() - t0) / 1_000 };
        }),
      );
    };

    // Warm-up, not timed: JIT, heaps, InfluxDB's series, JetStream's streams and consumer.
    const cloud = spawnNode(['cloud/src/main.ts', '--config', join(dir, 'cloud.yaml')], secrets);
    children.push(cloud);
    await waitFor(() => tcpConnect(mqttPort).then(() => true), { what: 'the cloud', timeoutMs: 60_000 });
    const w1 = await startWorker('w1', w1Port);
    await publishAll([{ host: '127.0.0.1', port: mqttPort }], perGatewayBatches(), secrets);
    await publishAll(natsTargets, perGatewayBatches(), secrets);
    await drained();

    await rawPhase();
    for (let round = 0; round < ROUNDS; round++) {
      const load = perGatewayBatches();
      phases.push(
        await measure(
          'cloud (one process), acknowledged',
          { bench: [process.pid], cloud: [cloud.pid!], influxd: [influx.pid] },
          async () => {
            const t0 = performance.now();
            await publishAll([{ host: '127.0.0.1', port: mqttPort }], load, secrets);
            return { readings, seconds: (performance.now() - t0) / 1_000 };
          },
        ),
      );
      await natsPhase('NATS cluster, 1 worker, acknowledged', [w1.pid!]);
      const w2 = await startWorker('w2', w2Port);
      await natsPhase('NATS cluster, 2 workers, acknowledged', [w1.pid!, w2.pid!]);
      await stopChild(w2);
      await rawPhase();
    }
    // Last and once: the consumer the watching cloud creates holds every later batch for it (interest
    // retention), so no phase without it may follow.
    await stopChild(cloud);
    // On the ports of the cloud it replaces.
    writeFileSync(
      join(dir, 'watch.yaml'),
      stringify({
        ...cloudSettings,
        worker: { mode: 'nats', passwordEnv: 'MICHI_BENCH_WORKER', nats: { servers: cluster.servers } },
        watch: { enabled: true, clientId: 'michi-watch' },
      }),
    );
    const watching = spawnNode(['cloud/src/main.ts', '--config', join(dir, 'watch.yaml')], secrets);
    children.push(watching);
    await waitFor(() => tcpConnect(mqttPort).then(() => true), { what: 'the watching cloud', timeoutMs: 60_000 });
    await waitFor(async () => (await jetstreamManager(nc)).consumers.info(MQTT_MSGS_STREAM, 'michi-watch').then(() => true), {
      what: "the watching cloud's consumer",
      timeoutMs: 60_000,
    });
    consumers = ['michi-ingest', 'michi-watch'];
    const w2 = await startWorker('w2', w2Port);
    await publishAll(natsTargets, perGatewayBatches(), secrets); // its warm-up
    await drained();
    await natsPhase(
      'NATS cluster, 2 workers, the cloud watching (alarms, record), acknowledged by both',
      [w1.pid!, w2.pid!],
      [watching.pid!],
    );
    await rawPhase();
    await nc.close();
  } finally {
    for (const c of children) await stopChild(c);
    await nats?.stop();
    await influx.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  const rate = (p: Phase) => p.readings / p.seconds;
  const cores = (p: Phase, k: string) => (p.cpu[k] === undefined ? '–' : p.cpu[k].toFixed(2));
  /** CPU microseconds per reading, all michi and broker processes together (not the bench's load generator, not influxd). */
  const usPerReading = (p: Phase) => {
    const ours = ['cloud', 'nats', 'workers'].reduce((a, k) => a + (p.cpu[k] ?? 0), 0);
    return ours === 0 ? '–' : ((ours / rate(p)) * 1e6).toFixed(1);
  };
  console.log(
    `\nNATS cluster vs one cloud process: ${READINGS} readings per phase, batches of 500, ${IN_FLIGHT} in flight per gateway, 4 gateways, ${ROUNDS} rounds`,
  );
  console.log(
    '\n| phase | readings/s acknowledged | vs raw around it | readings/s to the last PUBACK | CPU cloud | CPU nats-server ×3 | CPU workers | CPU influxd | µs CPU per reading (cloud or nats + workers) |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [i, p] of phases.entries()) {
    const r = rate(p);
    const ratio = p.name.startsWith('raw') ? '' : `${((r / rawBaselineOf(phases, i)) * 100).toFixed(0)}%`;
    const pub = p.publishSeconds === undefined ? '' : Math.round(p.readings / p.publishSeconds).toLocaleString('en');
    console.log(
      `| ${p.name} | ${Math.round(r).toLocaleString('en')} | ${ratio} | ${pub} | ${cores(p, 'cloud')} | ${cores(p, 'nats')} | ${cores(p, 'workers')} | ${cores(p, 'influxd')} | ${p.name.startsWith('raw') ? '' : usPerReading(p)} |`,
    );
  }
  console.log('\nCPU in cores (1.00 = one core busy) over each phase.');
}

await orchestrate();
