// Alarm rules' cost end to end (issue 12): the cloud's CPU per acknowledged reading with
// `alarms.enabled` true against false, at 10,000 vehicles × 1 Hz of gateway batches over MQTT,
// InfluxDB 1.x writing every reading. Goal: the rules cost ≤ 10 % more cloud CPU per reading.
//
// - Two cloud processes (cloud/src/main.ts) on one InfluxDB and one seeds directory: the bus pilot
//   scaled to N vehicles (fleet-load.ts), one with alarms on, one with them off. A load generator
//   plays the fleet (one state per vehicle per second, MICHI_BENCH_FLEET_LINK=1 adds a link sample;
//   batches of ≤ 500 readings every 50 ms per gateway, QoS 1) to both at once, each batch to each
//   (MICHI_BENCH_ALARM_CPU_MODE=together, the default), or to one per phase in turn while the other
//   idles (=alternate). On this shared machine the alternating rounds' ratios spread from 0.83 to
//   1.41 in one run (load average 19-21): the load of the other work changes within seconds, and it
//   hits both clouds alike only when they run at the same time.
// - The fleet is healthy, so this is the cost of judging readings, not of storing alarms. Its
//   silence thresholds are set to a day: the clouds idle in turn, and the 10,000 source-silent
//   alarms each idle phase would raise (and clear in the next) are not what this measures.
// - Untimed warm-up first, then the rounds (alternate: off, on / on, off in turn); CPU of each cloud
//   from /proc/<pid>/stat (utime + stime) over its phase, divided by the acknowledged readings;
//   the ratio of each round's on over off, and the figure is the median of the rounds.
//
//   make bench   (or: node --conditions=michi-src --import tsx bench/alarm-cpu.bench.ts)
//   MICHI_BENCH_ALARM_CPU_VEHICLES=10000, MICHI_BENCH_ALARM_CPU_SECONDS=15 (per phase),
//   MICHI_BENCH_ALARM_CPU_ROUNDS=6; MICHI_BENCH_CLOUD_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR"
//   profiles both clouds.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startInfluxDb } from '../scripts/test-support/index.js';
import { median, metricSum, metricsText, startCloudProcess, startLoad, type CloudProcess } from './cloud-process.js';
import { FLEET_LINK, fleetArgs, runFleetLoadIfAsked, scaledBusSeed, secretEnvOf, writeSeedsDir } from './fleet-load.js';
import { cpuSeconds } from './sim-harness.js';

const VEHICLES = Number(process.env['MICHI_BENCH_ALARM_CPU_VEHICLES'] ?? 10_000);
const SECONDS = Number(process.env['MICHI_BENCH_ALARM_CPU_SECONDS'] ?? 15);
const ROUNDS = Number(process.env['MICHI_BENCH_ALARM_CPU_ROUNDS'] ?? 6);
/** `together` (default): each batch to both clouds at once; `alternate`: one cloud per phase, in turn. */
const MODE = process.env['MICHI_BENCH_ALARM_CPU_MODE'] ?? 'together';
if (MODE !== 'together' && MODE !== 'alternate') throw new Error(`MICHI_BENCH_ALARM_CPU_MODE: expected together or alternate, got ${MODE}`);
const TOGETHER = MODE === 'together';
const SELF = fileURLToPath(import.meta.url);
const DAY_S = 86_400;

interface Phase {
  alarms: boolean;
  readings: number;
  seconds: number;
  /** CPU µs per acknowledged reading. */
  cloudUs: number;
  influxUs: number;
  /** Cores, over the phase. */
  cloudCores: number;
  loadAvg: string;
}

const loadAvg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function orchestrate(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'michi-bench-alarm-cpu-'));
  const { seedsDir, pilot } = writeSeedsDir(
    dir,
    scaledBusSeed(VEHICLES, {
      alarms: { rules: { 'source-silent': { vehicleS: DAY_S, sensorS: DAY_S }, 'gateway-silent': { afterS: DAY_S } } },
    }),
  );
  const env: Record<string, string> = {};
  for (const g of pilot.gateways) env[secretEnvOf(pilot, g.id)] = randomBytes(18).toString('base64url');
  const influx = await startInfluxDb();
  const clouds: CloudProcess[] = [];
  const phases: Phase[] = [];
  let alarmChanges: number;
  let changesByRule: string;
  try {
    const start = (alarms: boolean) =>
      startCloudProcess({ dir, name: alarms ? 'alarms-on' : 'alarms-off', influxUrl: influx.url, seedsDir, env, alarmsEnabled: alarms });
    const [off, on] = [await start(false), await start(true)];
    clouds.push(off, on);
    /** Plays the fleet to the clouds named (both at once when both) and returns a phase of each. */
    const play = async (which: readonly boolean[], seconds: number): Promise<Phase[]> => {
      const targets = which.map((alarms) => ({ alarms, cloud: alarms ? on : off }));
      const gen = await startLoad(
        SELF,
        fleetArgs(
          seedsDir,
          targets.map((t) => t.cloud.mqttPort),
          seconds,
        ),
        env,
      );
      const before = { cpu: targets.map((t) => cpuSeconds(t.cloud.pid)), influx: cpuSeconds(influx.pid), wall: performance.now() };
      const r = await gen.go();
      // CPU per acknowledged reading means nothing while a backlog is left over.
      if (r.unacknowledged) throw new Error(`${r.unacknowledged} readings not acknowledged 30 s after the phase`);
      const wall = (performance.now() - before.wall) / 1_000;
      const influxUs = ((cpuSeconds(influx.pid) - before.influx) / (r.readings * targets.length)) * 1e6;
      return targets.map((t, i) => {
        const used = cpuSeconds(t.cloud.pid) - before.cpu[i]!;
        return {
          alarms: t.alarms,
          readings: r.readings,
          seconds: r.ms / 1_000,
          cloudUs: (used / r.readings) * 1e6,
          influxUs,
          cloudCores: used / wall,
          loadAvg: loadAvg(),
        };
      });
    };
    // Warm-up, not timed: the JIT, the heaps, InfluxDB's new series, the latest-state cache filling.
    if (TOGETHER) await play([false, true], Math.ceil(SECONDS / 2));
    else for (const alarms of [false, true]) await play([alarms], Math.ceil(SECONDS / 2));
    for (let round = 0; round < ROUNDS; round++) {
      if (TOGETHER) phases.push(...(await play([false, true], SECONDS)));
      // off, on then on, off: a drift of the machine's load within a round does not favour one side.
      else for (const alarms of round % 2 ? [true, false] : [false, true]) phases.push(...(await play([alarms], SECONDS)));
    }
    const text = await metricsText(on.metricsPort);
    alarmChanges = metricSum(text, 'michi_cloud_alarm_changes_total');
    changesByRule = text
      .split('\n')
      .filter((l) => l.startsWith('michi_cloud_alarm_changes_total{'))
      .map((l) => l.slice('michi_cloud_alarm_changes_total'.length))
      .join(', ');
  } finally {
    for (const c of clouds) await c.stop();
    await influx.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  console.log(
    `\nalarm rules, end to end: ${VEHICLES.toLocaleString('en')} vehicles × 1 Hz (${FLEET_LINK ? 'state + link' : 'state'}) over MQTT, ${SECONDS} s per phase, ${ROUNDS} rounds, ${TOGETHER ? 'both clouds fed at once' : 'one cloud per phase, in turn'}`,
  );
  console.log('\n| round | alarms | readings/s acknowledged | cloud cores | µs CPU per reading: cloud / influxd | load average after |');
  console.log('| --- | --- | ---: | ---: | ---: | --- |');
  for (const [i, p] of phases.entries()) {
    console.log(
      `| ${Math.floor(i / 2) + 1} | ${p.alarms ? 'on' : 'off'} | ${Math.round(p.readings / p.seconds).toLocaleString('en')} | ${p.cloudCores.toFixed(2)} | ${p.cloudUs.toFixed(2)} / ${p.influxUs.toFixed(2)} | ${p.loadAvg} |`,
    );
  }
  const ofRounds = (alarms: boolean) => phases.filter((p) => p.alarms === alarms).map((p) => p.cloudUs);
  const [offUs, onUs] = [ofRounds(false), ofRounds(true)];
  const ratios = onUs.map((u, i) => u / offUs[i]!);
  console.log('\n| cloud CPU per reading, median of the rounds | µs |');
  console.log('| --- | ---: |');
  console.log(`| alarms off | ${median(offUs).toFixed(2)} |`);
  console.log(`| alarms on | ${median(onUs).toFixed(2)} |`);
  console.log(
    `| on / off (median of the rounds' ratios; goal ≤ 1.10) | ${median(ratios).toFixed(3)} (rounds: ${ratios.map((r) => r.toFixed(3)).join(', ')}) |`,
  );
  console.log(
    `\nalarm changes on the cloud with alarms on: ${alarmChanges} (a healthy fleet raises none)${alarmChanges ? `: ${changesByRule}` : ''}`,
  );
}

if (!(await runFleetLoadIfAsked(process.argv.slice(2)))) await orchestrate();
