// What the cloud benchmarks share: the cloud (cloud/src/main.ts) as its own process with a config
// written for the run, and load generators as child processes that get ready (batches encoded,
// connections up) before an orchestrator's go, so that only the sending is measured.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { freePorts, scratchDatabases, tcpConnect, waitFor } from '../scripts/test-support/index.js';

/** Extra node flags for the cloud process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (not allowed in NODE_OPTIONS). */
export const CLOUD_NODE_ARGS = (process.env['MICHI_BENCH_CLOUD_NODE_ARGS'] ?? '').split(' ').filter(Boolean);

export interface CloudProcess {
  pid: number;
  mqttPort: number;
  grpcPort: number;
  httpPort: number;
  metricsPort: number;
  /** An operator token of every pilot, for the API and the live feed. */
  token: string;
  stop(): Promise<void>;
}

export interface CloudProcessOptions {
  /** Where its config (and alarm database) go: `<dir>/<name>.yaml`. */
  dir: string;
  name: string;
  influxUrl: string;
  seedsDir: string;
  /** Gateway secrets, by environment variable. */
  env: Record<string, string>;
  alarmsEnabled?: boolean;
  nodeArgs?: readonly string[];
}

/** Starts the cloud on free ports and resolves once MQTT and gRPC accept connections. */
export async function startCloudProcess(o: CloudProcessOptions): Promise<CloudProcess> {
  const [mqttPort, grpcPort, httpPort, metricsPort] = (await freePorts(4)) as [number, number, number, number];
  const config = join(o.dir, `${o.name}.yaml`);
  const db = scratchDatabases(o.dir, `${o.name}-`);
  const token = randomBytes(24).toString('base64url');
  writeFileSync(
    config,
    stringify({
      seedsDir: o.seedsDir,
      mqtt: { port: mqttPort },
      grpc: { enabled: true, port: grpcPort },
      http: { port: httpPort },
      metrics: { port: metricsPort },
      influx: { url: o.influxUrl, database: 'michi' },
      dashboardDir: join(o.dir, 'none'),
      auth: { tokens: [{ id: 'bench', role: 'operator', pilots: ['*'], tokenEnv: 'MICHI_BENCH_API_TOKEN' }] },
      alarms: { ...db.alarms, enabled: o.alarmsEnabled ?? true },
      records: db.records,
      log: { level: 'warn' },
    }),
  );
  const child = spawn(
    process.execPath,
    [...(o.nodeArgs ?? CLOUD_NODE_ARGS), '--conditions=michi-src', '--import', 'tsx', 'cloud/src/main.ts', '--config', config],
    { env: { ...process.env, ...o.env, MICHI_BENCH_API_TOKEN: token }, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  let started = false;
  const died = exited.then(() => {
    if (!started) throw new Error(`the cloud (${o.name}) exited with ${child.exitCode ?? child.signalCode} before listening`);
  });
  try {
    await Promise.race([
      died,
      waitFor(
        () =>
          tcpConnect(mqttPort)
            .then(() => tcpConnect(grpcPort))
            .then(() => true),
        { what: `the cloud (${o.name})`, timeoutMs: 60_000 },
      ),
    ]);
    started = true;
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid: child.pid!, mqttPort, grpcPort, httpPort, metricsPort, token, stop };
}

/** What a load generator prints when it is done. */
export interface LoadResult {
  /** Acknowledged. */
  readings: number;
  /** Sent but not acknowledged when the generator gave up waiting (fleet-load.ts). */
  unacknowledged?: number;
  ms: number;
  cpuSeconds: number;
}

/**
 * Starts `script args` (a load generator: prints "ready", waits for a line on stdin, sends, prints
 * a LoadResult as JSON and exits) and resolves once it is ready.
 */
export async function startLoad(script: string, args: string[], env: Record<string, string>): Promise<{ go: () => Promise<LoadResult> }> {
  const child: ChildProcess = spawn(process.execPath, ['--conditions=michi-src', '--import', 'tsx', script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  let buf = '';
  child.stdout!.on('data', (c: Buffer) => {
    buf += c.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
      waiters.splice(0).forEach((w) => w());
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const nextLine = async (): Promise<string> => {
    while (lines.length === 0) {
      const more = new Promise<void>((resolve) => waiters.push(resolve));
      const code = await Promise.race([more.then(() => undefined), exited]);
      if (code !== undefined && lines.length === 0) throw new Error(`load generator exited ${code}`);
    }
    return lines.shift()!;
  };
  if ((await nextLine()) !== 'ready') throw new Error('load generator did not get ready');
  return {
    async go() {
      child.stdin!.write('go\n');
      const result = JSON.parse(await nextLine()) as LoadResult;
      await exited;
      return result;
    },
  };
}

/** The generator's side of startLoad: "ready", then wait for the go. */
export async function readyAndWait(): Promise<void> {
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The cloud's Prometheus text, from its metrics listener (metrics.port), not its API port. */
export async function metricsText(metricsPort: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
}

/** The sum of every series whose line starts with `prefix` (all label values of a counter, say). */
export function metricSum(text: string, prefix: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}
