// The gRPC ingest (michi.v1.CloudIngestService/Upload over TLS) against a real InfluxDB and real
// grpc-js clients: an UploadResponse means the readings are in InfluxDB; replays overwrite; RETRY
// while InfluxDB hangs, and the resend lands once; the health service and server reflection answer.
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { service as healthService } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestPki, type TestPki } from '../../scripts/test-support/index.js';
import type { CloudIngestClient } from '../src/ingest-grpc-client.js';
import { TLS_CHANNEL_OPTIONS, grpcClient, openUpload } from './ingest-grpc-support.js';
import { SECRETS, batch, cloudConfig, cloudOnInflux, linkSample, metric, vehicleState } from './support.js';

const require = createRequire(import.meta.url);

let pki: TestPki;
let client: CloudIngestClient;

beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => pki?.remove());

const stack = cloudOnInflux((influxUrl) =>
  cloudConfig(influxUrl, {
    influx: { timeoutMs: 2_000 },
    grpc: { enabled: true, port: 0, tls: { certFile: pki.certFile, keyFile: pki.keyFile } },
  }),
);

beforeAll(() => {
  client = grpcClient(stack.cloud.grpcPort!, pki.ca);
});
afterAll(() => client?.close());

async function count(measurement: string, where = 'true'): Promise<number> {
  const rows = await stack.influx.rows(`SELECT count("seq") FROM "${measurement}" WHERE ${where}`);
  return Number(rows[0]?.['count'] ?? 0);
}

describe('gRPC ingest', () => {
  it('answers each UploadRequest only once its readings are queryable in InfluxDB', async () => {
    const up = openUpload(client, { gateway: 'gw-a', secret: SECRETS['gw-a'] });
    const t0 = Date.now() - 60_000;
    const items = [...Array.from({ length: 40 }, (_, i) => vehicleState('bus-1', t0 + i * 100, i + 1)), linkSample('bus-1', t0 + 5, 41)];
    const ack = await up.send(batch('gw-a', items, 1001));
    expect(ack).toEqual({ first_seq: 1001, count: 41, status: 'ACK_STATUS_ACCEPTED', rejected: [], detail: '' });
    // No waiting: the response itself says the points are there.
    expect(await count('vehicle_state', `"source" = 'bus-1' AND time >= ${t0}ms AND time < ${t0 + 4000}ms`)).toBe(40);
    expect(await count('link_sample', `time = ${t0 + 5}ms`)).toBe(1);
    up.end();
    expect((await up.status).code).toBe(grpc.status.OK);
    expect(await metric(stack.cloud.metricsUrl, 'michi_cloud_batches_accepted_total', { transport: 'grpc' })).toBeGreaterThanOrEqual(1);
    expect(await metric(stack.cloud.metricsUrl, 'michi_cloud_gateway_last_seen_seconds', { gateway: 'gw-a' })).toBeGreaterThan(
      Date.now() / 1000 - 60,
    );
  });

  it('pipelines: many requests in flight, answered in request order, each naming its batch', async () => {
    const up = openUpload(client, { gateway: 'gw-b', secret: SECRETS['gw-b'] });
    const t0 = Date.now() - 120_000;
    const acks = await Promise.all(
      Array.from({ length: 50 }, (_, b) =>
        up.send(
          batch(
            'gw-b',
            Array.from({ length: 20 }, (_, i) => vehicleState('bus-2', t0 + (b * 20 + i) * 10, b * 20 + i + 1)),
            b * 20 + 1,
          ),
        ),
      ),
    );
    expect(acks.map((a) => a.first_seq)).toEqual(Array.from({ length: 50 }, (_, b) => b * 20 + 1));
    expect(acks.every((a) => a.status === 'ACK_STATUS_ACCEPTED' && a.count === 20)).toBe(true);
    expect(await count('vehicle_state', `"source" = 'bus-2' AND time >= ${t0}ms AND time < ${t0 + 10_000}ms`)).toBe(1000);
    up.end();
  });

  it('overwrites on replay: the same batch again, on a new stream after a reconnect, adds no points', async () => {
    const t0 = Date.now() - 180_000;
    const payload = batch(
      'gw-a',
      Array.from({ length: 30 }, (_, i) => vehicleState('bus-1', t0 + i, i + 1)),
      5001,
    );
    const first = openUpload(client, { gateway: 'gw-a', secret: SECRETS['gw-a'] });
    expect((await first.send(payload)).status).toBe('ACK_STATUS_ACCEPTED');
    first.cancel();
    const again = grpcClient(stack.cloud.grpcPort!, pki.ca);
    const second = openUpload(again, { gateway: 'gw-a', secret: SECRETS['gw-a'] });
    expect((await second.send(payload)).status).toBe('ACK_STATUS_ACCEPTED');
    expect((await second.send(payload)).status).toBe('ACK_STATUS_ACCEPTED');
    expect(await count('vehicle_state', `"source" = 'bus-1' AND time >= ${t0}ms AND time < ${t0 + 30}ms`)).toBe(30);
    second.end();
    again.close();
  });

  it('answers RETRY while InfluxDB hangs, keeps the stream open, and the resend lands exactly once', async () => {
    const up = openUpload(client, { gateway: 'gw-a', secret: SECRETS['gw-a'] });
    const t0 = Date.now() - 240_000;
    const payload = batch(
      'gw-a',
      Array.from({ length: 25 }, (_, i) => vehicleState('bus-1', t0 + i, i + 1)),
      7001,
    );
    stack.influx.pause();
    let ack;
    try {
      ack = await up.send(payload);
    } finally {
      stack.influx.resume();
    }
    expect(ack.status).toBe('ACK_STATUS_RETRY');
    expect(ack.first_seq).toBe(7001);
    expect(ack.detail).toMatch(/^MICHI_ERR_STORAGE: /);
    // The timed-out write may still have landed once InfluxDB woke up; either way, one copy.
    const again = await up.send(payload);
    expect(again.status).toBe('ACK_STATUS_ACCEPTED');
    expect(await count('vehicle_state', `"source" = 'bus-1' AND time >= ${t0}ms AND time < ${t0 + 25}ms`)).toBe(25);
    up.end();
  });

  it('serves the standard health service', async () => {
    const Health = grpc.makeGenericClientConstructor(healthService, 'Health');
    const health = new Health(
      `127.0.0.1:${stack.cloud.grpcPort}`,
      grpc.credentials.createSsl(pki.ca),
      TLS_CHANNEL_OPTIONS,
    ) as unknown as grpc.Client & {
      check(req: { service: string }, cb: (err: grpc.ServiceError | null, res: { status: string }) => void): void;
    };
    const check = (service: string) =>
      new Promise<{ status: string }>((resolve, reject) => health.check({ service }, (err, res) => (err ? reject(err) : resolve(res))));
    expect(await check('')).toEqual({ status: 'SERVING' });
    expect(await check('michi.v1.CloudIngestService')).toEqual({ status: 'SERVING' });
    await expect(check('no.such.Service')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    health.close();
  });

  it('serves reflection: lists the services and describes CloudIngestService, as grpcurl asks', async () => {
    const def = protoLoader.loadSync('grpc/reflection/v1/reflection.proto', {
      includeDirs: [require.resolve('@grpc/reflection/package.json').replace(/package\.json$/, 'build/proto')],
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      grpc: {
        reflection: { v1: { ServerReflection: new (addr: string, creds: grpc.ChannelCredentials, options: object) => grpc.Client } };
      };
    };
    const reflection = new pkg.grpc.reflection.v1.ServerReflection(
      `127.0.0.1:${stack.cloud.grpcPort}`,
      grpc.credentials.createSsl(pki.ca),
      TLS_CHANNEL_OPTIONS,
    ) as grpc.Client & {
      ServerReflectionInfo(): grpc.ClientDuplexStream<object, Record<string, unknown>>;
    };
    const ask = (req: object) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const call = reflection.ServerReflectionInfo();
        call.on('data', (res: Record<string, unknown>) => {
          resolve(res);
          call.end();
        });
        call.on('error', reject);
        call.write(req);
      });
    const list = (await ask({ list_services: '*' })) as { list_services_response: { service: { name: string }[] } };
    const names = list.list_services_response.service.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['michi.v1.CloudIngestService', 'grpc.health.v1.Health']));
    const file = (await ask({ file_containing_symbol: 'michi.v1.CloudIngestService' })) as {
      file_descriptor_response: { file_descriptor_proto: Buffer[] };
    };
    const protos = file.file_descriptor_response.file_descriptor_proto.map((b) => Buffer.from(b).toString('latin1'));
    expect(protos.some((p) => p.includes('CloudIngestService') && p.includes('UploadRequest'))).toBe(true);
    expect(protos.some((p) => p.includes('VehicleState'))).toBe(true);
    reflection.close();
  });

  it('refuses a plaintext client on the TLS port', async () => {
    const plain = grpcClient(stack.cloud.grpcPort!);
    const up = openUpload(plain, { gateway: 'gw-a', secret: SECRETS['gw-a'] });
    await expect(up.send(batch('gw-a', [vehicleState('bus-1', Date.now(), 1)]))).rejects.toThrow(/call ended: 14/);
    plain.close();
  });
});
