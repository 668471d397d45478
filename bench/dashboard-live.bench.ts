// The dashboard with 1,000 vehicles live at 1 Hz: how busy is the page's main thread? A pilot
// scaled to 1,000 buses (simulators' scalePilot) runs through the whole stack (edge, cloud,
// InfluxDB, WebSocket live feed) into headless Chromium. Baseline in the same run: the same page,
// same pilot, before any vehicle reports (0 vehicles live). Target (issue 5): under 30% busy.
//
//   node --conditions=michi-src --import tsx bench/dashboard-live.bench.ts [vehicles] [seconds]
import { cpus, loadavg } from 'node:os';
import { loadSeeds } from '@michi/proto';
import { runFleet, scalePilot } from '@michi/simulators';
import { launchChromium } from '../scripts/test-support/chromium.js';
import { LONG_TASK_SCRIPT, measureBusy, profileTop, startBenchStack, type BusyShare } from './dashboard-support.js';

const VEHICLES = Number(process.argv[2] ?? 1000);
const WINDOW_S = Number(process.argv[3] ?? 20);
const TARGET = 0.3;

const base = loadSeeds('seeds').find((p) => p.id === 'maebashi-l4-bus')!;
const pilot = scalePilot(base, VEHICLES);
const stack = await startBenchStack(pilot);
const browser = await launchChromium();
const stopFleet = new AbortController();
let fleet: Promise<unknown> | null = null;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.addInitScript(LONG_TASK_SCRIPT);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  await page.goto(`${stack.cloud.url}/?pilot=${pilot.id}#token=${stack.operatorToken}`);
  await page.locator('[data-testid="vehicle-row"]').first().waitFor({ timeout: 60_000 });
  await page.waitForTimeout(3000);
  page.on('crash', () => console.log('the page crashed'));
  const idle = await measureBusy(page, cdp, WINDOW_S * 1000);
  console.log(`baseline measured: busy ${(idle.taskShare * 100).toFixed(1)}%, CPU ${(idle.cpuShare * 100).toFixed(1)}%`);
  // MICHI_BENCH_PROFILE=1: where the main thread's time goes, idle and live.
  if (process.env['MICHI_BENCH_PROFILE']) console.log(`idle profile:\n${(await profileTop(cdp, 5000)).join('\n')}`);

  fleet = runFleet({
    pilot,
    mqttUrl: stack.gatewayUrls,
    deviceKeys: stack.deviceKeys,
    rateHz: 1,
    kinds: ['state'],
    signal: stopFleet.signal,
    maxInFlight: 5000,
  });
  const liveRows = async () => Number(await page.locator('[data-testid="vehicle-section"]').getAttribute('data-live'));
  const deadline = Date.now() + 90_000;
  while ((await liveRows()) < VEHICLES * 0.95) {
    if (Date.now() > deadline) throw new Error(`only ${await liveRows()} of ${VEHICLES} vehicles live after 90 s`);
    await page.waitForTimeout(1000);
    console.log(`${await liveRows()} vehicles live`);
  }
  const transport = await page.locator('[data-testid="feed-status"]').getAttribute('data-transport');
  await page.waitForTimeout(3000);
  const live = await measureBusy(page, cdp, WINDOW_S * 1000);
  if (process.env['MICHI_BENCH_PROFILE']) console.log(`live profile:\n${(await profileTop(cdp, 5000)).join('\n')}`);
  const liveCount = await liveRows().catch(() => Number.NaN);

  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const row = (name: string, b: BusyShare) =>
    `| ${name} | ${pct(b.taskShare)} | ${pct(b.cpuShare)} | ${pct(b.longTaskShare)} | ${b.fps.toFixed(0)} |`;
  console.log(`\ndashboard main thread, ${WINDOW_S} s windows, 1280×800 headless Chromium, feed: ${transport}\n`);
  console.log(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${cpus().length} cores`,
  );
  console.log('| page | main-thread busy (TaskDuration) | main-thread CPU (ThreadTime) | in long tasks (> 50 ms) | frames/s |');
  console.log('| --- | --- | --- | --- | --- |');
  console.log(row('baseline: same pilot, 0 vehicles live', idle));
  console.log(row(`${liveCount} vehicles live at 1 Hz`, live));
  console.log(`\nratio live / baseline (busy): ${(live.taskShare / Math.max(1e-6, idle.taskShare)).toFixed(2)}×`);
  console.log(`ratio live / baseline (CPU): ${(live.cpuShare / Math.max(1e-6, idle.cpuShare)).toFixed(2)}×`);
  console.log(
    `target: busy < ${pct(TARGET)} → ${live.taskShare < TARGET ? 'met' : 'NOT met'} (busy), ${live.cpuShare < TARGET ? 'met' : 'NOT met'} (CPU)`,
  );
} finally {
  stopFleet.abort();
  await fleet?.catch(() => undefined);
  await browser.close();
  await stack.close();
}
