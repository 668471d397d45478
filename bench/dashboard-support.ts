// What the dashboard benchmarks share: a stack (InfluxDB, cloud, edges) on loopback serving the
// built dashboard, for a pilot definition of the benchmark's choosing, with an operator token;
// and main-thread busy time of a Chromium page, read over the DevTools protocol.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CDPSession, Page } from 'playwright-core';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { loadCloudConfig, startCloud, type CloudService } from '@michi/cloud';
import type { Pilot } from '@michi/proto';
import { startInfluxDb, type InfluxHandle } from '../scripts/test-support/influxdb.js';
import { scratchDatabases } from '../scripts/test-support/scratch-databases.js';
import { startPilotEdges } from '../scripts/test-support/stack.js';

export interface BenchStack {
  influx: InfluxHandle;
  cloud: CloudService;
  gatewayUrls: Record<string, string>;
  /** gateway id → its edge's device key, for runFleet. */
  deviceKeys: Record<string, string>;
  operatorToken: string;
  close(): Promise<void>;
}

/** Starts InfluxDB, the cloud (with the dashboard and an operator token) and the pilot's edges. */
export async function startBenchStack(pilot: Pilot): Promise<BenchStack> {
  const dir = mkdtempSync(join(tmpdir(), 'michi-bench-dash-'));
  const seeds = join(dir, 'seeds');
  mkdirSync(seeds);
  writeFileSync(join(seeds, `${pilot.id}.json`), JSON.stringify(pilot));
  const secrets: Record<string, string> = { MICHI_BENCH_OPERATOR_TOKEN: randomBytes(24).toString('base64url') };
  for (const gw of pilot.gateways) secrets[gw.credentialsRef.replace(/^env:/, '')] = randomBytes(18).toString('base64url');
  const influx = await startInfluxDb();
  const started: { close(): Promise<void> }[] = [];
  const close = async () => {
    for (const s of started.reverse()) await s.close().catch(() => undefined);
    await influx.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const file = join(dir, 'cloud.yaml');
    writeFileSync(
      file,
      stringify({
        seedsDir: seeds,
        dashboardDir: 'dashboard/dist',
        mqtt: { port: 0 },
        http: { port: 0, host: '127.0.0.1' },
        metrics: { port: 0 },
        influx: { url: influx.url, database: influx.database },
        ...scratchDatabases(dir),
        auth: { tokens: [{ id: 'bench-operator', role: 'operator', pilots: ['*'], tokenEnv: 'MICHI_BENCH_OPERATOR_TOKEN' }] },
      }),
    );
    const logger = pino({ level: 'silent' });
    const cloud = await startCloud(loadCloudConfig(file, secrets), { logger });
    started.push(cloud);
    const { gatewayUrls, deviceKeys } = await startPilotEdges({
      pilot,
      seedsDir: seeds,
      dir,
      cloudMqttPort: cloud.mqttPort,
      env: secrets,
      logger,
      started,
    });
    return { influx, cloud, gatewayUrls, deviceKeys, operatorToken: secrets['MICHI_BENCH_OPERATOR_TOKEN']!, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Long tasks (> 50 ms) of the page, summed from page start, by the Performance API. */
export const LONG_TASK_SCRIPT = `
  window.__michiLongTaskMs = 0;
  new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__michiLongTaskMs += e.duration; })
    .observe({ type: 'longtask', buffered: true });
`;

export interface BusyShare {
  /** Renderer main-thread task time / wall time (Chromium's own accounting, CDP Performance.TaskDuration). */
  taskShare: number;
  /** Main-thread CPU time / wall time (CDP Performance.ThreadTime): what the page costs, without the waits of a loaded machine. */
  cpuShare: number;
  /** Time in long tasks (> 50 ms, Performance API) / wall time. */
  longTaskShare: number;
  /** Frames drawn per second (requestAnimationFrame callbacks). */
  fps: number;
}

interface Sample {
  /** CDP's own clock (s) when the metrics were taken. */
  at: number;
  task: number;
  cpu: number;
  /** The page's clock (ms), long-task total (ms) and frame count, read in one go. */
  pageNow: number;
  longMs: number;
  frames: number;
}

async function sample(page: Page, cdp: CDPSession): Promise<Sample> {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const get = (name: string) => metrics.find((m) => m.name === name)?.value ?? 0;
  const [pageNow, longMs, frames] = (await page.evaluate(
    '[performance.now(), window.__michiLongTaskMs, window.__michiFrames]',
  )) as number[];
  return { at: get('Timestamp'), task: get('TaskDuration'), cpu: get('ThreadTime'), pageNow: pageNow!, longMs: longMs!, frames: frames! };
}

/**
 * Measures the page's main thread for about `ms`. Each figure is divided by the interval of its
 * own clock (CDP's Timestamp for its metrics, the page's performance.now() for long tasks and
 * frames), so a slow answer from a busy page does not skew the shares.
 */
export async function measureBusy(page: Page, cdp: CDPSession, ms: number): Promise<BusyShare> {
  // A string, not a function: tsx's transpiled functions reference helpers the page does not have.
  await page.evaluate(`(() => {
    window.__michiFrames = 0;
    window.__michiCount = true;
    const tick = () => {
      if (!window.__michiCount) return;
      window.__michiFrames += 1;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  })()`);
  const a = await sample(page, cdp);
  await new Promise((resolve) => setTimeout(resolve, ms));
  const b = await sample(page, cdp);
  await page.evaluate('window.__michiCount = false');
  const cdpWall = b.at - a.at;
  const pageWall = b.pageNow - a.pageNow;
  return {
    taskShare: (b.task - a.task) / cdpWall,
    cpuShare: (b.cpu - a.cpu) / cdpWall,
    longTaskShare: (b.longMs - a.longMs) / pageWall,
    fps: ((b.frames - a.frames) * 1000) / pageWall,
  };
}

/** The functions that took the page's main thread longest over `ms` (self time), for finding what to fix. */
export async function profileTop(cdp: CDPSession, ms: number, top = 15): Promise<string[]> {
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.start');
  await new Promise((resolve) => setTimeout(resolve, ms));
  const { profile } = await cdp.send('Profiler.stop');
  const self = new Map<string, number>();
  const dt = profile.timeDeltas ?? [];
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  (profile.samples ?? []).forEach((id, i) => {
    const n = byId.get(id)!;
    const key = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0) / 1000);
  });
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, v]) => `${v.toFixed(0).padStart(6)} ms  ${k}`);
}
