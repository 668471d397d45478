// The gRPC publisher against a real grpc-js server speaking michi.v1.EdgeIngestService (the
// contract in proto/schema/michi/v1/ingest.proto): readings travel in PublishRequests, each
// answered once; refused items count as rejected, a RETRY answer makes it send the request again.
import * as grpc from '@grpc/grpc-js';
import { michi, validateReading } from '@michi/proto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcPublisher, runFleet, type SimReading } from '@michi/simulators';
import { testPilot } from './pilot-fixture.js';

const T0 = Date.UTC(2026, 10, 28);
const logger = pino({ level: 'silent' });

interface Received {
  requests: number;
  readings: michi.v1.IReading[];
}

let server: grpc.Server;
let addr: string;
const received: Received = { requests: 0, readings: [] };

beforeAll(async () => {
  server = new grpc.Server();
  let retried = false;
  server.register(
    '/michi.v1.EdgeIngestService/Publish',
    (call: grpc.ServerDuplexStream<michi.v1.PublishRequest, michi.v1.PublishResponse>) => {
      call.on('data', (req: michi.v1.PublishRequest) => {
        received.requests++;
        if (!retried) {
          // The first request of the run: storage "busy", nothing stored.
          retried = true;
          call.write(
            michi.v1.PublishResponse.create({ request_id: req.request_id, status: michi.v1.AckStatus.ACK_STATUS_RETRY, detail: 'busy' }),
          );
          return;
        }
        const rejected: michi.v1.IRejection[] = [];
        req.readings.forEach((r, index) => {
          try {
            validateReading(r);
            received.readings.push(r);
          } catch (err) {
            rejected.push({ index, code: 'MICHI_ERR_INVALID_READING', reason: (err as Error).message });
          }
        });
        call.write(
          michi.v1.PublishResponse.create({
            request_id: req.request_id,
            accepted: req.readings.length - rejected.length,
            status: michi.v1.AckStatus.ACK_STATUS_ACCEPTED,
            rejected,
          }),
        );
      });
      call.on('end', () => call.end());
    },
    (res: michi.v1.PublishResponse) => Buffer.from(michi.v1.PublishResponse.encode(res).finish()),
    (buf: Buffer) => michi.v1.PublishRequest.decode(buf),
    'bidi',
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  addr = `127.0.0.1:${port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
});

describe('GrpcPublisher', () => {
  it('delivers a fleet run over EdgeIngestService, retrying what the edge asked to retry, and counts refusals', async () => {
    const publisher = await GrpcPublisher.open({
      gatewayAddrs: new Map([
        ['gw-a', addr],
        ['gw-b', addr],
      ]),
      batchMaxItems: 10,
      retryMs: 20,
      logger,
    });
    try {
      const result = await runFleet({
        pilot: testPilot(),
        publisher,
        count: 60,
        kinds: ['state', 'link'],
        speedup: Infinity,
        startTsMs: T0,
        keep: true,
      });
      expect(result).toMatchObject({ sent: 60, acked: 60, rejected: 0, failed: 0 });
      const keys = new Set(received.readings.map((r) => `${(r.state ?? r.link)!.source_id}#${(r.state ?? r.link)!.seq}`));
      expect(keys.size).toBe(60);
      for (const r of result.readings) expect(keys.has(`${r.sourceId}#${r.body.seq}`)).toBe(true);
      expect(received.requests).toBeGreaterThan(6);

      // A reading the edge refuses (latitude 300) is counted as rejected, not acknowledged.
      const bad: SimReading = {
        ...result.readings[0]!,
        body: { ...result.readings[0]!.body, ts_ms: T0 + 99_000, position: { lat: 300, lon: 139 } },
      };
      publisher.publish(bad);
      await publisher.drain(5_000);
      expect(publisher.stats()).toMatchObject({ sent: 61, acked: 60, rejected: 1, failed: 0 });
    } finally {
      await publisher.close();
    }
  });

  it('fails with MICHI_ERR_SIM_CONNECT when the gateway does not answer', async () => {
    await expect(
      GrpcPublisher.open({ gatewayAddrs: new Map([['gw-a', '127.0.0.1:1']]), connectTimeoutMs: 500, logger }),
    ).rejects.toMatchObject({
      code: 'MICHI_ERR_SIM_CONNECT',
    });
  });
});
