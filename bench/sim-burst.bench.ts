// The simulator's share of the `to_edge` hop (issue 15): how long after its source timestamp a
// reading reaches a broker, with 1,000 vehicles reporting at the same instant, each on its own
// MQTT connection with a device password (as bench/latency.bench.ts drives the edges), into a bare
// aedes broker in this process that only notes each publish's arrival. So the figure is michi-sim
// (making, encoding and sending the burst) plus aedes' receipt, without the edge's and the cloud's
// work that share the stack's event loop in the latency bench. Baseline in the same run: 10
// vehicles. Processes: michi-sim and this one.
//   node --conditions=michi-src --import tsx bench/sim-burst.bench.ts
// MICHI_BENCH_SIM_BURST_S: seconds measured (default 20, after 5 s of warm-up);
// MICHI_BENCH_SIM_CHECKOUT: run the simulator of another checkout (to compare a change with the
// code before it in the same hour); MICHI_BENCH_SIM_NODE_ARGS: its node flags (`--cpu-prof ...`).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Aedes } from 'aedes';
import { decodeReadingPayload, loadSeeds, parseTopic, readingBody } from '@michi/proto';
import { scalePilot } from '@michi/simulators';
import { percentile, startSim } from './sim-harness.js';

const MEASURE_S = Number(process.env['MICHI_BENCH_SIM_BURST_S'] ?? 20);
const WARMUP_S = 5;
const CHECKOUT = resolve(process.env['MICHI_BENCH_SIM_CHECKOUT'] ?? '.');

interface Result {
  vehicles: number;
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

async function measure(vehicles: number): Promise<Result> {
  const seeded = loadSeeds('seeds').find((p) => p.id === 'maebashi-l4-bus')!;
  const pilot = scalePilot(seeded, vehicles);
  const dir = mkdtempSync(join(tmpdir(), 'michi-sim-burst-'));
  mkdirSync(join(dir, 'seeds'));
  writeFileSync(join(dir, 'seeds', `${pilot.id}.json`), JSON.stringify(pilot));
  const broker = await Aedes.createBroker();
  const latencies: number[] = [];
  let from = Infinity;
  broker.on('publish', (packet, client) => {
    const now = Date.now();
    if (!client) return; // the broker's own $SYS messages
    const topic = parseTopic(packet.topic);
    if (topic.type !== 'reading') return;
    const ts = Number(readingBody(decodeReadingPayload(topic.kind, packet.payload as Buffer)).ts_ms);
    if (ts >= from) latencies.push(now - ts);
  });
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    broker.handle(socket);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  try {
    const gatewayUrls = Object.fromEntries(pilot.gateways.map((g) => [g.id, url]));
    // aedes takes any password; the simulator still connects each vehicle on its own with one.
    const deviceKeys = Object.fromEntries(pilot.gateways.map((g) => [g.id, randomBytes(32).toString('base64url')]));
    from = Date.now() + WARMUP_S * 1000;
    const sim = startSim({ pilotId: pilot.id, seedsDir: join(dir, 'seeds'), gatewayUrls, deviceKeys }, WARMUP_S + MEASURE_S, [], CHECKOUT);
    const { code, stdout } = await sim.done;
    if (code !== 0) throw new Error(`michi-sim exited with ${code}: ${stdout}`);
  } finally {
    await new Promise<void>((done) => broker.close(() => done()));
    await new Promise<void>((done) => server.close(() => done()));
    rmSync(dir, { recursive: true, force: true });
  }
  latencies.sort((a, b) => a - b);
  return {
    vehicles,
    n: latencies.length,
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? NaN,
  };
}

console.error(`sim-burst: simulator of ${CHECKOUT}; baseline, 10 vehicles`);
const base = await measure(10);
console.error('sim-burst: 1,000 vehicles at the same instant');
const burst = await measure(1_000);
console.log(`\n### Source timestamp → broker receipt, michi-sim into a bare aedes broker (${MEASURE_S} s at 1 Hz per vehicle)\n`);
console.log('| vehicles | readings | p50 ms | p90 ms | p99 ms | max ms | p99 / baseline p99 |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of [base, burst]) {
  console.log(`| ${r.vehicles} | ${r.n} | ${r.p50} | ${r.p90} | ${r.p99} | ${r.max} | ${(r.p99 / base.p99).toFixed(2)}× |`);
}
