// The edge agent's footprint (issue 3): michi-edge as a child process (the built edge/dist/main.js),
// fed 1,000 readings/s over MQTT QoS 1 for 30 s by three vehicles, forwarding to an aedes upstream
// in this process that acknowledges every batch. Reads the agent's CPU from /proc/<pid>/stat, its
// RSS from /proc/<pid>/status and its disk writes from /proc/<pid>/io (write_bytes), against the
// payload bytes published. Baseline, same run, same load: a bare aedes broker as a child process
// (MQTT in and QoS 1 acks, nothing stored or forwarded). Then the highest input rate the agent
// sustains: stepped up until the vehicles' acknowledgements or the upstream fall behind.
//
//   make bench   (or: npx tsc -b && node --conditions=michi-src --import tsx bench/edge-footprint.bench.ts)
//   EDGE_BENCH_SECONDS=30 EDGE_BENCH_RATE=1000 set the footprint phase; EDGE_BENCH_MAX_RATE=0 skips the
//   maximum-rate phase; EDGE_BENCH_NODE_ARGS the agent's node flags; MICHI_EDGE_* settings pass through.
//   EDGE_BENCH_COMPARE='{"MICHI_EDGE_UPLINK__BATCHING":"fixed"}' instead measures the agent as configured
//   against one with these settings, both at the same time, each with its own vehicles and upstream
//   under the same load, in EDGE_BENCH_ROUNDS rounds (default 3) of fresh agents and buffers: their
//   CPU ratio needs no baseline, whose own CPU varies run to run.
//   EDGE_BENCH_COMPARE_CHECKOUT=DIR runs the other side from another checkout (built, its own seeds),
//   e.g. the code before a change: EDGE_BENCH_COMPARE='{}' EDGE_BENCH_COMPARE_CHECKOUT=../old.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Aedes } from 'aedes';
import { connectAsync, type MqttClient } from 'mqtt';
import { decodeBatch, devicePassword, encodeReadingPayload, readingTopic, v1, type ReadingKind } from '@michi/proto';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PILOT = 'maebashi-l4-bus';
const GATEWAY = 'gw-ekimae';
const SECRET_ENV = 'MICHI_GW_MAEBASHI_EKIMAE_SECRET';
const SECRET = 'bench-secret';
const DEVICE_KEY_ENV = 'MICHI_GW_MAEBASHI_EKIMAE_DEVICE_KEY';
const DEVICE_KEY = 'bench-device-key-not-for-production-0123456789';
const SECONDS = Number(process.env['EDGE_BENCH_SECONDS'] ?? 30);
const RATE = Number(process.env['EDGE_BENCH_RATE'] ?? 1_000);
const WARMUP_S = 5;
const CLK_TCK = 100;
const PAGE_KB = 4;
/** The V8 flags of edge/deploy/michi-edge.service (EDGE_BENCH_NODE_ARGS="" for node's defaults). */
const NODE_ARGS = process.env['EDGE_BENCH_NODE_ARGS'] ?? '--max-semi-space-size=2 --v8-pool-size=1 --max-old-space-size=64';

// ---- /proc --------------------------------------------------------------------------------------

interface ProcSample {
  at: number;
  cpuS: number;
  rssKb: number;
  writeBytes: number;
}

function sample(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "(comm)": state is 3rd overall; utime and stime are the 14th and 15th.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuS = (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  const statm = readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const writeBytes = Number(/write_bytes: (\d+)/.exec(io)?.[1] ?? 0) - Number(/cancelled_write_bytes: (\d+)/.exec(io)?.[1] ?? 0);
  return { at: performance.now(), cpuS, rssKb: Number(statm[1]) * PAGE_KB, writeBytes };
}

// ---- upstream -----------------------------------------------------------------------------------

async function startUpstream() {
  let readings = 0;
  let batches = 0;
  const broker = await Aedes.createBroker({
    authenticate: (_c, username, password, done) => done(null, username === GATEWAY && password?.toString() === SECRET),
    authorizePublish(_client, packet, callback) {
      readings += decodeBatch(packet.payload as Buffer).batch.items.length;
      batches++;
      callback(null);
    },
  });
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    broker.handle(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    readings: () => readings,
    batches: () => batches,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      for (const c of sockets) c.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---- the processes under test -------------------------------------------------------------------

interface Child {
  proc: ChildProcess;
  pid: number;
  port: number;
  stop(): Promise<void>;
}

async function waitForLine(proc: ChildProcess, match: (line: string) => number | undefined, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}: ${err}`)), 30_000);
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (const line of buf.split('\n')) {
        const v = match(line);
        if (v !== undefined) {
          clearTimeout(timer);
          resolve(v);
        }
      }
      buf = buf.slice(buf.lastIndexOf('\n') + 1);
    });
    proc.once('exit', (code) => reject(new Error(`${what}: exited ${code}: ${err}`)));
  });
}

function stopper(proc: ChildProcess): () => Promise<void> {
  return async () => {
    if (proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (proc.exitCode === null) proc.kill('SIGKILL');
  };
}

async function startAgent(dir: string, upstreamPort: number, settings: Record<string, string> = {}, root = ROOT): Promise<Child> {
  const config = join(dir, 'edge.yaml');
  writeFileSync(
    config,
    [
      `pilotId: ${PILOT}`,
      `gatewayId: ${GATEWAY}`,
      `seedsDir: ${join(root, 'seeds')}`,
      `local: { mqtt: { port: 0 }, deviceKeyEnv: ${DEVICE_KEY_ENV} }`,
      `buffer: { path: ${join(dir, 'buffer.sqlite')} }`,
      `uplink: { url: "mqtt://127.0.0.1:${upstreamPort}", passwordEnv: ${SECRET_ENV} }`,
      'metrics: { port: 0 }',
      'log: { level: info }',
      '',
    ].join('\n'),
  );
  // The built agent, as it runs on a gateway; the sources through tsx if it is not built.
  const built = join(root, 'edge/dist/main.js');
  const args = existsSync(built) ? [built] : ['--conditions=michi-src', '--import', 'tsx', join(root, 'edge/src/main.ts')];
  const nodeArgs = NODE_ARGS.split(' ').filter(Boolean);
  const proc = spawn(process.execPath, [...nodeArgs, ...args, '--config', config], {
    cwd: root,
    // MICHI_EDGE_* settings pass through, to compare settings.
    // A setting given as "" is unset for that side (an older checkout refuses settings it lacks).
    env: Object.fromEntries(
      Object.entries({
        PATH: process.env['PATH'] ?? '',
        [SECRET_ENV]: SECRET,
        [DEVICE_KEY_ENV]: DEVICE_KEY,
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('MICHI_EDGE_'))),
        ...settings,
      }).filter(([, v]) => v !== ''),
    ),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const port = await waitForLine(
    proc,
    (l) => {
      if (!l.includes('"edge agent started"')) return undefined;
      return Number((JSON.parse(l) as { mqttPort: number }).mqttPort);
    },
    'michi-edge to start',
  );
  return { proc, pid: proc.pid!, port, stop: stopper(proc) };
}

/** The baseline: aedes alone, taking QoS 1 publishes and acknowledging them. */
async function startBareBroker(): Promise<Child> {
  const code = `
    import net from 'node:net';
    import { Aedes } from 'aedes';
    const broker = await Aedes.createBroker();
    const server = net.createServer((s) => { s.setNoDelay(true); broker.handle(s); });
    server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port));
    process.on('SIGTERM', () => { server.close(); broker.close(() => process.exit(0)); });
  `;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await waitForLine(proc, (l) => (l.startsWith('port ') ? Number(l.slice(5)) : undefined), 'the bare broker');
  return { proc, pid: proc.pid!, port, stop: stopper(proc) };
}

// ---- the vehicles -------------------------------------------------------------------------------

/** A mix like the simulator's: states with signals, link samples, now and then a weather reading or an event. */
function payloadFor(source: string, n: number, tsMs: number): { kind: ReadingKind; payload: Buffer } {
  const common = { source_id: source, ts_ms: tsMs, seq: n };
  if (source === 'weather-ekimae') {
    return {
      kind: 'sensor',
      payload: Buffer.from(
        encodeReadingPayload('sensor', {
          ...common,
          sensor_kind: v1.SensorKind.SENSOR_KIND_WEATHER,
          measures: { rain_mm_h: 0.5, temperature_c: 11 + (n % 7) },
        }),
      ),
    };
  }
  if (n % 200 === 0) {
    return {
      kind: 'event',
      payload: Buffer.from(
        encodeReadingPayload('event', { ...common, type: v1.EventType.EVENT_TYPE_TAKEOVER, severity: v1.Severity.SEVERITY_WARNING }),
      ),
    };
  }
  if (n % 3 === 0) {
    return {
      kind: 'link',
      payload: Buffer.from(
        encodeReadingPayload('link', {
          ...common,
          cell_id: '001-01:0x000a1b2c01',
          pci: 101,
          band: 'n79',
          rsrp_dbm: -80 - (n % 20),
          rsrq_db: -10.5,
          sinr_db: 18,
          rtt_ms: 9 + (n % 5),
          ul_mbps: 42.5,
          dl_mbps: 310,
          slice: 'URLLC',
          position: { lat: 36.3834 + n * 1e-6, lon: 139.0731 },
        }),
      ),
    };
  }
  return {
    kind: 'state',
    payload: Buffer.from(
      encodeReadingPayload('state', {
        ...common,
        position: { lat: 36.3834 + n * 1e-6, lon: 139.0731 + n * 1e-6, accuracy_m: 0.4 },
        speed_mps: (n % 120) / 10,
        heading_deg: n % 360,
        accel_mps2: 0.3,
        mode: v1.AutonomyMode.AUTONOMY_MODE_AUTONOMOUS,
        odometer_m: 12_000 + n,
        battery_pct: 81.5,
        signals: { 'Vehicle.Cabin.Door.Row1.IsOpen': 0, 'Vehicle.Powertrain.TractionBattery.StateOfCharge.Current': 81.5 },
      }),
    ),
  };
}

class Fleet {
  payloadBytes = 0;
  sent = 0;
  acked = 0;
  private readonly clients: { source: string; client: MqttClient; inflight: number; n: number; lastTs: number }[] = [];
  private timer: NodeJS.Timeout | undefined;

  /** With `deviceKey` each source logs in as the edge requires; the bare broker takes anyone. */
  async connect(port: number, deviceKey: string | undefined): Promise<void> {
    for (const source of ['bus-01', 'bus-02', 'weather-ekimae']) {
      const client = await connectAsync(`mqtt://127.0.0.1:${port}`, {
        clientId: source,
        protocolVersion: 4,
        reconnectPeriod: 0,
        ...(deviceKey ? { username: source, password: devicePassword(deviceKey, source) } : {}),
      });
      (client.stream as net.Socket).setNoDelay(true);
      this.clients.push({ source, client, inflight: 0, n: 0, lastTs: 0 });
    }
  }

  /** Publishes `rate` readings/s in total (the weather station 1 in 50 of them), at most `window` unacknowledged per client. */
  run(rate: number, window = 200): void {
    clearInterval(this.timer);
    const tickMs = 5;
    let owed = 0;
    let i = 0;
    let last = performance.now();
    this.timer = setInterval(() => {
      // From the time that really passed: timers fire late under load.
      const now = performance.now();
      owed += ((now - last) * rate) / 1000;
      last = now;
      while (owed >= 1) {
        owed--;
        i++;
        const c = i % 50 === 0 ? this.clients[2]! : this.clients[i % 2]!;
        if (c.inflight >= window) continue; // the gateway is behind: counted as not sent
        const tsMs = (c.lastTs = Math.max(Date.now(), c.lastTs + 1));
        const { kind, payload } = payloadFor(c.source, ++c.n, tsMs);
        c.inflight++;
        this.sent++;
        this.payloadBytes += payload.byteLength;
        c.client.publish(readingTopic(PILOT, GATEWAY, c.source, kind), payload, { qos: 1 }, (err) => {
          c.inflight--;
          if (!err) this.acked++;
        });
      }
    }, tickMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async close(): Promise<void> {
    this.stop();
    await Promise.all(this.clients.map((c) => c.client.endAsync(true)));
  }
}

// ---- phases -------------------------------------------------------------------------------------

interface Footprint {
  cpuPct: number;
  rssMaxMb: number;
  writeBytes: number;
  payloadBytes: number;
  acked: number;
  seconds: number;
}

async function measure(child: Child, fleet: Fleet, rate: number, seconds: number): Promise<Footprint> {
  fleet.run(rate);
  await sleep(WARMUP_S * 1000);
  const first = sample(child.pid);
  const payload0 = fleet.payloadBytes;
  const acked0 = fleet.acked;
  let rssMax = first.rssKb;
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    await sleep(500);
    rssMax = Math.max(rssMax, sample(child.pid).rssKb);
  }
  const last = sample(child.pid);
  fleet.stop();
  const elapsed = (last.at - first.at) / 1000;
  return {
    cpuPct: ((last.cpuS - first.cpuS) / elapsed) * 100,
    rssMaxMb: rssMax / 1024,
    writeBytes: last.writeBytes - first.writeBytes,
    payloadBytes: fleet.payloadBytes - payload0,
    acked: fleet.acked - acked0,
    seconds: elapsed,
  };
}

async function maxSustainedRate(agent: Child, fleet: Fleet, upstream: Awaited<ReturnType<typeof startUpstream>>) {
  const steps = [2_000, 4_000, 6_000, 8_000, 12_000, 16_000];
  const rows: { rate: number; ackedPerS: number; forwardedPerS: number; cpuPct: number; ok: boolean }[] = [];
  let best = 0;
  for (const rate of steps) {
    // A deep window: at a 100 ms group commit, 1,000 readings/s per client keep ~100 in flight.
    fleet.run(rate, 5_000);
    await sleep(2_000);
    const a0 = fleet.acked;
    const u0 = upstream.readings();
    const s0 = sample(agent.pid);
    await sleep(6_000);
    const s1 = sample(agent.pid);
    const elapsed = (s1.at - s0.at) / 1000;
    const ackedPerS = (fleet.acked - a0) / elapsed;
    const forwardedPerS = (upstream.readings() - u0) / elapsed;
    const ok = ackedPerS >= rate * 0.97 && forwardedPerS >= ackedPerS * 0.97;
    rows.push({ rate, ackedPerS, forwardedPerS, cpuPct: ((s1.cpuS - s0.cpuS) / elapsed) * 100, ok });
    fleet.stop();
    if (!ok) break;
    best = rate;
    await sleep(1_000);
  }
  return { best, rows };
}

/** The agent as configured against one with `settings` (MICHI_EDGE_* variables), side by side, same load. */
async function compare(settings: Record<string, string>, rounds: number, otherRoot = ROOT): Promise<void> {
  const otherName = otherRoot === ROOT ? JSON.stringify(settings) : `${otherRoot} ${JSON.stringify(settings)}`;
  const dir = mkdtempSync(join(tmpdir(), 'michi-edge-compare-'));
  const rows: { round: number; name: string; cpuPct: number; perBatch: number; rssMaxMb: number }[] = [];
  try {
    const sides = [
      ['as configured', {}, ROOT],
      [otherName, settings, otherRoot],
    ] as const;
    for (let round = 1; round <= rounds; round++) {
      // Both at the same time, each with its own upstream and vehicles: whatever else the machine
      // runs meanwhile slows both alike, which taking turns did not (one agent's CPU moved by a
      // third from one turn to the next).
      const started: { name: string; upstream: Awaited<ReturnType<typeof startUpstream>>; agent?: Child; fleet?: Fleet }[] = [];
      try {
        for (const [name, env, root] of sides) {
          const side: (typeof started)[number] = { name, upstream: await startUpstream() };
          started.push(side);
          side.agent = await startAgent(mkdtempSync(join(dir, 'agent-')), side.upstream.port, env, root);
          side.fleet = new Fleet();
          await side.fleet.connect(side.agent.port, DEVICE_KEY);
        }
        const results = await Promise.all(started.map((s) => measure(s.agent!, s.fleet!, RATE, SECONDS)));
        started.forEach((s, i) =>
          rows.push({
            round,
            name: s.name,
            cpuPct: results[i]!.cpuPct,
            perBatch: s.upstream.readings() / s.upstream.batches(),
            rssMaxMb: results[i]!.rssMaxMb,
          }),
        );
      } finally {
        for (const s of started) {
          await s.fleet?.close();
          await s.agent?.stop();
          await s.upstream.close();
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\n### Edge agent, as configured against ${otherName}: ${RATE} readings/s each, ${SECONDS} s, side by side\n`);
  console.log('| round | agent | CPU (% of one core) | readings per upstream batch | RSS max (MB) |');
  console.log('| ---: | --- | ---: | ---: | ---: |');
  for (const r of rows)
    console.log(`| ${r.round} | ${r.name} | ${r.cpuPct.toFixed(1)} | ${r.perBatch.toFixed(1)} | ${r.rssMaxMb.toFixed(1)} |`);
  const ratios = [];
  for (let round = 1; round <= rounds; round++) {
    const [a, b] = rows.filter((r) => r.round === round);
    ratios.push(a!.cpuPct / b!.cpuPct);
  }
  const median = [...ratios].sort((x, y) => x - y)[Math.floor(ratios.length / 2)]!;
  console.log(
    `\nCPU as configured / with the settings: median ${median.toFixed(3)} (rounds: ${ratios.map((r) => r.toFixed(3)).join(', ')})`,
  );
  console.log(`load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
}

async function main(): Promise<void> {
  const comparing = process.env['EDGE_BENCH_COMPARE'];
  if (comparing) {
    const other = process.env['EDGE_BENCH_COMPARE_CHECKOUT'];
    return compare(
      JSON.parse(comparing) as Record<string, string>,
      Number(process.env['EDGE_BENCH_ROUNDS'] ?? 3),
      other ? resolve(other) : ROOT,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'michi-edge-bench-'));
  const cleanup: (() => Promise<void>)[] = [];
  try {
    // Baseline: aedes alone under the same load.
    const bare = await startBareBroker();
    cleanup.push(bare.stop);
    const bareFleet = new Fleet();
    await bareFleet.connect(bare.port, undefined);
    const base = await measure(bare, bareFleet, RATE, Math.min(SECONDS, 15));
    await bareFleet.close();
    await bare.stop();

    const upstream = await startUpstream();
    cleanup.push(upstream.close);
    const agent = await startAgent(dir, upstream.port);
    cleanup.push(agent.stop);
    const fleet = new Fleet();
    cleanup.push(() => fleet.close());
    await fleet.connect(agent.port, DEVICE_KEY);
    const edge = await measure(agent, fleet, RATE, SECONDS);
    await sleep(1_000);
    const forwardedAll = upstream.readings();
    const batchesAll = upstream.batches();
    const ackedAll = fleet.acked;

    const sustained = process.env['EDGE_BENCH_MAX_RATE'] === '0' ? { best: 0, rows: [] } : await maxSustainedRate(agent, fleet, upstream);

    const mb = (b: number) => (b / 1e6).toFixed(2);
    console.log(
      `\n### Edge agent footprint at ${RATE} readings/s in, ${base.seconds.toFixed(0)} s / ${edge.seconds.toFixed(0)} s measured\n`,
    );
    console.log(`agent: node ${NODE_ARGS} edge/dist/main.js (defaults of edge/edge.example.yaml)\n`);
    console.log(
      '| | CPU (% of one core) | CPU per 1,000 acked/s | RSS max (MB) | disk written (MB) | payload in (MB) | written / payload | acked readings/s |',
    );
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const [name, f] of [
      ['bare aedes (baseline)', base],
      ['michi-edge', edge],
    ] as const) {
      console.log(
        `| ${name} | ${f.cpuPct.toFixed(1)} | ${((f.cpuPct * 1000) / (f.acked / f.seconds)).toFixed(1)} | ${f.rssMaxMb.toFixed(1)} | ${mb(f.writeBytes)} | ${mb(f.payloadBytes)} | ${(f.writeBytes / f.payloadBytes).toFixed(2)} | ${(f.acked / f.seconds).toFixed(0)} |`,
      );
    }
    console.log(
      `\nmichi-edge / baseline CPU: ${(edge.cpuPct / base.cpuPct).toFixed(2)}×; RSS: ${(edge.rssMaxMb / base.rssMaxMb).toFixed(2)}×`,
    );
    console.log(
      `targets: CPU ≤ 10 % (${edge.cpuPct <= 10 ? 'met' : 'NOT met'}), RSS ≤ 100 MB (${edge.rssMaxMb <= 100 ? 'met' : 'NOT met'}), written ≤ 2× payload (${edge.writeBytes <= 2 * edge.payloadBytes ? 'met' : 'NOT met'})`,
    );
    console.log(
      `forwarded upstream by the end of the phase: ${forwardedAll} readings in ${batchesAll} batches, ${(forwardedAll / batchesAll).toFixed(1)} per batch (${ackedAll} acknowledged to the vehicles)`,
    );
    console.log('\n### Maximum sustained rate (acknowledged to the vehicles and forwarded upstream, 6 s per step)\n');
    console.log('| offered readings/s | acked/s | forwarded/s | agent CPU (% of one core) | sustained |');
    console.log('| ---: | ---: | ---: | ---: | --- |');
    for (const r of sustained.rows) {
      console.log(
        `| ${r.rate} | ${r.ackedPerS.toFixed(0)} | ${r.forwardedPerS.toFixed(0)} | ${r.cpuPct.toFixed(0)} | ${r.ok ? 'yes' : 'no'} |`,
      );
    }
    console.log(`\nmaximum sustained: ${sustained.best} readings/s (the load generator shares the 2 cores)`);
    console.log(`load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  } finally {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
