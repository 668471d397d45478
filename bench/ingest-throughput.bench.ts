// Ingest throughput (issue 4): the acknowledged rate of gateway batches edge → cloud → InfluxDB,
// over MQTT and over gRPC, against the rate at which the same InfluxDB accepts the same points as
// line protocol, all in one run (the InfluxDB ceiling drifts 25-30% within an hour: only same-run
// ratios mean anything). Goal: each path ≥ 70% of raw.
//
// - raw: this process POSTs the lines the cloud would write for the same readings
//   (readingToLine), 5,000-line batches, 3 concurrent writers.
// - Untimed warm-up through raw, MQTT and gRPC first; then rounds of raw, MQTT, gRPC, raw: each
//   path's share is its rate over the mean of the raw phases just before and after it, and the
//   median of the rounds is its figure.
// - MQTT / gRPC: the cloud runs as its own process (cloud/src/main.ts), and a load generator
//   process plays the uplinks of the seeds' 4 gateways as the edge agent sends them: batches of 500
//   readings, 8 unacknowledged per gateway, QoS 1 / one Upload stream each, one connection each. A batch counts once its
//   PUBACK / UploadResponse ACCEPTED arrived, i.e. once InfluxDB accepted it.
// - CPU per process from /proc/<pid>/stat (utime + stime) over each phase, in cores.
// - From the cloud's /metrics over each path's phase: lines per InfluxDB request, the requests'
//   mean duration, and the mean time from receiving a batch to acknowledging it.
//
//   make bench   (or: node --conditions=michi-src --import tsx bench/ingest-throughput.bench.ts)
//   MICHI_BENCH_INGEST_READINGS=400000 sets the readings per phase, MICHI_BENCH_INGEST_ROUNDS=3 the
//   rounds, MICHI_BENCH_INGEST_IN_FLIGHT=8 the unacknowledged batches per gateway (the edge's
//   uplink.maxInflightBatches),
//   MICHI_BENCH_CLOUD_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" profiles the cloud.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import mqtt from 'mqtt';
import { stringify } from 'yaml';
import { cloudIngestClient, gatewayMetadata, uploadRequest, type UploadAck } from '@michi/cloud';
import { batchTopic } from '@michi/proto';
import { freePorts, scratchDatabases, startInfluxDb, tcpConnect, waitFor } from '../scripts/test-support/index.js';
import { BATCH_ITEMS, batches, cpuSeconds, gateways, raw, rawBaselineOf } from './ingest-load.js';
import { startLoad as startLoadScript } from './cloud-process.js';

const READINGS = Number(process.env['MICHI_BENCH_INGEST_READINGS'] ?? 400_000);
/** Rounds of MQTT, gRPC, raw after the first raw phase; each path's figure is the median of its rounds. */
const ROUNDS = Number(process.env['MICHI_BENCH_INGEST_ROUNDS'] ?? 3);
/** Readings of the untimed warm-up, through raw, MQTT and gRPC each. */
const WARM_UP = Math.ceil(READINGS / 4);
const IN_FLIGHT = Number(process.env['MICHI_BENCH_INGEST_IN_FLIGHT'] ?? 8);
/** Extra node flags for the cloud process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (not allowed in NODE_OPTIONS). */
const CLOUD_NODE_ARGS = (process.env['MICHI_BENCH_CLOUD_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
const SELF = fileURLToPath(import.meta.url);

// ---- load generator (a child process): `--load mqtt|grpc PORT TS_BASE` ----

async function sendAll(perGateway: Uint8Array[][], send: (g: number, b: Uint8Array) => Promise<void>): Promise<void> {
  await Promise.all(
    perGateway.map(async (list, g) => {
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < list.length) await send(g, list[next++]!);
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
    }),
  );
}

async function load(transport: string, port: number, tsBase: number, total: number): Promise<void> {
  const gws = gateways();
  const perGateway = gws.map((_, g) => batches(gws, g, Math.ceil(total / gws.length), tsBase));
  const secret = (g: number) => process.env[gws[g]!.secretEnv]!;
  let send: (g: number, b: Uint8Array) => Promise<void>;
  let close: () => void;
  if (transport === 'mqtt') {
    const clients = await Promise.all(
      gws.map(
        (gw, g) =>
          new Promise<mqtt.MqttClient>((resolve, reject) => {
            const c = mqtt.connect({
              host: '127.0.0.1',
              port,
              protocolVersion: 4,
              clientId: `edge-${gw.id}.bench`,
              username: gw.id,
              password: secret(g),
              reconnectPeriod: 0,
            });
            c.once('connect', () => {
              (c.stream as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
              resolve(c);
            });
            c.once('error', reject);
          }),
      ),
    );
    send = (g, b) =>
      new Promise((resolve, reject) =>
        clients[g]!.publish(batchTopic(gws[g]!.pilot, gws[g]!.id), Buffer.from(b), { qos: 1 }, (err) => (err ? reject(err) : resolve())),
      );
    close = () => clients.forEach((c) => c.end(true));
  } else {
    // One connection per gateway, as edges have: grpc-js would otherwise share one subchannel, and so
    // one 64 KiB HTTP/2 connection window (the server's cannot be raised), among the 4 gateways.
    const clients = gws.map(() =>
      cloudIngestClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }),
    );
    const streams = gws.map((gw, g) => {
      const call = clients[g]!.upload(gatewayMetadata(gw.id, secret(g)));
      const waiting: ((a: UploadAck) => void)[] = [];
      call.on('data', (a: UploadAck) => waiting.shift()?.(a));
      call.on('error', (err) => {
        console.error(err);
        process.exit(1);
      });
      return { call, waiting };
    });
    send = (g, b) =>
      new Promise((resolve, reject) => {
        const s = streams[g]!;
        s.waiting.push((a) => (a.status === 'ACK_STATUS_ACCEPTED' ? resolve() : reject(new Error(`${a.status} ${a.detail}`))));
        s.call.write(uploadRequest(b));
      });
    close = () => {
      streams.forEach((s) => s.call.end());
      clients.forEach((c) => c.close());
    };
  }
  // Batches encoded and connections up: wait for the orchestrator's go, so that only sending is timed.
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await sendAll(perGateway, send);
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  const readings = gws.length * Math.ceil(total / gws.length);
  process.stdout.write(JSON.stringify({ readings, ms, cpuSeconds: (cpu.user + cpu.system) / 1e6 }) + '\n');
  close();
  process.exit(0);
}

// ---- orchestrator ----

interface Phase {
  name: string;
  readings: number;
  seconds: number;
  cpu: Record<string, number>;
  cloud?: CloudFigures;
}

/** Sums and counts of the cloud's histograms that explain a path's rate. */
interface CloudFigures {
  requests: number;
  lines: number;
  writeSeconds: number;
  acks: number;
  ackSeconds: number;
}

/** From the cloud's metrics listener (metrics.port), not its API port. */
async function cloudFigures(metricsPort: number): Promise<CloudFigures> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const sum = (prefix: string): number =>
    text
      .split('\n')
      .filter((l) => l.startsWith(prefix))
      .reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  return {
    requests: sum('michi_cloud_influx_write_lines_count'),
    lines: sum('michi_cloud_influx_write_lines_sum'),
    writeSeconds: sum('michi_cloud_influx_write_seconds_sum'),
    acks: sum('michi_cloud_batch_ack_seconds_count'),
    ackSeconds: sum('michi_cloud_batch_ack_seconds_sum'),
  };
}

function figuresBetween(a: CloudFigures, b: CloudFigures): CloudFigures {
  return {
    requests: b.requests - a.requests,
    lines: b.lines - a.lines,
    writeSeconds: b.writeSeconds - a.writeSeconds,
    acks: b.acks - a.acks,
    ackSeconds: b.ackSeconds - a.ackSeconds,
  };
}

async function measure(
  name: string,
  pids: Record<string, number>,
  run: () => Promise<{ readings: number; ms: number; cpuSeconds?: number }>,
): Promise<Phase> {
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  const wall0 = performance.now();
  const { readings, ms, cpuSeconds: loadCpu } = await run();
  const wall = (performance.now() - wall0) / 1_000;
  const cpu = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, (cpuSeconds(pid) - before[k]!) / wall]));
  if (loadCpu !== undefined) cpu['load'] = loadCpu / (ms / 1_000);
  return { name, readings, seconds: ms / 1_000, cpu };
}

/** Starts a load generator (this file with --load) and resolves once it has encoded its batches and connected. */
function startLoad(args: string[], env: Record<string, string>): ReturnType<typeof startLoadScript> {
  return startLoadScript(SELF, args, env);
}

async function orchestrate(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'michi-bench-ingest-'));
  const influx = await startInfluxDb();
  const secrets: Record<string, string> = { MICHI_BENCH_API_TOKEN: randomBytes(24).toString('base64url') };
  for (const gw of gateways()) secrets[gw.secretEnv] = randomBytes(18).toString('base64url');
  const [mqttPort, grpcPort, httpPort, metricsPort] = (await freePorts(4)) as [number, number, number, number];
  const config = join(dir, 'cloud.yaml');
  writeFileSync(
    config,
    stringify({
      seedsDir: 'seeds',
      mqtt: { port: mqttPort },
      grpc: { enabled: true, port: grpcPort },
      http: { port: httpPort },
      metrics: { port: metricsPort },
      influx: { url: influx.url, database: 'michi' },
      dashboardDir: join(dir, 'none'),
      auth: { tokens: [{ id: 'bench', role: 'operator', pilots: ['*'], tokenEnv: 'MICHI_BENCH_API_TOKEN' }] },
      ...scratchDatabases(dir),
      log: { level: 'warn' },
    }),
  );
  const cloud = spawn(
    process.execPath,
    [...CLOUD_NODE_ARGS, '--conditions=michi-src', '--import', 'tsx', 'cloud/src/main.ts', '--config', config],
    {
      env: { ...process.env, ...secrets },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const phases: Phase[] = [];
  try {
    await waitFor(
      () =>
        tcpConnect(mqttPort)
          .then(() => tcpConnect(grpcPort))
          .then(() => true),
      { what: 'the cloud', timeoutMs: 60_000 },
    );
    // Every phase writes points of its own time range, all in the past.
    const span = READINGS + 10;
    const tsBase = Date.now() - 4 * 3_600_000;
    let nextRange = 0;
    const range = (): number => tsBase + nextRange++ * span;
    const loadArgs = (transport: 'mqtt' | 'grpc', total: number) => [
      '--load',
      transport,
      String(transport === 'mqtt' ? mqttPort : grpcPort),
      String(range()),
      String(total),
    ];
    // Warm-up, not timed: whichever phase ran first paid for the JIT compiling the cloud's hot code,
    // V8 and Go growing their heaps and InfluxDB creating the series (same commit, MQTT first: MQTT
    // 57-67 % of raw, gRPC 70-75 %; gRPC first: gRPC 61-62 %, MQTT 73 %). A cloud runs for days.
    await raw(influx.url, range(), WARM_UP)();
    for (const transport of ['mqtt', 'grpc'] as const) await (await startLoad(loadArgs(transport, WARM_UP), secrets)).go();
    const rawPhase = async () => {
      const send = raw(influx.url, range(), READINGS);
      phases.push(await measure('raw line protocol', { bench: process.pid, influxd: influx.pid }, send));
    };
    // Rounds: raw, then MQTT, gRPC, raw again, so that each path has a raw phase just before and
    // just after it. The rate InfluxDB manages on this shared machine drifts by a third from one
    // minute to the next; one round was a lottery.
    await rawPhase();
    for (let round = 0; round < ROUNDS; round++) {
      for (const transport of ['mqtt', 'grpc'] as const) {
        // The generator encodes its batches and connects first; only the sending is timed.
        const gen = await startLoad(loadArgs(transport, READINGS), secrets);
        const before = await cloudFigures(metricsPort);
        const phase = await measure(
          transport === 'mqtt' ? 'MQTT, acknowledged' : 'gRPC, acknowledged',
          { cloud: cloud.pid!, influxd: influx.pid },
          () => gen.go(),
        );
        phases.push({ ...phase, cloud: figuresBetween(before, await cloudFigures(metricsPort)) });
      }
      await rawPhase();
    }
  } finally {
    cloud.kill('SIGTERM');
    await new Promise((r) => cloud.once('exit', r));
    await influx.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  const rate = (p: Phase) => p.readings / p.seconds;
  const cpu = (p: Phase, k: string) => (p.cpu[k] === undefined ? '' : p.cpu[k].toFixed(2));
  /** CPU microseconds per reading: less sensitive than rates to other load on the machine. */
  const us = (p: Phase, k: string) => (p.cpu[k] === undefined ? '' : ((p.cpu[k] / rate(p)) * 1e6).toFixed(1));
  const client = (p: Phase) => (p.cpu['load'] === undefined ? 'bench' : 'load');
  console.log(
    `\ningest throughput: ${READINGS} readings per phase, batches of ${BATCH_ITEMS}, ${IN_FLIGHT} in flight per gateway, 4 gateways, ${ROUNDS} rounds`,
  );
  console.log(
    '\n| phase | readings/s | vs raw around it | CPU cloud | CPU load generator / raw writer | CPU influxd | µs CPU per reading: cloud / client / influxd |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  const ratios: Record<string, number[]> = {};
  for (const [i, p] of phases.entries()) {
    const r = rate(p);
    let ratio = '';
    if (!p.name.startsWith('raw')) {
      const share = r / rawBaselineOf(phases, i);
      (ratios[p.name] ??= []).push(share);
      ratio = `${(share * 100).toFixed(0)}%`;
    }
    console.log(
      `| ${p.name} | ${Math.round(r).toLocaleString('en')} | ${ratio} | ${cpu(p, 'cloud')} | ${cpu(p, client(p))} | ${cpu(p, 'influxd')} | ${us(p, 'cloud') || '–'} / ${us(p, client(p))} / ${us(p, 'influxd')} |`,
    );
  }
  console.log('\nCPU in cores (1.00 = one core busy).\n\n| path | share of raw, median of the rounds (goal ≥ 70%) | lowest | highest |');
  console.log('| --- | ---: | ---: | ---: |');
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  for (const [name, list] of Object.entries(ratios)) {
    const sorted = [...list].sort((a, b) => a - b);
    const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
    console.log(`| ${name} | ${pct(median)} | ${pct(sorted[0]!)} | ${pct(sorted.at(-1)!)} |`);
  }
  console.log('\n| path | InfluxDB requests | lines per request | ms per request | ms from batch received to acknowledged |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const p of phases) {
    const f = p.cloud;
    if (!f) continue;
    console.log(
      `| ${p.name} | ${f.requests} | ${Math.round(f.lines / f.requests).toLocaleString('en')} | ${((f.writeSeconds / f.requests) * 1e3).toFixed(0)} | ${((f.ackSeconds / f.acks) * 1e3).toFixed(0)} |`,
    );
  }
}

const args = process.argv.slice(2);
if (args[0] === '--load') await load(args[1]!, Number(args[2]), Number(args[3]), Number(args[4]));
else await orchestrate();
