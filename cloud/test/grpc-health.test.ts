// The gRPC health service follows InfluxDB: NOT_SERVING while InfluxDB does not take writes
// (paused: it accepts connections and answers nothing; stopped: connections refused), SERVING again
// once it does, as seen by a real grpc.health.v1 client (Check and Watch), with and without ingest traffic.
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfluxDb, waitFor, type InfluxHandle } from '../../scripts/test-support/index.js';
import { startCloud, type CloudService } from '../src/cloud-service.js';
import { grpcClient, openUpload } from './ingest-grpc-support.js';
import { SECRETS, batch, cloudConfig, testLogger, vehicleState } from './support.js';

type Status = 'SERVING' | 'NOT_SERVING' | 'UNKNOWN' | 'SERVICE_UNKNOWN';

interface HealthClient extends grpc.Client {
  check(req: { service: string }, cb: (err: grpc.ServiceError | null, res: { status: Status }) => void): void;
  watch(req: { service: string }): grpc.ClientReadableStream<{ status: Status }>;
}

let influx: InfluxHandle;
let cloud: CloudService;
let health: HealthClient;

const check = (service = ''): Promise<Status> =>
  new Promise((resolve, reject) => health.check({ service }, (err, res) => (err ? reject(err) : resolve(res.status))));

async function until(status: Status, what: string): Promise<void> {
  await waitFor(async () => ((await check()) === status && (await check('michi.v1.CloudIngestService')) === status) || undefined, {
    timeoutMs: 15_000,
    what,
  });
}

beforeAll(async () => {
  influx = await startInfluxDb();
  cloud = await startCloud(
    cloudConfig(influx.url, { influx: { timeoutMs: 1_000, healthIntervalMs: 200 }, grpc: { enabled: true, port: 0 } }),
    { logger: testLogger },
  );
  const Health = grpc.makeGenericClientConstructor(healthService, 'Health');
  health = new Health(`127.0.0.1:${cloud.grpcPort}`, grpc.credentials.createInsecure()) as unknown as HealthClient;
});

afterAll(async () => {
  influx?.resume();
  health?.close();
  await cloud?.close();
  await influx?.stop();
});

describe('gRPC health follows InfluxDB', () => {
  it('idle: NOT_SERVING while InfluxDB is paused, SERVING once it is resumed (Check and Watch)', async () => {
    expect(await check()).toBe('SERVING');
    const watch = health.watch({ service: 'michi.v1.CloudIngestService' });
    const seen: Status[] = [];
    watch.on('data', (r: { status: Status }) => seen.push(r.status));
    watch.on('error', () => undefined); // cancelled below
    try {
      influx.pause();
      await until('NOT_SERVING', 'NOT_SERVING while InfluxDB is paused');
      influx.resume();
      await until('SERVING', 'SERVING after InfluxDB resumed');
      await waitFor(() => seen.at(-1) === 'SERVING' || undefined, { what: 'the watch to report SERVING again' });
      expect(seen).toEqual(['SERVING', 'NOT_SERVING', 'SERVING']);
    } finally {
      influx.resume();
      watch.cancel();
    }
  });

  it('under ingest: a failed write turns it NOT_SERVING, InfluxDB back after a restart turns it SERVING', async () => {
    const client = grpcClient(cloud.grpcPort!);
    const up = openUpload(client, { gateway: 'gw-a', secret: SECRETS['gw-a'] });
    try {
      const t0 = Date.now() - 10_000;
      expect((await up.send(batch('gw-a', [vehicleState('bus-1', t0, 1)], 1))).status).toBe('ACK_STATUS_ACCEPTED');
      expect(await check()).toBe('SERVING');
      influx.pause();
      expect((await up.send(batch('gw-a', [vehicleState('bus-1', t0 + 1, 2)], 2))).status).toBe('ACK_STATUS_RETRY');
      // The failed write says so at once, before any ping.
      expect(await check()).toBe('NOT_SERVING');
      influx.resume();
      await influx.restart();
      await until('SERVING', 'SERVING after InfluxDB restarted');
      expect((await up.send(batch('gw-a', [vehicleState('bus-1', t0 + 1, 2)], 2))).status).toBe('ACK_STATUS_ACCEPTED');
      expect(await check()).toBe('SERVING');
    } finally {
      influx.resume();
      up.end();
      client.close();
    }
  });
});
