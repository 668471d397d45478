// Property tests of every decoder on the ingest path: arbitrary bytes as an MQTT batch, as a gRPC
// UploadRequest and as raw MQTT packets give a typed rejection, never a crash, and the service keeps
// serving (a valid batch is acknowledged after each run). Also the transport-free decoders alone:
// the UploadRequest field reader and the MQTT packet-size guard.
import net from 'node:net';
import fc from 'fast-check';
import type { MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { PayloadError, encodeBatch } from '@michi/proto';
import { batchBytesOf, uploadRequest } from '../src/ingest-grpc-client.js';
import { PacketSizeGuard } from '@michi/proto';
import { grpcClient, openUpload } from './ingest-grpc-support.js';
import {
  SECRETS,
  batch,
  cloudConfig,
  cloudOnInflux,
  connectGateway,
  metric,
  publishBatch,
  publishOutcome,
  topicOf,
  vehicleState,
} from './support.js';

const stack = cloudOnInflux((influxUrl) => cloudConfig(influxUrl, { grpc: { enabled: true, port: 0 } }));

/** Bytes that look like what the path expects often enough to get past the first check. */
const payloads = fc.oneof(
  fc.uint8Array({ maxLength: 512 }),
  fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v))),
  fc.tuple(fc.nat(60), fc.integer({ min: 0, max: 255 })).map(([i, b]) => {
    const good = Buffer.from(batch('gw-a', [vehicleState('bus-1', Date.now() - 5_000, 1)]));
    good[i % good.length] = b;
    return good;
  }),
  fc
    .record({ pilot_id: fc.constantFrom('test-town', ''), gateway_id: fc.constantFrom('gw-a', 'gw-b', ''), first_seq: fc.nat() })
    .map((h) => encodeBatch({ ...h, items: [{}, { state: { source_id: 'bus-1' } }] })),
);

async function stillServing(): Promise<void> {
  const c = await connectGateway(stack.cloud.mqttPort, 'gw-b');
  await publishBatch(c, topicOf('gw-b'), batch('gw-b', [vehicleState('bus-2', Date.now() - 1_000, 1)]));
  c.end(true);
}

describe('decoders on the ingest path', () => {
  it('reads the batch out of any UploadRequest bytes, or throws PayloadError(MICHI_ERR_DECODE)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          const b = batchBytesOf(bytes);
          expect(b.byteLength).toBeLessThanOrEqual(bytes.byteLength);
        } catch (err) {
          expect(err).toBeInstanceOf(PayloadError);
          expect((err as PayloadError).code).toBe('MICHI_ERR_DECODE');
        }
      }),
      { numRuns: 2_000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70_000 }), (batchBytes) => {
        expect(Buffer.from(batchBytesOf(uploadRequest(batchBytes)))).toEqual(Buffer.from(batchBytes));
      }),
      { numRuns: 200 },
    );
  });

  it('finds the length of every MQTT packet however the stream is cut, and flags exactly those over the limit', () => {
    const packet = fc
      .record({ topic: fc.constantFrom('a', 'michi/v1/p/g/batch'), size: fc.nat(3_000), qos: fc.constantFrom(0, 1) })
      .map((p) =>
        mqttPacket.generate({
          cmd: 'publish',
          topic: p.topic,
          payload: Buffer.alloc(p.size, 7),
          qos: p.qos as 0 | 1,
          messageId: p.qos ? 1 : undefined,
          dup: false,
          retain: false,
        }),
      );
    fc.assert(
      fc.property(
        fc.array(packet, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(4_000), { maxLength: 10 }),
        fc.nat(3_100),
        (packets, cuts, limit) => {
          const stream = Buffer.concat(packets);
          // The remaining length of each packet: total minus the type byte and the varint.
          const remaining = packets.map((p) => {
            let i = 1;
            while (p[i]! & 0x80) i++;
            return p.length - i - 1;
          });
          const guard = new PacketSizeGuard(limit);
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          let at = 0;
          let flagged = 0;
          for (const cut of [...points, stream.length]) {
            flagged = guard.feed(stream.subarray(at, cut));
            at = cut;
            if (flagged !== 0) break;
          }
          const firstOver = remaining.find((r) => r > limit);
          expect(flagged).toBe(firstOver ?? 0);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('the running service under arbitrary input', () => {
  it('MQTT: any payload on the batch topic is acknowledged-and-dropped, refused (connection closed) or stored; never a crash', async () => {
    let client: MqttClient | undefined;
    const outcomes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(payloads, async (payload) => {
        client ??= await connectGateway(stack.cloud.mqttPort, 'gw-a');
        const outcome = await publishOutcome(client, topicOf('gw-a'), payload);
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        if (outcome === 'closed') {
          client.end(true);
          client = undefined;
        }
        expect(['acked', 'closed']).toContain(outcome);
      }),
      { numRuns: 300 },
    );
    client?.end(true);
    expect(outcomes.get('acked')).toBeGreaterThan(0);
    expect(await metric(stack.cloud.metricsUrl, 'michi_cloud_batches_rejected_total', { reason: 'decode' })).toBeGreaterThan(0);
    await stillServing();
  });

  it('gRPC: any UploadRequest bytes get an UploadResponse (typed rejection) or a status naming a MICHI_ERR code', async () => {
    const client = grpcClient(stack.cloud.grpcPort!);
    let up = openUpload(client, { gateway: 'gw-a', secret: SECRETS['gw-a'] });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 512 }),
          payloads.map((p) => uploadRequest(p)),
        ),
        async (bytes) => {
          try {
            const ack = await up.sendRaw(bytes);
            expect(['ACK_STATUS_ACCEPTED', 'ACK_STATUS_RETRY']).toContain(ack.status);
            for (const r of ack.rejected) expect(r.code).toMatch(/^MICHI_ERR_[A-Z_]+$/);
          } catch {
            const status = await up.status;
            expect(status.michiCode).toMatch(/^MICHI_ERR_[A-Z_]+$/);
            up = openUpload(client, { gateway: 'gw-a', secret: SECRETS['gw-a'] });
          }
        },
      ),
      { numRuns: 300 },
    );
    expect((await up.send(batch('gw-a', [vehicleState('bus-1', Date.now() - 1_000, 1)]))).status).toBe('ACK_STATUS_ACCEPTED');
    up.end();
    client.close();
    await stillServing();
  });

  it('MQTT listener: arbitrary bytes instead of MQTT packets close that connection only', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 400 }), async (bytes) => {
        const socket = net.connect(stack.cloud.mqttPort, '127.0.0.1');
        socket.on('error', () => undefined);
        await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
        socket.write(bytes);
        // Either the broker closes it (malformed, unauthenticated) or it waits for more; we close after a moment.
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => resolve(), 30);
          socket.once('close', () => {
            clearTimeout(t);
            resolve();
          });
        });
        socket.destroy();
      }),
      { numRuns: 150 },
    );
    await stillServing();
  });
});
