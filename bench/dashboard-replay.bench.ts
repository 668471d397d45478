// A 1-hour replay of the bus pilot in the dashboard: from pressing "Load" to the timeline ready
// (tracks fetched from the API, parsed, vehicles drawn at the cursor), in headless Chromium on
// loopback. An hour of the three buses is recorded first through the whole stack (simulator at
// full speed → edge → cloud → InfluxDB). Baseline in the same run: loading a 1-minute range the
// same way. Target (issue 5): under 2 s for the hour.
//
//   node --conditions=michi-src --import tsx bench/dashboard-replay.bench.ts [minutes] [runs]
import { cpus, loadavg } from 'node:os';
import { loadSeeds } from '@michi/proto';
import { runFleet } from '@michi/simulators';
import { launchChromium } from '../scripts/test-support/chromium.js';
import { startBenchStack } from './dashboard-support.js';

const MINUTES = Number(process.argv[2] ?? 60);
const RUNS = Number(process.argv[3] ?? 5);
const TARGET_MS = 2000;

const pilot = loadSeeds('seeds').find((p) => p.id === 'maebashi-l4-bus')!;
const stack = await startBenchStack(pilot);
const browser = await launchChromium();
try {
  const to = Date.now() - 60_000;
  const from = to - MINUTES * 60_000;
  const recorded = await runFleet({
    pilot,
    mqttUrl: stack.gatewayUrls,
    rateHz: 1,
    kinds: ['state', 'link', 'event'],
    durationS: MINUTES * 60,
    speedup: Number.POSITIVE_INFINITY,
    startTsMs: from,
  });
  // Wait until the last reading is queryable (the edges forward their buffers asynchronously).
  const headers = { authorization: `Bearer ${stack.operatorToken}` };
  for (const deadline = Date.now() + 120_000; ;) {
    const r = (await (
      await fetch(`${stack.cloud.url}/api/v1/pilots/${pilot.id}/tracks?from=${to - 30_000}&to=${to}`, { headers })
    ).json()) as {
      tracks: unknown[];
    };
    if (r.tracks.length === pilot.vehicles.length) break;
    if (Date.now() > deadline) throw new Error('the recorded hour did not reach the API within 120 s');
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }

  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${stack.cloud.url}/?pilot=${pilot.id}#token=${stack.operatorToken}`);
  await page.locator('[data-testid="vehicle-marker"]').first().waitFor({ timeout: 60_000 });

  /** ms from "Load" to the timeline ready with the vehicles drawn. */
  async function load(rangeFrom: number, rangeTo: number): Promise<number> {
    await page.goto(`${stack.cloud.url}/?pilot=${pilot.id}&mode=replay&from=${rangeFrom - 1}&to=${rangeTo - 1}`);
    await page.waitForFunction('document.body.dataset.replay === "ready"', undefined, { timeout: 60_000 });
    // Fill the inputs with the range and press Load: what a person does.
    return page.evaluate(
      `new Promise((resolve) => {
        const start = performance.now();
        const observer = new MutationObserver(() => {
          if (document.body.dataset.replay === 'ready' && document.querySelector('[data-testid="vehicle-marker"]')) {
            observer.disconnect();
            requestAnimationFrame(() => resolve(performance.now() - start));
          }
        });
        observer.observe(document.body, { attributes: true, attributeFilter: ['data-replay'] });
        document.querySelector('[data-testid="replay-load"]').click();
      })`,
    ) as Promise<number>;
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const short: number[] = [];
  const hour: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    short.push(await load(to - 60_000, to));
    hour.push(await load(from, to));
  }
  console.log(`\ndashboard replay load, ${RUNS} runs each, ${recorded.acked} readings recorded, headless Chromium on loopback`);
  console.log(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${cpus().length} cores\n`,
  );
  console.log('| range | median load → ready (ms) | min | max |');
  console.log('| --- | --- | --- | --- |');
  console.log(`| baseline: 1 minute | ${median(short).toFixed(0)} | ${Math.min(...short).toFixed(0)} | ${Math.max(...short).toFixed(0)} |`);
  console.log(`| ${MINUTES} minutes | ${median(hour).toFixed(0)} | ${Math.min(...hour).toFixed(0)} | ${Math.max(...hour).toFixed(0)} |`);
  console.log(`\nratio ${MINUTES} min / 1 min: ${(median(hour) / median(short)).toFixed(2)}×`);
  console.log(`target: < ${TARGET_MS} ms → ${median(hour) < TARGET_MS ? 'met' : 'NOT met'}`);
} finally {
  await browser.close();
  await stack.close();
}
