// `make load` (scripts/load.sh): starts a LoadStack sized for the full scenarios, preloads an hour of
// the pilot for the API, runs every k6 script of simulators/k6/ one after the other, and writes
// .run/load/summary.json (per script: exit code, failed thresholds, key figures) and
// .run/load/summary.html (the same as a table with latency bars). Exits 1 if any script failed.
// MICHI_LOAD_SMOKE=1 runs the smoke sizes instead.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  failedThresholds,
  FULL,
  K6_SCRIPTS,
  k6Path,
  preload,
  ROOT,
  runK6,
  scriptConfig,
  SMOKE,
  vehiclesFor,
  type K6Run,
} from './k6-runner.js';
import { startLoadStack } from './load-stack.js';

const SEEDED = 3;
const smoke = process.env['MICHI_LOAD_SMOKE'] === '1';
const sizes = smoke ? SMOKE : FULL;
const outDir = path.join(ROOT, '.run/load');

/** The figures worth a glance from one script's summary. */
function figures(run: K6Run): Record<string, number | string> {
  const m = run.summary?.metrics ?? {};
  const pick = (metric: string, stat: string): number | undefined => {
    const v = m[metric]?.[stat];
    return typeof v === 'number' ? Math.round(v * 100) / 100 : undefined;
  };
  const out: Record<string, number | string> = {};
  const add = (label: string, v: number | undefined): void => {
    if (v !== undefined) out[label] = v;
  };
  if (run.script === 'mqtt-ingest.js') {
    add('readings acked', pick('mqtt_readings_acked', 'count'));
    add('readings/s', pick('mqtt_readings_acked', 'rate'));
    add('PUBACK p50 ms', pick('mqtt_puback_ms', 'med'));
    add('PUBACK p95 ms', pick('mqtt_puback_ms', 'p(95)'));
    add('failed rate', pick('mqtt_publish_failed', 'value'));
  } else if (run.script === 'grpc-ingest.js') {
    add('readings acked', pick('grpc_readings_acked', 'count'));
    add('readings/s', pick('grpc_readings_acked', 'rate'));
    add('ack p50 ms', pick('grpc_ack_ms', 'med'));
    add('ack p95 ms', pick('grpc_ack_ms', 'p(95)'));
    add('failed rate', pick('grpc_batch_failed', 'value'));
  } else {
    add('requests', pick('http_reqs', 'count'));
    add('requests/s', pick('http_reqs', 'rate'));
    add('p50 ms', pick('http_req_duration', 'med'));
    add('p95 ms', pick('http_req_duration', 'p(95)'));
    add('error rate', pick('http_req_failed', 'value'));
  }
  add('readings lost', pick('readings_lost', 'count') ?? 0);
  return out;
}

function html(results: { script: string; passed: boolean; failed: string[]; figures: Record<string, number | string> }[]): string {
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const rows = results
    .map((r) => {
      const lat = Object.entries(r.figures).filter(([k]) => / ms$/.test(k)) as [string, number][];
      const max = Math.max(1, ...lat.map(([, v]) => v));
      const bars = lat
        .map(
          ([k, v]) =>
            `<div>${esc(k)} <svg width="220" height="12"><rect width="${Math.round((v / max) * 200)}" height="12" fill="#3b82f6"/></svg> ${v}</div>`,
        )
        .join('');
      const figs = Object.entries(r.figures)
        .map(([k, v]) => `${esc(k)}: <b>${esc(String(v))}</b>`)
        .join('<br>');
      return `<tr><td>${esc(r.script)}</td><td style="color:${r.passed ? 'green' : 'red'}">${r.passed ? 'passed' : `failed: ${esc(r.failed.join('; '))}`}</td><td>${figs}</td><td>${bars}</td></tr>`;
    })
    .join('\n');
  return `<!doctype html><meta charset="utf-8"><title>michi load test</title>
<style>body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:6px;vertical-align:top}table{border-collapse:collapse}</style>
<h1>michi load test${smoke ? ' (smoke)' : ''}</h1><p>${new Date().toISOString()}</p>
<table><tr><th>script</th><th>thresholds</th><th>figures</th><th>latency</th></tr>
${rows}
</table>`;
}

async function main(): Promise<number> {
  const k6 = k6Path();
  console.log(`load: starting the stack (${vehiclesFor(sizes, SEEDED)} vehicles)`);
  const stack = await startLoadStack({ pilotId: 'maebashi-l4-bus', vehicles: vehiclesFor(sizes, SEEDED) });
  // Ctrl-C still stops InfluxDB and the stack.
  const interrupted = (): void => void stack.close().finally(() => process.exit(130));
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    console.log(`load: preloading ${sizes.preloadMin} simulated minutes for the API`);
    const config = scriptConfig(stack, sizes, SEEDED, await preload(stack, SEEDED, sizes.preloadMin));
    const results = [];
    for (const script of K6_SCRIPTS) {
      console.log(`load: k6 run ${script}`);
      const run = await runK6(k6, script, config);
      const failed = failedThresholds(run);
      const passed = run.code === 0 && failed.length === 0;
      if (!passed) console.log(run.output);
      results.push({ script, passed, code: run.code, failed, elapsedMs: run.elapsedMs, figures: figures(run) });
      console.log(`load: ${script} ${passed ? 'passed' : 'FAILED'} ${JSON.stringify(figures(run))}`);
    }
    mkdirSync(outDir, { recursive: true });
    writeFileSync(path.join(outDir, 'summary.json'), `${JSON.stringify({ smoke, sizes, results }, null, 2)}\n`);
    writeFileSync(path.join(outDir, 'summary.html'), html(results));
    console.log(`load: wrote ${path.relative(ROOT, outDir)}/summary.json and summary.html`);
    const ok = results.every((r) => r.passed);
    console.log(`load: ${results.filter((r) => r.passed).length} passed, ${results.filter((r) => !r.passed).length} failed`);
    return ok ? 0 : 1;
  } finally {
    await stack.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error('load:', err);
    process.exitCode = 1;
  },
);
