// End-to-end latency: a reading leaving the simulator (its source timestamp; the simulator's clock
// is this machine's, no drift) to its arrival on the cloud's live WebSocket feed
// (/api/v1/live?hz=10, so the 1 Hz updates of a vehicle are never throttled), through the edge's
// MQTT broker and buffer, the uplink and the cloud's ingest. p50/p90/p99 at 1,000 vehicles × 1 Hz
// (goal p99 ≤ 100 ms), twice: with the vehicles' reports spread over each second (michi-sim
// --phases 20, as independent vehicles' clocks are) and with all 1,000 at the same instant (the
// simulator's default, the worst burst); against a baseline of the same path at 10 vehicles in the
// same run. Processes: michi-sim, the stack (cloud and edges), influxd, and this one (the viewer).
// Then where the time goes, per hop (issue 15): the cloud's hop histogram scraped at the start and
// the end of the measured window (hop-breakdown.ts): to_edge (source timestamp to the edge's
// receipt), edge_held (the uplink's batching), uplink (edge sent to cloud received), validate,
// live_push (validated to sent on the feed); beside them the end-to-end figures of this viewer.
// The hops count every reading observed in the window, the viewer those it saw after the warm-up.
//   node --conditions=michi-src --import tsx bench/latency.bench.ts   (make bench runs it)
// MICHI_BENCH_LATENCY_S sets the measured seconds (default 40, after a 10 s warm-up).
// MICHI_BENCH_LATENCY_ONLY=burst (or base, spread; comma-separated) runs only those fleets, and
// MICHI_BENCH_STACK_NODE_ARGS / MICHI_BENCH_SIM_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" profile
// the stack and the simulator (sim-harness.ts); MICHI_LOAD_EDGE_UPLINK='{"maxLiveBatchesInFlight":1}'
// runs the edges with other uplink settings (simulators/test/load-stack-main.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { hopRows, scrapeHops, type HopRow, type HopSnapshot } from './hop-breakdown.js';
import { percentile, startSim, startStackProcess } from './sim-harness.js';

const MEASURE_S = Number(process.env['MICHI_BENCH_LATENCY_S'] ?? 40);
const WARMUP_S = 10;

interface Result {
  vehicles: number;
  setting: string;
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  hops: HopRow[];
}

const HOPS = ['to_edge', 'edge_held', 'uplink', 'validate', 'live_push'] as const;

async function measure(vehicles: number, phases = 1): Promise<Result> {
  const stack = await startStackProcess(vehicles);
  const { info } = stack;
  try {
    const ws = new WebSocket(`${info.apiUrl.replace(/^http/, 'ws')}/api/v1/live?pilot=${info.pilotId}&hz=10`, {
      headers: { authorization: `Bearer ${info.token}` },
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const latencies: number[] = [];
    let from = Infinity;
    ws.on('message', (data: Buffer) => {
      const now = Date.now();
      const msg = JSON.parse(data.toString()) as { type: string; vehicle?: { state?: { ts_ms: number } } };
      const ts = msg.type === 'state' ? msg.vehicle?.state?.ts_ms : undefined;
      if (ts !== undefined && ts >= from) latencies.push(now - ts);
    });
    from = Date.now() + WARMUP_S * 1000;
    const metricsUrl = info.metricsUrl!;
    let atStart: Promise<HopSnapshot> | undefined;
    const warmedUp = setTimeout(() => (atStart = scrapeHops(metricsUrl)), WARMUP_S * 1000);
    const sim = startSim(info, WARMUP_S + MEASURE_S, ['--phases', String(phases)]);
    const { code, stdout } = await sim.done;
    clearTimeout(warmedUp);
    if (code !== 0) throw new Error(`michi-sim exited with ${code}: ${stdout}`);
    await sleep(2_000);
    ws.close();
    const hops = hopRows(await (atStart ?? scrapeHops(metricsUrl)), await scrapeHops(metricsUrl), HOPS);
    latencies.sort((a, b) => a - b);
    return {
      vehicles,
      setting: phases === 1 ? 'all vehicles at the same instant' : `reports spread over ${phases} phases a second`,
      n: latencies.length,
      p50: percentile(latencies, 50),
      p90: percentile(latencies, 90),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? NaN,
      mean: Math.round((latencies.reduce((a, b) => a + b, 0) / latencies.length) * 10) / 10,
      hops,
    };
  } finally {
    await stack.stop();
  }
}

/** Runs a fleet unless MICHI_BENCH_LATENCY_ONLY names others (`base`, `spread`, `burst`; to profile one). */
const ONLY = (process.env['MICHI_BENCH_LATENCY_ONLY'] ?? 'base,spread,burst').split(',');
const skipped: Result = { vehicles: 0, setting: 'skipped', n: 0, p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN, hops: [] };
async function phase(name: string, label: string, run: () => Promise<Result>): Promise<Result> {
  if (!ONLY.includes(name)) return skipped;
  console.error(`latency: ${label}`);
  return run();
}

const base = await phase('base', 'baseline, 10 vehicles', () => measure(10));
const full = await phase('spread', '1,000 vehicles, reports spread over the second', () => measure(1_000, 20));
const burst = await phase('burst', '1,000 vehicles, all at the same instant', () => measure(1_000));
console.log(`\n### Latency: simulator → edge → cloud → InfluxDB → live WebSocket feed (${MEASURE_S} s at 1 Hz per vehicle)\n`);
console.log('| vehicles | setting | readings seen | p50 ms | p90 ms | p99 ms | max ms | p99 / baseline p99 |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of [base, full, burst]) {
  console.log(`| ${r.vehicles} | ${r.setting} | ${r.n} | ${r.p50} | ${r.p90} | ${r.p99} | ${r.max} | ${(r.p99 / base.p99).toFixed(2)}× |`);
}
console.log(
  `\np99 at 1,000 vehicles × 1 Hz: ${full.p99} ms spread, ${burst.p99} ms in one burst (goal ≤ 100 ms); about ${1_000 * MEASURE_S} readings expected in the window, ${full.n} and ${burst.n} seen.`,
);
console.log(`\n#### Per hop (cloud hop histogram over the measured window; ms, quantiles to bucket precision)\n`);
console.log('| vehicles | setting | hop | readings | mean | p50 | p99 |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of [base, full, burst]) {
  for (const h of r.hops) console.log(`| ${r.vehicles} | ${r.setting} | ${h.hop} | ${h.n} | ${h.meanMs} | ${h.p50Ms} | ${h.p99Ms} |`);
  console.log(`| ${r.vehicles} | ${r.setting} | end to end (this viewer) | ${r.n} | ${r.mean} | ${r.p50} | ${r.p99} |`);
}
