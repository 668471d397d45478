// Runs the k6 scripts of simulators/k6/ against a LoadStack: finds (or installs, through
// scripts/load.sh) the k6 binary, hands each script its configuration, and reads back k6's
// end-of-test summary. Used by the smoke test in `make test` and by `make load`.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { devicePassword, protoDir } from '@michi/proto';
import { runFleet } from '@michi/simulators';
import { freePort } from '../../scripts/test-support/index.js';
import type { LoadStack } from './load-stack.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const K6_DIR = path.join(ROOT, 'simulators/k6');
export const K6_SCRIPTS = ['mqtt-ingest.js', 'grpc-ingest.js', 'http-api.js'] as const;
export type K6Script = (typeof K6_SCRIPTS)[number];

/** The k6 binary: $MICHI_K6, or what scripts/load.sh --install-k6 installs (built once, then cached). */
export function k6Path(): string {
  const given = process.env['MICHI_K6'];
  if (given && existsSync(given)) return given;
  try {
    return execFileSync('bash', [path.join(ROOT, 'scripts/load.sh'), '--install-k6'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
      .trim()
      .split('\n')
      .at(-1)!;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`k6 is not installed and scripts/load.sh --install-k6 could not install it: ${e.stderr || e.message}`, { cause: err });
  }
}

export interface LoadSizes {
  mqtt: { vus: number; readingsPerVu: number; ratePerVu: number; p95Ms: number | null };
  grpc: { vus: number; batchesPerVu: number; batchSize: number; window: number; p95Ms: number | null };
  http: { viewers: number; duration: string; thinkS: number; p95Ms: number | null };
  /** Simulated minutes of the pilot's own vehicles written before the HTTP scenario. */
  preloadMin: number;
}

/** The smoke of `make test`: no latency limits (p95Ms null), since timing on a shared machine is noise; loss and errors still count. */
export const SMOKE: LoadSizes = {
  mqtt: { vus: 4, readingsPerVu: 20, ratePerVu: 20, p95Ms: null },
  grpc: { vus: 2, batchesPerVu: 3, batchSize: 50, window: 2, p95Ms: null },
  http: { viewers: 3, duration: '4s', thinkS: 0.5, p95Ms: null },
  preloadMin: 5,
};

/** Sized for this project's 2-core machine with k6, the stack and InfluxDB on it (docs/simulator.md). */
export const FULL: LoadSizes = {
  mqtt: { vus: 50, readingsPerVu: 120, ratePerVu: 2, p95Ms: 1_000 },
  grpc: { vus: 10, batchesPerVu: 30, batchSize: 100, window: 1, p95Ms: 2_000 },
  http: { viewers: 10, duration: '60s', thinkS: 5, p95Ms: 3_000 },
  preloadMin: 15,
};

/** Vehicles the stack needs: the pilot's own (preloaded for the API) plus one clone per MQTT and gRPC virtual user. */
export function vehiclesFor(sizes: LoadSizes, seeded: number): number {
  return seeded + sizes.mqtt.vus + sizes.grpc.vus;
}

/** Fills InfluxDB with `minutes` of the pilot's own vehicles and sensors, just before now; returns its start. */
export async function preload(
  stack: LoadStack,
  seeded: number,
  minutes: number,
): Promise<{ fromMs: number; toMs: number; sources: string[] }> {
  const pilot = { ...stack.pilot, vehicles: stack.pilot.vehicles.slice(0, seeded) };
  const fromMs = Date.now() - minutes * 60_000 - 5_000;
  const result = await runFleet({
    pilot,
    mqttUrl: stack.gatewayUrls,
    deviceKeys: stack.deviceKeys,
    durationS: minutes * 60,
    speedup: Infinity,
    kinds: ['state', 'link', 'event', 'sensor'],
    startTsMs: fromMs,
    fleet: { clock: {} },
    clientIdPrefix: 'load-preload',
  });
  if (result.failed > 0) throw new Error(`preloading the API's data failed: ${JSON.stringify(result.failedByReason)}`);
  return { fromMs, toMs: fromMs + minutes * 60_000, sources: [...pilot.vehicles.map((v) => v.id), ...pilot.sensors.map((s) => s.id)] };
}

/** The MICHI_LOAD_CONFIG every script reads (simulators/k6/lib/common.js). */
export function scriptConfig(
  stack: LoadStack,
  sizes: LoadSizes,
  seeded: number,
  preloaded: { fromMs: number; toMs: number; sources: string[] },
): object {
  // The MQTT vehicles connect as themselves: each gets its password (derived here, k6 has no key).
  const clones = stack.pilot.vehicles
    .slice(seeded)
    .map((v) => ({ id: v.id, gateway: v.gatewayId, password: devicePassword(stack.deviceKeys[v.gatewayId]!, v.id) }));
  const route = stack.pilot.routes[0]?.geometry.coordinates[0];
  return {
    apiUrl: stack.cloud.url,
    token: stack.operatorToken,
    pilot: stack.pilot.id,
    origin: route,
    relayUrl: stack.relayUrl,
    grpcAddr: `127.0.0.1:${stack.cloud.grpcPort}`,
    protoDir,
    secrets: stack.secrets,
    mqtt: { ...sizes.mqtt, sources: clones.slice(0, sizes.mqtt.vus) },
    grpc: { ...sizes.grpc, sources: clones.slice(sizes.mqtt.vus, sizes.mqtt.vus + sizes.grpc.vus) },
    // The viewers look at the preloaded range only, not at what the ingest scripts wrote.
    http: { ...sizes.http, fromMs: preloaded.fromMs, toMs: preloaded.toMs, sources: preloaded.sources },
  };
}

export interface K6Run {
  script: K6Script;
  /** k6's exit code: 0 passed, 99 thresholds failed, others errors. */
  code: number | null;
  /** k6's --summary-export document: metrics with their values and threshold outcomes. */
  summary: { metrics: Record<string, Record<string, unknown> & { thresholds?: Record<string, boolean> }> } | undefined;
  output: string;
  elapsedMs: number;
}

export async function runK6(k6: string, script: K6Script, config: object, timeoutMs = 600_000): Promise<K6Run> {
  const dir = mkdtempSync(path.join(tmpdir(), 'michi-k6-'));
  const summaryFile = path.join(dir, 'summary.json');
  const apiPort = await freePort();
  const started = performance.now();
  try {
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn(
        k6,
        ['run', '--quiet', '--no-color', '--no-usage-report', '--address', `127.0.0.1:${apiPort}`, '--summary-export', summaryFile, script],
        {
          cwd: K6_DIR,
          env: { ...process.env, MICHI_LOAD_CONFIG: JSON.stringify(config), K6_NO_USAGE_REPORT: 'true' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('error', reject);
      child.once('close', (c) => {
        clearTimeout(timer);
        resolve({ code: c, output: out });
      });
    });
    const summary = existsSync(summaryFile) ? (JSON.parse(readFileSync(summaryFile, 'utf8')) as K6Run['summary']) : undefined;
    return { script, code, summary, output, elapsedMs: Math.round(performance.now() - started) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Thresholds that failed, as "metric: expression". */
export function failedThresholds(run: K6Run): string[] {
  const out: string[] = [];
  for (const [name, m] of Object.entries(run.summary?.metrics ?? {})) {
    // --summary-export marks a threshold `true` when it was crossed (failed).
    for (const [expr, crossed] of Object.entries(m.thresholds ?? {})) if (crossed) out.push(`${name}: ${expr}`);
  }
  return out;
}
