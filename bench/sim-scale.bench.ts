// The cost curve of the whole path against fleet size: for 100, 1,000 and 10,000 simulated
// vehicles at 1 Hz (state readings), each process's CPU (share of one core) and peak memory, the
// points per second InfluxDB stored, and readings lost (acknowledged to the simulator but not
// stored). Processes: michi-sim, the stack (cloud and every edge agent in one Node
// process), influxd. Baseline of the same run: the simulator's models alone (the same fleet stepped
// and encoded in this process, nothing published), to show what publishing costs on top.
//   node --conditions=michi-src --import tsx bench/sim-scale.bench.ts   (make bench runs it)
// MICHI_BENCH_SIM_S sets the seconds per size (default 30); MICHI_BENCH_SIM_SIZES e.g. "100,1000".
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeReadingPayload, loadSeeds } from '@michi/proto';
import { Fleet, scalePilot } from '@michi/simulators';
import { startTestBroker } from '../simulators/test/aedes-broker.js';
import { cpuSeconds, rssMb, startSim, startStackProcess, storedStates } from './sim-harness.js';

const DURATION_S = Number(process.env['MICHI_BENCH_SIM_S'] ?? 30);
const SIZES = (process.env['MICHI_BENCH_SIM_SIZES'] ?? '100,1000,10000').split(',').map(Number);
const WARMUP_S = 5;

/** CPU seconds per simulated second of the models (step, state, protobuf encode) for n vehicles. */
function modelsOnly(n: number, seconds: number): number {
  const pilot = scalePilot(
    loadSeeds('seeds').find((p) => p.id === 'maebashi-l4-bus')!,
    n,
  );
  const fleet = new Fleet(pilot, { seed: 42, autonomy: false });
  const t0 = process.cpuUsage();
  let bytes = 0;
  for (let t = 0; t < seconds; t++) {
    fleet.advance(1);
    for (const v of fleet.vehicles) bytes += encodeReadingPayload('state', fleet.reading(v, 'state', 1.8e12 + t * 1000)!.body).length;
  }
  const used = process.cpuUsage(t0);
  if (bytes === 0) throw new Error('nothing encoded');
  return (used.user + used.system) / 1e6 / seconds;
}

interface Row {
  n: number;
  simCpu: number;
  stackCpu: number;
  influxCpu: number;
  simRss: number;
  stackRss: number;
  influxRss: number;
  sent: number;
  acked: number;
  stored: number;
  pointsPerS: number;
  simWallS: number;
  modelsCpu: number;
}

async function measure(n: number): Promise<Row> {
  const stack = await startStackProcess(n);
  const { info } = stack;
  try {
    const fromMs = Date.now() - 1_000;
    const sim = startSim(info, DURATION_S);
    const pids = { sim: sim.pid, stack: stack.pid, influx: info.influxPid };
    let exited = false;
    void sim.done.then(() => (exited = true));
    await sleep(WARMUP_S * 1000);
    const start = { t: performance.now(), sim: cpuSeconds(pids.sim), stack: cpuSeconds(pids.stack), influx: cpuSeconds(pids.influx) };
    let last = start;
    const peak = { sim: 0, stack: 0, influx: 0 };
    while (!exited) {
      try {
        const s = { t: performance.now(), sim: cpuSeconds(pids.sim), stack: cpuSeconds(pids.stack), influx: cpuSeconds(pids.influx) };
        peak.sim = Math.max(peak.sim, rssMb(pids.sim));
        peak.stack = Math.max(peak.stack, rssMb(pids.stack));
        peak.influx = Math.max(peak.influx, rssMb(pids.influx));
        last = s;
      } catch {
        break; // the simulator exited between two samples
      }
      await sleep(500);
    }
    const { code, stdout } = await sim.done;
    // The summary line, not the progress lines before it.
    const m = /done in ([\d.]+) s .*: sent (\d+), acked (\d+)/.exec(stdout);
    if (!m) throw new Error(`michi-sim exited with ${code}: ${stdout}`);
    const simWallS = Number(m[1]);
    const sent = Number(m[2]);
    const acked = Number(m[3]);
    // Edges forward what they acknowledged; give the backlog time to drain.
    let stored = 0;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      stored = await storedStates(info, fromMs);
      if (stored >= acked) break;
      await sleep(1_000);
    }
    const wallS = (last.t - start.t) / 1000;
    console.error(
      `sim-scale: ${n} vehicles: measured over ${wallS.toFixed(1)} s; sim CPU ${(last.sim - start.sim).toFixed(2)} s; ${stdout.trim().split('\n').at(-1)}`,
    );
    return {
      n,
      simCpu: (last.sim - start.sim) / wallS,
      stackCpu: (last.stack - start.stack) / wallS,
      influxCpu: (last.influx - start.influx) / wallS,
      simRss: peak.sim,
      stackRss: peak.stack,
      influxRss: peak.influx,
      sent,
      acked,
      stored,
      pointsPerS: stored / simWallS,
      simWallS,
      modelsCpu: modelsOnly(n, 10),
    };
  } finally {
    await stack.stop();
  }
}

const pct = (x: number): string => `${(x * 100).toFixed(0)} %`;

/**
 * The simulator alone at 10,000 vehicles: against a bare aedes broker in this process (no disk, no
 * uplink), which acknowledges as fast as it reads, so the simulator runs at real time and its CPU
 * is its own cost of 10,000 readings/s.
 */
async function simAlone(n: number): Promise<{ cpu: number; wallS: number; sent: number; acked: number; rss: number }> {
  const broker = await startTestBroker();
  const scaled = scalePilot(
    loadSeeds('seeds').find((p) => p.id === 'maebashi-l4-bus')!,
    n,
  );
  const dir = mkdtempSync(path.join(tmpdir(), 'michi-bench-seeds-'));
  writeFileSync(path.join(dir, `${scaled.id}.json`), JSON.stringify(scaled));
  try {
    const info = { pilotId: scaled.id, seedsDir: dir, gatewayUrls: Object.fromEntries(scaled.gateways.map((g) => [g.id, broker.url])) };
    const sim = startSim(info as Parameters<typeof startSim>[0], DURATION_S);
    let exited = false;
    void sim.done.then(() => (exited = true));
    await sleep(WARMUP_S * 1000);
    const t0 = performance.now();
    const c0 = cpuSeconds(sim.pid);
    let t1 = t0;
    let c1 = c0;
    let rss = 0;
    while (!exited) {
      try {
        c1 = cpuSeconds(sim.pid);
        rss = Math.max(rss, rssMb(sim.pid));
        t1 = performance.now();
      } catch {
        break;
      }
      await sleep(500);
      // Keep the broker's record of publishes from growing through the run.
      broker.received.length = 0;
    }
    const { stdout } = await sim.done;
    const m = /done in ([\d.]+) s .*: sent (\d+), acked (\d+)/.exec(stdout);
    if (!m) throw new Error(`michi-sim: ${stdout}`);
    return { cpu: (c1 - c0) / ((t1 - t0) / 1000), wallS: Number(m[1]), sent: Number(m[2]), acked: Number(m[3]), rss };
  } finally {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows: Row[] = [];
for (const n of SIZES) {
  console.error(`sim-scale: ${n} vehicles for ${DURATION_S} s`);
  rows.push(await measure(n));
}
console.error('sim-scale: the simulator alone, 10,000 vehicles against a bare aedes broker');
const alone = await simAlone(10_000);
console.log(`\n### Cost against fleet size (1 Hz state readings, ${DURATION_S} simulated s per size)\n`);
console.log(
  '| vehicles | wall s for the run | michi-sim CPU | models alone CPU (baseline) | sim / baseline | cloud + edges CPU | influxd CPU | RSS sim / stack / influxd (MB) | points/s stored | offered/s | lost (acked − stored) | unacked (sent − acked) |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(
    `| ${r.n} | ${r.simWallS.toFixed(1)} | ${pct(r.simCpu)} | ${pct(r.modelsCpu)} | ${(r.simCpu / r.modelsCpu).toFixed(1)}× | ${pct(r.stackCpu)} | ${pct(r.influxCpu)} | ` +
      `${r.simRss.toFixed(0)} / ${r.stackRss.toFixed(0)} / ${r.influxRss.toFixed(0)} | ${r.pointsPerS.toFixed(0)} | ${r.n} | ${r.acked - r.stored} | ${r.sent - r.acked} |`,
  );
}
console.log(
  `\nOne michi-sim process driving 10,000 vehicles at 1 Hz against a bare aedes broker: ${pct(alone.cpu)} of one core (goal ≤ 100 %), ` +
    `${alone.wallS.toFixed(1)} s wall for ${DURATION_S} simulated s, sent ${alone.sent}, acked ${alone.acked}, peak RSS ${alone.rss.toFixed(0)} MB.`,
);
