// The cloud in front of scale-out workers (cloud/src/fleet-watch.ts), the same scenario on each
// broker (scale-out.test.ts: Mosquitto; nats-cluster.test.ts: a NATS cluster): the workers store,
// the cloud (its own process, as an operator runs it, alarms on) reads every batch from the same
// broker for its live feed and alarms. A batch sent twice raises one alarm and pushes its state
// once; the cloud stores nothing itself; after a kill -9 of the cloud the open alarm is still one,
// and what gateways sent while it was down raises its alarm when it is back.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { stringify } from 'yaml';
import { waitFor, type InfluxHandle } from '../../scripts/test-support/index.js';
import { alarmSeeds, eventOf } from './alarms-support.js';
import { startCloudProcess, writeCloudConfig, type CloudProcess } from './cloud-process.js';
import { apiGet } from './fixtures/api-support.js';
import { API_TOKENS, PILOT, batch, metric, publishBatch, topicOf, vehicleState } from './support.js';

export interface WatchScenario {
  influx: InfluxHandle;
  /** The `worker` section the running workers use: the broker and its credentials. */
  worker: Record<string, unknown>;
  /** Environment of the cloud process: the gateway secrets and the worker password. */
  env: Record<string, string>;
  /** A gateway's connection to the broker, as its edge connects. */
  gateway(id: string): Promise<MqttClient>;
  /**
   * Whether the cloud serves other-town as well as test-town: then it reads other-town's batches
   * too (with NATS, a consumer of two filter subjects); else they never reach it.
   */
  servesOtherTown: boolean;
}

/**
 * The scenario as a test of the calling file, whose broker and workers `setup` provides (starting a
 * worker if the file's earlier tests left none); the cloud processes are killed after the file.
 */
export function describeCloudWatch(setup: () => Promise<WatchScenario>): void {
  const clouds: CloudProcess[] = [];
  // Registered after the file's own afterAll, so it runs before it: before the broker stops.
  afterAll(() => {
    for (const c of clouds) c.child.kill('SIGKILL');
  });
  describe('the cloud in front of the workers (watch)', () => {
    it(
      'raises each alarm once and pushes each state once, stores nothing itself, and catches up after a kill -9',
      { timeout: 180_000 },
      async () => {
        const start = (config: string, env: Record<string, string>): CloudProcess => {
          const p = startCloudProcess(config, env);
          clouds.push(p);
          return p;
        };
        await cloudWatchesTheWorkers(await setup(), start);
      },
    );
  });
}

interface AlarmView {
  id: string;
  source: string;
  rule: string;
  state: string;
}

interface LiveMessage {
  type: string;
  vehicle?: { id: string; state: { ts_ms: number } };
  change?: { kind: string; alarm: AlarmView };
}

async function activeAlarms(url: string): Promise<AlarmView[]> {
  const res = await apiGet({ url }, `/pilots/${PILOT}/alarms`, API_TOKENS.operator);
  expect(res.status).toBe(200);
  return (res.body as { alarms: AlarmView[] }).alarms;
}

/** The newest state the cloud has of `bus`, as the API shows it. */
async function stateTs(url: string, bus: string): Promise<number | undefined> {
  const { body } = await apiGet({ url }, `/pilots/${PILOT}/vehicles`, API_TOKENS.operator);
  return (body as { vehicles: { id: string; state: { ts_ms: number } | null }[] }).vehicles.find((v) => v.id === bus)?.state?.ts_ms;
}

/** The operator's live feed of the pilot, collecting every message. */
async function liveFeed(url: string): Promise<{ messages: LiveMessage[]; close(): void }> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/v1/pilots/${PILOT}/live?hz=10`, [
    'michi.v1',
    `bearer.${API_TOKENS.operator}`,
  ]);
  const messages: LiveMessage[] = [];
  const snapshot = new Promise<void>((resolve, reject) => {
    ws.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString()) as LiveMessage;
      messages.push(msg);
      if (msg.type === 'snapshot') resolve();
    });
    ws.once('error', reject);
  });
  await snapshot;
  return { messages, close: () => ws.close() };
}

async function startWatchingCloud(
  s: WatchScenario,
  startCloud: (configFile: string, env: Record<string, string>) => CloudProcess,
  config: string,
): Promise<{ cloud: CloudProcess; url: string; metricsUrl: string }> {
  const cloud = startCloud(config, s.env);
  const url = await cloud.url();
  await waitFor(() => /consuming batches from/.test(cloud.out()) || undefined, { what: 'the cloud reading the broker', timeoutMs: 30_000 });
  const metricsUrl = /"metricsUrl":"(http:\/\/[^"]+)"/.exec(cloud.out())![1]!;
  return { cloud, url, metricsUrl };
}

async function cloudWatchesTheWorkers(
  s: WatchScenario,
  startCloud: (configFile: string, env: Record<string, string>) => CloudProcess,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'michi-watch-'));
  const seedsDir = alarmSeeds({ rules: { 'source-silent': { enabled: false }, 'gateway-silent': { enabled: false } } });
  // Serving test-town only, other-town's batches (which the workers store) are not the cloud's to read.
  if (!s.servesOtherTown) rmSync(join(seedsDir, 'other-town.json'));
  const config = writeCloudConfig(dir, {
    seedsDir,
    influxUrl: s.influx.url,
    more: stringify({
      worker: s.worker,
      watch: { enabled: true, clientId: 'michi-watch' },
      alarms: { dbFile: join(dir, 'alarms.sqlite'), tickIntervalMs: 100 },
      records: { dbFile: join(dir, 'records.sqlite') },
    }),
  });
  let { cloud, url, metricsUrl } = await startWatchingCloud(s, startCloud, config);
  const live = await liveFeed(url);
  const gwA = await s.gateway('gw-a');

  // A bus in a minimal-risk stop; the gateway sends the same batch twice (a resend after a lost PUBACK).
  // Newer than any reading the broker's earlier tests left (the live feed and the rules take only newer ones).
  const t = Math.max(Date.now(), ((await stateTs(url, 'bus-1')) ?? 0) + 1_000);
  const t2 = Math.max(Date.now(), ((await stateTs(url, 'bus-2')) ?? 0) + 1_000);
  const mrm = batch('gw-a', [vehicleState('bus-1', t, 1, { mode: 5 })], 1);
  await publishBatch(gwA, topicOf('gw-a'), mrm);
  await publishBatch(gwA, topicOf('gw-a'), mrm);
  await waitFor(async () => (await s.influx.rows(`SELECT "seq" FROM vehicle_state WHERE time = ${t}ms`)).length === 1 || undefined, {
    what: "the workers' write of the reading",
    timeoutMs: 30_000,
  });
  const raised = await waitFor(
    async () => (await activeAlarms(url)).filter((a) => a.source === 'bus-1' && a.rule === 'minimal-risk').at(0),
    { what: 'the minimal-risk alarm in the API', timeoutMs: 15_000 },
  );
  await waitFor(() => live.messages.some((m) => m.type === 'alarm' && m.change?.alarm.id === raised.id) || undefined, {
    what: 'the alarm on the live feed',
  });
  // The cloud saw both copies of the batch (its watch is not a share of the workers').
  await waitFor(async () => (await metric(metricsUrl, 'michi_cloud_batches_accepted_total', { transport: 'watch' })) >= 2 || undefined, {
    what: 'the cloud to observe both copies',
  });
  await new Promise((r) => setTimeout(r, 500));
  expect((await activeAlarms(url)).filter((a) => a.source === 'bus-1' && a.rule === 'minimal-risk')).toHaveLength(1);
  expect(live.messages.filter((m) => m.type === 'alarm' && m.change?.kind === 'raised' && m.change.alarm.id === raised.id)).toHaveLength(1);
  expect(live.messages.filter((m) => m.type === 'state' && m.vehicle?.id === 'bus-1' && m.vehicle.state.ts_ms === t)).toHaveLength(1);
  // The workers stored the reading; the cloud wrote nothing itself.
  expect(await metric(metricsUrl, 'michi_cloud_readings_accepted_total', { kind: 'state' })).toBe(0);
  // Another pilot's batch: stored by the workers; read by this cloud only if it serves that pilot
  // (never refused as an unknown gateway).
  const observed = await metric(metricsUrl, 'michi_cloud_batches_accepted_total', { transport: 'watch' });
  const other = await s.gateway('gw-other');
  const tOther = Date.now();
  await publishBatch(other, topicOf('gw-other', 'other-town'), batch('gw-other', [vehicleState('robot-1', tOther, 1)], 1, 'other-town'));
  await publishBatch(gwA, topicOf('gw-a'), batch('gw-a', [vehicleState('bus-1', t + 1, 2, { mode: 5 })], 2));
  await waitFor(
    async () => (await metric(metricsUrl, 'michi_cloud_batches_accepted_total', { transport: 'watch' })) > observed || undefined,
    {
      what: "the cloud to observe test-town's next batch",
    },
  );
  await waitFor(async () => (await s.influx.rows(`SELECT "seq" FROM vehicle_state WHERE time = ${tOther}ms`)).length === 1 || undefined, {
    what: "the workers' write of other-town's reading",
    timeoutMs: 30_000,
  });
  await new Promise((r) => setTimeout(r, 300));
  expect(await metric(metricsUrl, 'michi_cloud_batches_accepted_total', { transport: 'watch' })).toBe(
    observed + (s.servesOtherTown ? 2 : 1),
  );
  expect(await metric(metricsUrl, 'michi_cloud_ingest_refusals_total', { transport: 'watch', reason: 'unknown_gateway' })).toBe(0);
  live.close();

  // kill -9 of the cloud; meanwhile another gateway's bus stops in an emergency.
  cloud.child.kill('SIGKILL');
  await cloud.exited;
  const gwB = await s.gateway('gw-b');
  await publishBatch(gwB, topicOf('gw-b'), batch('gw-b', [eventOf(3, 'bus-2', t2, 1)], 1));
  await waitFor(async () => (await s.influx.rows(`SELECT "seq" FROM event WHERE time = ${t2}ms`)).length === 1 || undefined, {
    what: "the workers' write of the event while the cloud is down",
    timeoutMs: 30_000,
  });
  ({ cloud, url, metricsUrl } = await startWatchingCloud(s, startCloud, config));
  const stop = await waitFor(async () => (await activeAlarms(url)).find((a) => a.source === 'bus-2' && a.rule === 'emergency-stop'), {
    what: 'the emergency stop sent while the cloud was down, raised once it is back',
    timeoutMs: 30_000,
  });
  expect(stop.id).toBe(`${PILOT}.bus-2.emergency-stop.${t2}`);
  const after = (await activeAlarms(url)).filter((a) => a.source === 'bus-1' && a.rule === 'minimal-risk');
  expect(after.map((a) => a.id)).toEqual([raised.id]);
  cloud.child.kill('SIGTERM');
  await cloud.exited;
}
