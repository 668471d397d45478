// Pilots on two InfluxDB servers (influxServers, docs/scaling.md): two real InfluxDB 1.x, the cloud
// keeping test-town on the default `influx` and other-town on `archive`. Each pilot's readings land
// in its own server only (asked of both directly), the API answers each pilot's vehicles, tracks and
// KPIs from its server, and the latest states come back from both after a restart. With `archive`
// stopped (SIGSTOP: it keeps its port and answers nothing), test-town's batches are still
// acknowledged and stored while other-town's are not, until the resend after SIGCONT; gRPC health
// and /api/v1/health name the server that is down. Then the same for a scale-out worker behind a
// real Mosquitto: its /health lists each server, and each batch lands in its pilot's server. A pilot
// listed that the seeds do not have stops start-up.
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEASUREMENTS } from '@michi/proto';
import { startInfluxDb, startMosquitto, waitFor, type InfluxHandle } from '../../scripts/test-support/index.js';
import { startCloud, type CloudService } from '../src/cloud-service.js';
import type { CloudConfig } from '../src/config.js';
import { startIngestWorker } from '../src/worker-service.js';
import {
  API_TOKENS,
  batch,
  cloudConfig,
  connectGateway,
  publishBatch,
  publishOutcome,
  takeover,
  testLogger,
  topicOf,
  vehicleState,
} from './support.js';

type Status = 'SERVING' | 'NOT_SERVING' | 'UNKNOWN' | 'SERVICE_UNKNOWN';

interface HealthClient extends grpc.Client {
  check(req: { service: string }, cb: (err: grpc.ServiceError | null, res: { status: Status }) => void): void;
}

let main: InfluxHandle;
let archive: InfluxHandle;
let cloud: CloudService | undefined;
let health: HealthClient | undefined;

function twoServers(settings: Record<string, unknown> = {}): CloudConfig {
  return cloudConfig(main.url, {
    influx: { timeoutMs: 1_500, healthIntervalMs: 200 },
    influxServers: [{ name: 'archive', url: archive.url, pilots: ['other-town'] }],
    grpc: { enabled: true, port: 0 },
    ...settings,
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are dug into by the assertions
async function get(path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${cloud!.url}/api/v1${path}`, { headers: { authorization: `Bearer ${API_TOKENS.operator}` } });
  return { status: res.status, body: await res.json() };
}

/** vehicle_state points per pilot in one server, asked directly. */
async function statesByPilot(influx: InfluxHandle, where = 'time > 0'): Promise<Record<string, number>> {
  const rows = await influx.rows(`SELECT count("seq") FROM "${MEASUREMENTS.state}" WHERE ${where} GROUP BY "pilot"`);
  return Object.fromEntries(rows.map((r) => [String(r['pilot']), Number(r['count'])]));
}

const check = (service: string): Promise<Status> =>
  new Promise((resolve, reject) => health!.check({ service }, (err, res) => (err ? reject(err) : resolve(res.status))));

beforeAll(async () => {
  [main, archive] = await Promise.all([startInfluxDb(), startInfluxDb()]);
  cloud = await startCloud(twoServers(), { logger: testLogger });
  const Health = grpc.makeGenericClientConstructor(healthService, 'Health');
  health = new Health(`127.0.0.1:${cloud.grpcPort}`, grpc.credentials.createInsecure()) as unknown as HealthClient;
});

afterAll(async () => {
  archive?.resume();
  health?.close();
  await cloud?.close();
  await Promise.all([main?.stop(), archive?.stop()]);
});

const T0 = Date.now() - 60_000;

describe('pilots on two InfluxDB servers', () => {
  it("stores each pilot's readings in its own server and answers the API from it, also after a restart", async () => {
    const a = await connectGateway(cloud!.mqttPort, 'gw-a');
    const other = await connectGateway(cloud!.mqttPort, 'gw-other');
    try {
      const busStates = [0, 1, 2].map((i) => vehicleState('bus-1', T0 + i * 1_000, i + 1, { speed_mps: 5 }));
      const robotStates = [0, 1, 2, 3].map((i) => vehicleState('robot-1', T0 + i * 1_000, i + 1, { speed_mps: 2 }));
      await publishBatch(a, topicOf('gw-a'), batch('gw-a', [...busStates, takeover('bus-1', T0 + 500, 1)]));
      await publishBatch(
        other,
        topicOf('gw-other', 'other-town'),
        batch('gw-other', [...robotStates, takeover('robot-1', T0 + 500, 1), takeover('robot-1', T0 + 1_500, 2)], 1, 'other-town'),
      );
    } finally {
      a.end(true);
      other.end(true);
    }

    // Acknowledged means stored: each server holds its own pilot's readings and nothing of the other's.
    expect(await statesByPilot(main)).toEqual({ 'test-town': 3 });
    expect(await statesByPilot(archive)).toEqual({ 'other-town': 4 });
    const events = async (influx: InfluxHandle) =>
      (await influx.rows(`SELECT count("seq") FROM "${MEASUREMENTS.event}" GROUP BY "pilot"`)).map((r) => [r['pilot'], r['count']]);
    expect(await events(main)).toEqual([['test-town', 1]]);
    expect(await events(archive)).toEqual([['other-town', 2]]);

    const range = `from=${T0 - 1_000}&to=${T0 + 10_000}`;
    const robot = (await get('/pilots/other-town/vehicles')).body.vehicles[0];
    expect(robot).toMatchObject({ id: 'robot-1', state: { ts_ms: T0 + 3_000, seq: 4 } });
    const tracks = await get(`/pilots/other-town/tracks?${range}`);
    expect(tracks.status).toBe(200);
    expect(tracks.body.tracks).toHaveLength(1);
    expect(tracks.body.tracks[0].points).toHaveLength(4);
    expect((await get(`/pilots/test-town/tracks?${range}`)).body.tracks[0].points).toHaveLength(3);
    const kpis = async (pilot: string) => (await get(`/pilots/${pilot}/kpis?${range}`)).body;
    expect(await kpis('other-town')).toMatchObject({ takeovers: 2, speed_mean_kmh: 7.2 });
    expect(await kpis('test-town')).toMatchObject({ takeovers: 1, speed_mean_kmh: 18 });
    expect(await get('/health')).toMatchObject({ status: 200, body: { status: 'ok' } });

    // The latest-state cache is rebuilt from both servers.
    await cloud!.close();
    cloud = await startCloud(twoServers(), { logger: testLogger });
    health!.close();
    health = new (grpc.makeGenericClientConstructor(healthService, 'Health'))(
      `127.0.0.1:${cloud.grpcPort}`,
      grpc.credentials.createInsecure(),
    ) as unknown as HealthClient;
    expect((await get('/pilots/other-town/vehicles')).body.vehicles[0].state).toMatchObject({ ts_ms: T0 + 3_000, seq: 4 });
    expect((await get('/pilots/test-town/vehicles')).body.vehicles[0].state).toMatchObject({ ts_ms: T0 + 2_000, seq: 3 });
  });

  it("keeps acknowledging the other pilot's batches while one server is stopped; the stopped one's land after SIGCONT", async () => {
    const a = await connectGateway(cloud!.mqttPort, 'gw-a');
    let other = await connectGateway(cloud!.mqttPort, 'gw-other');
    const t = T0 + 20_000;
    const robotBatch = batch(
      'gw-other',
      [0, 1, 2, 3, 4].map((i) => vehicleState('robot-1', t + i * 100, 100 + i)),
      100,
      'other-town',
    );
    try {
      archive.pause();
      let robotOutcome: 'acked' | 'closed' | undefined;
      const robot = publishOutcome(other, topicOf('gw-other', 'other-town'), robotBatch).then((o) => (robotOutcome = o));
      // test-town's batches, one after the other while other-town's waits for its server: each acknowledged.
      for (let i = 0; i < 5; i++) {
        await publishBatch(a, topicOf('gw-a'), batch('gw-a', [vehicleState('bus-2', t + i * 100, 100 + i)], 100 + i));
      }
      expect(robotOutcome).toBeUndefined();
      expect(await statesByPilot(main, `time >= ${t}ms`)).toEqual({ 'test-town': 5 });
      // Not acknowledged: the write timed out and the connection was closed, so the gateway resends.
      expect(await robot).toBe('closed');

      await waitFor(async () => (await check('influx/archive')) === 'NOT_SERVING' || undefined, {
        timeoutMs: 15_000,
        what: 'influx/archive NOT_SERVING',
      });
      expect(await check('influx/default')).toBe('SERVING');
      expect(await check('')).toBe('NOT_SERVING');
      const down = await get('/health');
      expect(down.status).toBe(503);
      expect(down.body.detail).toContain('InfluxDB server archive:');
      expect(down.body.detail).not.toContain('server default');
    } finally {
      archive.resume();
    }

    other.end(true);
    other = await connectGateway(cloud!.mqttPort, 'gw-other');
    try {
      await publishBatch(other, topicOf('gw-other', 'other-town'), robotBatch);
    } finally {
      other.end(true);
      a.end(true);
    }
    // Once each, whether or not the timed-out write landed when the server woke up; none in `main`.
    expect(await statesByPilot(archive, `time >= ${t}ms`)).toEqual({ 'other-town': 5 });
    expect(await statesByPilot(main, `time >= ${t}ms`)).toEqual({ 'test-town': 5 });
    await waitFor(async () => (await check('')) === 'SERVING' || undefined, { timeoutMs: 15_000, what: 'SERVING again' });
    expect(await check('influx/archive')).toBe('SERVING');
  });
});

describe('influxServers at start-up', () => {
  it('refuses a pilot that is not in the seeds, naming the path', async () => {
    const config = twoServers({ influxServers: [{ name: 'archive', url: archive.url, pilots: ['other-town', 'nowhere-town'] }] });
    await expect(startCloud(config, { logger: testLogger })).rejects.toMatchObject({
      code: 'MICHI_ERR_CONFIG',
      message: expect.stringContaining('influxServers[0].pilots[1]: no pilot "nowhere-town" in'),
    });
  });
});

describe('a scale-out worker with two InfluxDB servers', () => {
  it("writes each pilot's batches to its server; /health lists each server", async () => {
    const broker = await startMosquitto();
    const worker = await startIngestWorker(
      twoServers({ worker: { brokerUrl: broker.url, clientId: 'servers-test', connections: 1, metrics: { port: 0 } } }),
      { logger: testLogger },
    );
    const base = worker.metricsUrl.replace(/\/metrics$/, '');
    const workerHealth = async () => {
      const res = await fetch(`${base}/health`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const edge = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: 'servers-test-edge', reconnectPeriod: 0 });
    try {
      await waitFor(async () => (await workerHealth()).status === 200 || undefined, { timeoutMs: 15_000, what: 'worker healthy' });
      expect((await workerHealth()).body).toMatchObject({ ok: true, influxServers: { default: 'up', archive: 'up' } });

      const t = T0 + 40_000;
      await edge.publishAsync(topicOf('gw-a'), Buffer.from(batch('gw-a', [vehicleState('bus-1', t, 200)], 200)), { qos: 1 });
      await edge.publishAsync(
        topicOf('gw-other', 'other-town'),
        Buffer.from(batch('gw-other', [vehicleState('robot-1', t, 200), vehicleState('robot-1', t + 1, 201)], 200, 'other-town')),
        { qos: 1 },
      );
      await waitFor(async () => (await statesByPilot(archive, `time >= ${t}ms`))['other-town'] === 2 || undefined, {
        timeoutMs: 15_000,
        what: "other-town's batch in archive",
      });
      await waitFor(async () => (await statesByPilot(main, `time >= ${t}ms`))['test-town'] === 1 || undefined, {
        timeoutMs: 15_000,
        what: "test-town's batch in the default server",
      });
      expect(await statesByPilot(main, `time >= ${t}ms`)).toEqual({ 'test-town': 1 });
      expect(await statesByPilot(archive, `time >= ${t}ms`)).toEqual({ 'other-town': 2 });

      archive.pause();
      try {
        await waitFor(async () => (await workerHealth()).status === 503 || undefined, { timeoutMs: 15_000, what: 'worker 503' });
        expect((await workerHealth()).body).toMatchObject({ ok: false, influx: 'down', influxServers: { default: 'up', archive: 'down' } });
      } finally {
        archive.resume();
      }
      await waitFor(async () => (await workerHealth()).status === 200 || undefined, { timeoutMs: 15_000, what: 'worker healthy again' });
    } finally {
      await edge.endAsync(true);
      await worker.close();
      await broker.stop();
    }
  });
});
