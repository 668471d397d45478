// NATS mode of the ingest workers (docs/scaling.md) against a real three-node NATS cluster and a
// real InfluxDB, on loopback: the node configurations are the ones `michi-ingest-worker
// --nats-config` writes from the seeds; gateways publish over MQTT 3.1.1 at QoS 1 as the edge
// agent does (persistent session, client id edge-{gateway}); two worker processes share one durable
// JetStream consumer. Mid-stream the node leading the batch stream and one worker are SIGKILLed and
// restarted; every reading is in InfluxDB exactly once, checked per source by sequence number.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSeeds } from '@michi/proto';
import { runFleet } from '@michi/simulators';
import {
  startInfluxDb,
  startNatsCluster,
  startPilotEdges,
  waitFor,
  type InfluxHandle,
  type NatsClusterHandle,
} from '../../scripts/test-support/index.js';
import { secretResolver } from '../src/config.js';
import { natsClusterFiles } from '../src/nats-cluster-config.js';
import { MQTT_MSGS_STREAM } from '../src/worker-nats.js';
import { expectEachReadingOnce, publishSequencedLoad } from './sequenced-load.js';
import { FIXTURE_SEEDS, SECRETS, SECRET_ENV, batch, metric, publishBatch, vehicleState } from './support.js';
import { describeCloudWatch } from './watch-scenario.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

const WORKER_PASSWORD = 'nats-worker-password-of-the-tests';
const WORKER_ENV = { ...SECRET_ENV, MICHI_TEST_WORKER_PASSWORD: WORKER_PASSWORD };

let dir: string;
let influx: InfluxHandle;
let nats: NatsClusterHandle;
const workers = new Map<string, WorkerProcess>();
const clients: MqttClient[] = [];

function startWorker(name: string): Promise<void> {
  return startWorkerProcess(
    dir,
    name,
    {
      seedsDir: FIXTURE_SEEDS,
      influx: { url: influx.url, database: 'michi', timeoutMs: 3_000 },
      worker: {
        mode: 'nats',
        clientId: name,
        passwordEnv: 'MICHI_TEST_WORKER_PASSWORD',
        nats: { servers: nats.servers, ackWaitSeconds: 5, maxInFlight: 16 },
      },
      log: { level: 'info' },
    },
    WORKER_ENV,
  ).then((w) => void workers.set(name, w));
}

async function stopWorker(name: string, signal: NodeJS.Signals): Promise<void> {
  const w = workers.get(name);
  workers.delete(name);
  await w?.stop(signal);
}

/**
 * A gateway as the edge agent connects (edge/src/uplink-mqtt.ts): MQTT 3.1.1, clean: false,
 * client id edge-{gateway}; first to node `first`, then, when that one goes, to the next (in
 * production a load balancer or DNS in front of the three MQTT listeners does this). mqtt.js
 * resends what was not acknowledged after it reconnects, as the edge resends from its buffer.
 */
function gatewayClient(gateway: string, password: string, first = 0, reconnect = true): Promise<MqttClient> {
  const servers = [0, 1, 2].map((i) => nats.nodes[(first + i) % 3]!).map((n) => ({ host: n.host, port: n.mqttPort }));
  const c = mqtt.connect({
    servers,
    clientId: `edge-${gateway}`,
    username: gateway,
    password,
    protocolVersion: 4,
    clean: false,
    reconnectPeriod: reconnect ? 300 : 0,
    connectTimeout: 10_000,
  });
  clients.push(c);
  return new Promise((resolve, reject) => {
    const refused = (err: Error & { code?: unknown }): void => {
      // A CONNACK refusal carries its return code; anything else (a slow CONNACK) is retried.
      if (typeof err.code !== 'number') return;
      c.end(true);
      reject(err);
    };
    c.on('error', refused);
    c.once('connect', () => {
      c.off('error', refused);
      // Later errors (a node going away, a CONNACK that is slow during a leader election) end in a reconnect.
      c.on('error', () => undefined);
      resolve(c);
    });
  });
}

/** `$MQTT_msgs` and the workers' consumer, asked as the workers' user would. */
async function streamState(): Promise<{ leader: string; messages: number; pending: number; ackPending: number }> {
  const nc = await natsConnect({ servers: nats.servers, user: 'michi-ingest', pass: WORKER_PASSWORD });
  try {
    const jsm = await jetstreamManager(nc);
    const stream = await jsm.streams.info(MQTT_MSGS_STREAM);
    const consumer = await jsm.consumers.info(MQTT_MSGS_STREAM, 'michi-ingest');
    return {
      leader: stream.cluster?.leader ?? '',
      messages: stream.state.messages,
      pending: consumer.num_pending,
      ackPending: consumer.num_ack_pending,
    };
  } finally {
    await nc.close();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'michi-nats-cluster-'));
  influx = await startInfluxDb();
  nats = await startNatsCluster({
    configure: (layout) =>
      natsClusterFiles(loadSeeds(FIXTURE_SEEDS), secretResolver(SECRET_ENV), {
        cluster: layout,
        worker: {
          username: 'michi-ingest',
          password: WORKER_PASSWORD,
          stream: MQTT_MSGS_STREAM,
          durables: ['michi-ingest', 'michi-watch'],
        },
        maxPayloadBytes: 4 * 1024 * 1024,
        cost: 4, // the tests log in often; production keeps the default
      }).files,
  });
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.end(true);
  for (const name of [...workers.keys()]) await stopWorker(name, 'SIGKILL');
  await nats?.stop();
  await influx?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a three-node NATS cluster between gateways and two ingest workers', () => {
  it(
    'loses and duplicates nothing when the stream leader and a worker are SIGKILLed mid-stream and restarted',
    { timeout: 240_000 },
    async () => {
      await startWorker('w1');
      await startWorker('w2');
      const t0 = Date.now() - 3 * 3_600_000;
      const load = publishSequencedLoad(gatewayClient, t0);

      await load.aThirdPublished(60_000);
      expect(await workers.get('w1')!.accepted()).toBeGreaterThan(0);
      expect(await workers.get('w2')!.accepted()).toBeGreaterThan(0);
      // The node leading the stream that holds the batches, and a worker holding some of them.
      // Hold InfluxDB still for a moment, so that both workers hold batches they cannot ack yet.
      const { leader } = await streamState();
      const victim = nats.nodes.find((n) => n.name === leader) ?? nats.nodes[2]!;
      influx.pause();
      // The one to be killed must hold some: the consumer's ackPending may all be w2's (seen in CI:
      // then nothing is redelivered).
      await waitFor(
        async () =>
          (await metric(`${workers.get('w1')!.metricsUrl}/metrics`, 'michi_cloud_pending_acks', { transport: 'worker' })) > 0 || undefined,
        { what: 'batches held by w1, unacknowledged' },
      );
      // The node leading the stream that holds the batches, and a worker holding some of them.
      await Promise.all([victim.kill(), stopWorker('w1', 'SIGKILL')]);
      influx.resume();
      await new Promise((r) => setTimeout(r, 1_500));
      await Promise.all([victim.start(), startWorker('w1')]);
      await load.done;
      expect(load.published()).toBe(load.batches);
      // Off before the next test logs in with the same client ids (NATS would hand the session over).
      for (const c of clients.splice(0)) await c.endAsync(true);

      // w1's unacknowledged batches come back after ackWaitSeconds (5 s here).
      await expectEachReadingOnce(influx, t0, 90_000);
      // Every batch acknowledged, and so gone from the interest-retained stream.
      await waitFor(
        async () => {
          const s = await streamState();
          return (s.pending === 0 && s.ackPending === 0 && s.messages === 0) || undefined;
        },
        { what: 'every batch acknowledged and removed from the stream', timeoutMs: 30_000 },
      );
      // What w1 held when it died was delivered again (to w2, or to w1 after its restart).
      let redelivered = 0;
      for (const w of workers.values())
        redelivered += await metric(`${w.metricsUrl}/metrics`, 'michi_cloud_worker_redelivered_batches_total');
      expect(redelivered).toBeGreaterThan(0);
    },
  );
});

describe('the generated users and permissions', () => {
  it('refuse a wrong password and keep a gateway to its own topic', async () => {
    await expect(gatewayClient('gw-a', 'wrong', 0, false)).rejects.toMatchObject({ code: expect.any(Number) });
    await expect(gatewayClient('gw-a', SECRETS['gw-b'], 0, false)).rejects.toMatchObject({ code: expect.any(Number) });
    if (workers.size === 0) await startWorker('w-perm');
    const t = Date.now() - 60_000;
    const a = await gatewayClient('gw-a', SECRETS['gw-a'], 1);
    // Another gateway's topic and another pilot's: NATS acknowledges and drops them (a permissions violation in its log).
    await publishBatch(a, 'michi/v1/test-town/gw-b/batch', batch('gw-b', [vehicleState('bus-2', t, 1)])).catch(() => undefined);
    await publishBatch(a, 'michi/v1/other-town/gw-a/batch', batch('gw-a', [vehicleState('bus-1', t + 1, 2)], 2, 'other-town')).catch(
      () => undefined,
    );
    await publishBatch(a, 'michi/v1/test-town/gw-a/batch', batch('gw-a', [vehicleState('bus-1', t + 2, 3)], 3));
    await waitFor(async () => (await influx.rows(`SELECT "seq" FROM vehicle_state WHERE time = ${t + 2}ms`)).length > 0 || undefined, {
      what: "gw-a's own reading in InfluxDB",
      timeoutMs: 30_000,
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(await influx.rows(`SELECT "seq" FROM vehicle_state WHERE time >= ${t}ms AND time <= ${t + 1}ms`)).toEqual([]);
    // The workers' user cannot speak MQTT, and gateways cannot use the NATS protocol.
    await expect(gatewayClient('michi-ingest', WORKER_PASSWORD, 0, false)).rejects.toMatchObject({ code: expect.any(Number) });
    await expect(natsConnect({ servers: nats.servers, user: 'gw-a', pass: SECRETS['gw-a'], maxReconnectAttempts: 0 })).rejects.toThrow();
  });
});

describe('the edge agent against NATS MQTT', () => {
  it(
    'delivers through its MQTT uplink unchanged (3.1.1, QoS 1, persistent session, client id edge-{gateway})',
    { timeout: 120_000 },
    async () => {
      if (workers.size === 0) await startWorker('w-edge');
      const pilot = loadSeeds(FIXTURE_SEEDS).find((p) => p.id === 'test-town')!;
      const started: { close(): Promise<void> }[] = [];
      const logger = pino({ level: 'silent' });
      try {
        const since = Date.now() - 1_000;
        const edges = await startPilotEdges({
          // gw-nosecret has no user in NATS (its secret is not set): leave it out.
          pilot: { ...pilot, gateways: pilot.gateways.filter((g) => g.id !== 'gw-nosecret') },
          seedsDir: FIXTURE_SEEDS,
          dir,
          cloudMqttPort: nats.nodes[1]!.mqttPort,
          env: SECRET_ENV,
          logger,
          started,
        });
        const result = await runFleet({
          pilot,
          mqttUrl: edges.gatewayUrls,
          deviceKeys: edges.deviceKeys,
          count: 300,
          speedup: Infinity,
          kinds: ['state'],
          logger,
        });
        expect(result).toMatchObject({ sent: 300, acked: 300, failed: 0 });
        // Every edge's buffer drains: NATS acknowledged each batch after storing it.
        await waitFor(() => [...edges.edges.values()].every((e) => e.stats().buffer.depth === 0) || undefined, {
          what: 'the edges to drain their buffers into NATS',
          timeoutMs: 60_000,
        });
        await waitFor(
          async () => {
            const rows = await influx.rows(`SELECT count("seq") FROM vehicle_state WHERE time >= ${since}ms`);
            return Number(rows[0]?.['count'] ?? 0) >= 300 || undefined;
          },
          { what: "the fleet's 300 readings in InfluxDB", timeoutMs: 60_000 },
        );
        const rows = await influx.rows(`SELECT count("seq") FROM vehicle_state WHERE time >= ${since}ms`);
        expect(Number(rows[0]?.['count'])).toBe(300);
      } finally {
        for (const s of started.reverse()) await s.close().catch(() => undefined);
      }
    },
  );
});

describeCloudWatch(async () => {
  if (workers.size === 0) await startWorker('w-watch');
  return {
    influx,
    worker: { mode: 'nats', clientId: 'w1', passwordEnv: 'MICHI_TEST_WORKER_PASSWORD', nats: { servers: nats.servers, ackWaitSeconds: 5 } },
    env: WORKER_ENV,
    gateway: (id) => gatewayClient(id, SECRETS[id as keyof typeof SECRETS], 2),
    servesOtherTown: true,
  };
});
