// Alarm rules' cost per reading (issue 12): the cloud's synchronous ingest path (decode, validate,
// encode lines, update the latest-state cache: BatchIngest before its InfluxDB write) with and
// without the alarm engine as its observer, in one process, on the same encoded batches of a
// 10,000-vehicle pilot at 1 Hz (one state and one link sample per vehicle per second, batches of
// 500 readings per gateway). Goal: the rules cost ≤ 10 % more cloud CPU per reading.
//
// The InfluxDB write is left out (the writer answers at once) so that the baseline is the smallest
// honest one: the cloud's real CPU per reading also includes the HTTP write and the MQTT broker, so
// the ratio printed is an upper bound of the rules' share. Phases alternate, without then with,
// each on a fresh engine (a reading seen before would be ignored, which would flatter the rules);
// CPU is process.cpuUsage over each phase; the figure is the median of the rounds.
//
//   node --conditions=michi-src --import tsx bench/alarm-cost.bench.ts
//   MICHI_BENCH_ALARM_VEHICLES=10000, MICHI_BENCH_ALARM_SECONDS=10, MICHI_BENCH_ALARM_ROUNDS=5
//   MICHI_BENCH_OBSERVERS=alarms (default), records (the operating-state recorder, docs/records.md) or alarms,records
//   MICHI_BENCH_RECORDS_COLD=1: the recorder has not seen the vehicles (each one's first state is an entry)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { PilotSchema, encodeBatch, type michi } from '@michi/proto';
import { AlarmEngine, AlarmStore } from '../cloud/src/alarms/index.js';
import { BatchIngest } from '../cloud/src/ingest-batch.js';
import type { InfluxWriter } from '../cloud/src/influx-writer.js';
import { LatestState } from '../cloud/src/latest-state.js';
import { CloudMetrics } from '../cloud/src/metrics.js';
import { PilotDirectory } from '../cloud/src/pilot-directory.js';
import { fanOutObservers } from '../cloud/src/ingest-observers.js';
import { HeadFile } from '../cloud/src/records/head-file.js';
import { OperatingRecorder, RecordStore } from '../cloud/src/records/index.js';
import { busLink, busState, scaledBusSeed } from './fleet-load.js';

const VEHICLES = Number(process.env['MICHI_BENCH_ALARM_VEHICLES'] ?? 10_000);
const SECONDS = Number(process.env['MICHI_BENCH_ALARM_SECONDS'] ?? 10);
const ROUNDS = Number(process.env['MICHI_BENCH_ALARM_ROUNDS'] ?? 5);
const BATCH = 500;
const OBSERVERS = new Set((process.env['MICHI_BENCH_OBSERVERS'] ?? 'alarms').split(','));

const pilot = PilotSchema.parse(scaledBusSeed(VEHICLES));
const gateways = pilot.gateways.map((g) => g.id);
const route = pilot.routes[0]!.geometry.coordinates;

// Readings of the last SECONDS seconds, grouped per gateway into batches, encoded once.
const t0 = Date.now() - SECONDS * 1_000;
const batches: { gateway: string; payload: Uint8Array }[] = [];
for (let s = 0; s < SECONDS; s++) {
  const perGateway = new Map<string, michi.v1.Reading.$Properties[]>(gateways.map((g) => [g, []]));
  for (let i = 0; i < VEHICLES; i++) {
    const v = pilot.vehicles[i]!;
    const at = route[(i + s) % route.length]!;
    const ts = t0 + s * 1_000 + (i % 1_000);
    perGateway.get(v.gatewayId)!.push(busState(v.id, ts, 2 * s, s, at), busLink(v.id, ts, 2 * s + 1, at));
  }
  for (const [gateway, items] of perGateway) {
    for (let k = 0; k < items.length; k += BATCH) {
      const payload = encodeBatch({
        pilot_id: pilot.id,
        gateway_id: gateway,
        first_seq: k,
        items: items.slice(k, k + BATCH),
        sent_ts_ms: Date.now(),
      });
      batches.push({ gateway, payload });
    }
  }
}
const readings = VEHICLES * SECONDS * 2;

const logger = pino({ level: 'silent' });
const writer = { writeBody: () => Promise.resolve() } as unknown as InfluxWriter;
const directory = new PilotDirectory([pilot], () => 'secret', logger);
const dir = mkdtempSync(join(tmpdir(), 'michi-bench-alarms-'));
/** Alarm changes stored per phase with alarms: the readings are of a healthy fleet, so few or none. */
const changes: number[] = [];

async function phase(withAlarms: boolean, round: number): Promise<number> {
  const metrics = new CloudMetrics(undefined, { defaultMetrics: false });
  let store: AlarmStore | undefined;
  let engine: AlarmEngine | undefined;
  let recorder: OperatingRecorder | undefined;
  if (withAlarms && OBSERVERS.has('records')) {
    recorder = new OperatingRecorder(
      [pilot],
      { retentionMs: 183 * 86_400_000, lateHorizonMs: 7 * 86_400_000, flushIntervalMs: 5_000, retentionIntervalMs: 3_600_000 },
      {
        store: new RecordStore(join(dir, `records-${round}.sqlite`)),
        heads: new HeadFile(join(dir, `heads-${round}.jsonl`)),
        logger,
        metrics,
      },
    );
    // A recorder that has seen each vehicle before (as one running for a while has): the phase then
    // measures judging every state, not the first-seen entry of each vehicle (MICHI_BENCH_RECORDS_COLD=1 measures that).
    if (process.env['MICHI_BENCH_RECORDS_COLD'] !== '1') {
      for (const gateway of gateways) {
        const items = pilot.vehicles
          .filter((v) => v.gatewayId === gateway)
          .map((v) => ({ state: { source_id: v.id, ts_ms: t0 - 1_000, mode: 2 } }));
        recorder.observeBatch(
          { pilot: pilot.id, gateway, topic: '' },
          Date.now(),
          items,
          items.map((_, i) => i),
        );
      }
    }
  }
  if (withAlarms && OBSERVERS.has('alarms')) {
    store = new AlarmStore(join(dir, `alarms-${round}.sqlite`));
    engine = new AlarmEngine(
      [pilot],
      { lateAfterMs: 30_000, tickIntervalMs: 1_000, keepClearedMs: 86_400_000 },
      { store, logger, metrics },
    );
  }
  const ingest = new BatchIngest(
    { maxPayloadBytes: 4 * 1024 * 1024, timestampWindow: { pastMs: 7 * 86_400_000, futureMs: 300_000 } },
    { directory, writer, latest: new LatestState([pilot]), metrics, logger, observer: fanOutObservers([engine, recorder], logger) },
  );
  const start = process.cpuUsage();
  for (const b of batches) {
    const out = await ingest.ingest({ pilot: pilot.id, gateway: b.gateway, topic: '' }, b.payload);
    if (out.status !== 'accepted' || out.rejected.length > 0) throw new Error(`batch not accepted: ${JSON.stringify(out).slice(0, 300)}`);
  }
  const used = process.cpuUsage(start);
  if (store) changes.push((store.db.prepare('SELECT count(*) AS n FROM alarm_changes').get() as { n: number }).n);
  engine?.close();
  store?.close();
  recorder?.close();
  return (used.user + used.system) / readings; // µs per reading
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
await phase(false, -1); // warm-up
await phase(true, -1);
const without: number[] = [];
const withRules: number[] = [];
const ratios: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const a = await phase(false, r);
  const b = await phase(true, r);
  without.push(a);
  withRules.push(b);
  ratios.push(b / a);
}
rmSync(dir, { recursive: true, force: true });
console.log(
  `Observers' cost (${[...OBSERVERS].join(' + ')}): ${VEHICLES} vehicles × ${SECONDS} s at 1 Hz (state + link), ${readings} readings per phase, ${ROUNDS} rounds`,
);
console.log('| phase | CPU µs per reading (median) |');
console.log('| --- | --- |');
console.log(`| ingest without alarms (baseline) | ${median(without).toFixed(2)} |`);
console.log(`| ingest with ${[...OBSERVERS].join(' + ')} | ${median(withRules).toFixed(2)} |`);
console.log(`| observers alone (median of the rounds' differences) | ${median(withRules.map((b, i) => b - without[i]!)).toFixed(2)} |`);
console.log(`| with / without (median of rounds) | ${median(ratios).toFixed(3)} (goal ≤ 1.10) |`);
console.log(`alarm changes stored per phase: ${changes.join(', ')}`);
