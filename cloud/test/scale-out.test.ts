// External-broker mode against Debian's Mosquitto 2.0 and a real InfluxDB: the broker authenticates
// gateways from the generated password and ACL files (a gateway publishes only under its own topic);
// two michi-ingest-worker processes share the load through $share/michi-ingest/...; one is killed
// with SIGKILL mid-stream and restarted with the same client id; every reading lands exactly once,
// checked per source by sequence number.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSeeds } from '@michi/proto';
import { startInfluxDb, startMosquitto, waitFor, type InfluxHandle, type MosquittoHandle } from '../../scripts/test-support/index.js';
import { secretResolver } from '../src/config.js';
import { mosquittoAuthFiles, mosquittoNoDropSettings } from '../src/worker-broker-auth.js';
import { expectEachReadingOnce, publishSequencedLoad } from './sequenced-load.js';
import { FIXTURE_SEEDS, SECRETS, SECRET_ENV, batch, metric, publishBatch, vehicleState } from './support.js';
import { describeCloudWatch } from './watch-scenario.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

const WORKER_PASSWORD = 'worker-password-of-the-tests';
const WORKER_ENV = { ...SECRET_ENV, MICHI_TEST_WORKER_PASSWORD: WORKER_PASSWORD };

let dir: string;
let influx: InfluxHandle;
let broker: MosquittoHandle;
const workers = new Map<string, WorkerProcess>();
const clients: MqttClient[] = [];

async function startWorker(clientId: string): Promise<void> {
  const settings = {
    seedsDir: FIXTURE_SEEDS,
    influx: { url: influx.url, database: 'michi', timeoutMs: 3_000 },
    worker: { brokerUrl: broker.url, clientId, connections: 2, sessionExpirySeconds: 600, passwordEnv: 'MICHI_TEST_WORKER_PASSWORD' },
    log: { level: 'info' },
  };
  workers.set(clientId, await startWorkerProcess(dir, clientId, settings, WORKER_ENV));
}

async function stopWorker(clientId: string, signal: NodeJS.Signals): Promise<void> {
  const w = workers.get(clientId);
  workers.delete(clientId);
  await w?.stop(signal);
}

function accepted(clientId: string): Promise<number> {
  return workers.get(clientId)!.accepted();
}

/** A gateway as an edge connects to a broker: MQTT 3.1.1, username = gateway id. */
function gatewayClient(gateway: string, password: string): Promise<MqttClient> {
  const c = mqtt.connect(broker.url, {
    clientId: `edge-${gateway}.${Math.random().toString(16).slice(2, 8)}`,
    username: gateway,
    password,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  clients.push(c);
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve(c));
    c.once('error', (err) => {
      c.end(true);
      reject(err);
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'michi-scale-out-'));
  influx = await startInfluxDb();
  const files = mosquittoAuthFiles(loadSeeds(FIXTURE_SEEDS), secretResolver(SECRET_ENV), {
    username: 'michi-ingest',
    password: WORKER_PASSWORD,
  });
  const passwordFile = join(dir, 'passwd');
  const aclFile = join(dir, 'acl');
  writeFileSync(passwordFile, files.passwords, { mode: 0o600 });
  writeFileSync(aclFile, files.acl);
  broker = await startMosquitto({ extraConfig: mosquittoNoDropSettings({ passwordFile, aclFile }) });
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  for (const id of [...workers.keys()]) await stopWorker(id, 'SIGKILL');
  await broker?.stop();
  await influx?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the broker authenticates gateways from the generated files', () => {
  it('refuses a wrong password, and lets a gateway publish only under its own topic', async () => {
    await expect(gatewayClient('gw-a', 'wrong')).rejects.toMatchObject({ code: 5 });
    await expect(gatewayClient('gw-a', SECRETS['gw-b'])).rejects.toMatchObject({ code: 5 });
    const spy = mqtt.connect(broker.url, { username: 'michi-ingest', password: WORKER_PASSWORD, clientId: 'spy', reconnectPeriod: 0 });
    clients.push(spy);
    await new Promise<void>((resolve) => spy.once('connect', () => resolve()));
    const seen: string[] = [];
    spy.on('message', (topic) => seen.push(topic));
    await spy.subscribeAsync('michi/v1/#', { qos: 1 });
    const payload = batch('gw-a', [vehicleState('bus-1', Date.now(), 1)]);
    // Mosquitto 2.0.11 acknowledges a publish its ACL denies, drops it, and closes the connection.
    for (const topic of ['michi/v1/test-town/gw-b/batch', 'michi/v1/other-town/gw-a/batch']) {
      const a = await gatewayClient('gw-a', SECRETS['gw-a']);
      const closed = new Promise<void>((resolve) => a.once('close', () => resolve()));
      await publishBatch(a, topic, payload).catch(() => undefined);
      await closed;
    }
    // Nor can a gateway read another's batches: Mosquitto grants the subscription but delivers nothing the ACL denies.
    const b = await gatewayClient('gw-b', SECRETS['gw-b']);
    const bSaw: string[] = [];
    b.on('message', (topic) => bSaw.push(topic));
    await b.subscribeAsync('michi/v1/test-town/gw-a/batch', { qos: 1 });
    const a = await gatewayClient('gw-a', SECRETS['gw-a']);
    await publishBatch(a, 'michi/v1/test-town/gw-a/batch', payload);
    await waitFor(() => seen.length > 0 || undefined, { what: 'the spy to see the allowed publish' });
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual(['michi/v1/test-town/gw-a/batch']);
    expect(bSaw).toEqual([]);
    spy.end(true);
  });
});

describe('two ingest workers on a shared subscription', () => {
  it(
    'split the load, and lose nothing when one is killed mid-stream and restarted with the same client id',
    { timeout: 180_000 },
    async () => {
      await startWorker('w1');
      await startWorker('w2');
      const t0 = Date.now() - 3 * 3_600_000;
      const load = publishSequencedLoad(gatewayClient, t0);

      // Mid-stream: both workers have taken a share; kill one without a chance to ack what it holds.
      await load.aThirdPublished(30_000);
      const before = { w1: await accepted('w1'), w2: await accepted('w2') };
      expect(before.w1).toBeGreaterThan(0);
      expect(before.w2).toBeGreaterThan(0);
      await stopWorker('w1', 'SIGKILL');
      await new Promise((r) => setTimeout(r, 1_000));
      await startWorker('w1');
      await load.done;

      await expectEachReadingOnce(influx, t0, 60_000);
      const after = { w1: await accepted('w1'), w2: await accepted('w2') };
      // The restarted w1 got its held share back (or new messages) under its old client ids.
      expect(after.w1 + after.w2).toBeGreaterThan(0);
      expect(broker.logs()).not.toMatch(/dropped/i);
    },
  );
});

describe('an ingest worker checks each reading against the seed like the cloud', () => {
  it("refuses gw-b's reading of gw-a's bus-1 (MICHI_ERR_SOURCE_NOT_OWNED) and an undeclared signal, and stores the rest", async () => {
    if (workers.size === 0) await startWorker('w-own');
    const rejected = async (reason: string): Promise<number> => {
      let sum = 0;
      for (const w of workers.values()) sum += await metric(`${w.metricsUrl}/metrics`, 'michi_cloud_readings_rejected_total', { reason });
      return sum;
    };
    const before = { owned: await rejected('source_not_owned'), field: await rejected('undeclared_field') };
    const t = Date.now() - 60_000;
    const b = await gatewayClient('gw-b', SECRETS['gw-b']);
    await publishBatch(
      b,
      'michi/v1/test-town/gw-b/batch',
      batch('gw-b', [
        vehicleState('bus-1', t, 9_001, { speed_mps: 33 }),
        vehicleState('bus-2', t, 9_002, { signals: { 'Vehicle.Junk.1': 1 } }),
        vehicleState('bus-2', t + 1, 9_003),
      ]),
    );
    // The broker acknowledged the publish; the worker's write follows.
    await waitFor(
      async () =>
        (await influx.rows(`SELECT "seq" FROM vehicle_state WHERE "source" = 'bus-2' AND time = ${t + 1}ms`)).length > 0 || undefined,
      { what: "gw-b's own bus-2 reading in InfluxDB", timeoutMs: 30_000 },
    );
    await waitFor(async () => (await rejected('undeclared_field')) > before.field || undefined, { what: 'the refusals counted' });
    expect((await rejected('source_not_owned')) - before.owned).toBe(1);
    expect((await rejected('undeclared_field')) - before.field).toBe(1);
    expect(await influx.rows(`SELECT "seq" FROM vehicle_state WHERE time = ${t}ms`)).toEqual([]);
    const keys = (await influx.rows('SHOW FIELD KEYS FROM vehicle_state')).map((r) => String(r['fieldKey']));
    expect(keys).not.toContain('sig.Vehicle.Junk.1');
    const output = [...workers.values()].map((w) => w.output()).join('');
    expect(output).toContain('MICHI_ERR_SOURCE_NOT_OWNED');
  });
});

describeCloudWatch(async () => {
  if (workers.size === 0) await startWorker('w-watch');
  return {
    influx,
    worker: { brokerUrl: broker.url, clientId: 'w1', passwordEnv: 'MICHI_TEST_WORKER_PASSWORD' },
    env: WORKER_ENV,
    gateway: (id) => gatewayClient(id, SECRETS[id as keyof typeof SECRETS]),
    servesOtherTown: false,
  };
});
