// The gateway-local gRPC ingest over a real HTTP/2 connection: acknowledgements per request in
// request order once on disk, rejections by index, refusal of a sender without its credentials, and the health service.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v1, type michi } from '@michi/proto';
import { startEdge, type EdgeHandle } from '../src/index.js';
import { waitFor } from '../../scripts/test-support/index.js';
import { body, deviceLogin, expected, metrics, metricValue, startUpstream, testEdgeConfig, type Upstream } from './support.js';

const PUBLISH = '/michi.v1.EdgeIngestService/Publish';
type Response = michi.v1.PublishResponse;

describe('edge agent: local gRPC ingest', () => {
  let dir: string;
  let upstream: Upstream;
  let edge: EdgeHandle;
  let client: grpc.Client;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'michi-edge-grpc-'));
    upstream = await startUpstream();
    edge = await startEdge(testEdgeConfig(dir, upstream.port, { local: { grpc: { enabled: true, port: 0 } } }));
    client = new grpc.Client(`127.0.0.1:${edge.grpcPort}`, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    await edge?.close();
    await upstream?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Opens a Publish stream as `source` (with its password unless another is given), writes each
   * request (bytes or a PublishRequest), and collects the responses until the server ends.
   */
  function publish(
    requests: (michi.v1.PublishRequest.$Properties | Buffer)[],
    source?: string,
    password = source && deviceLogin(source).password,
  ): Promise<Response[]> {
    const md = new grpc.Metadata();
    if (source) md.set('x-michi-source', source);
    if (password) md.set('x-michi-password', password);
    const call = client.makeBidiStreamRequest(
      PUBLISH,
      (r: michi.v1.PublishRequest.$Properties | Buffer) => (Buffer.isBuffer(r) ? r : Buffer.from(v1.PublishRequest.encode(r).finish())),
      (b: Buffer) => v1.PublishResponse.decode(b),
      md,
    );
    const out: Response[] = [];
    return new Promise((resolve, reject) => {
      call.on('data', (r: Response) => out.push(r));
      call.on('error', reject);
      call.on('end', () => resolve(out));
      for (const r of requests) call.write(r);
      call.end();
    });
  }

  it('acknowledges each request once its readings are on disk, lists bad readings by index, and forwards the good ones', async () => {
    const good = [body('state', 'bus-01', 1), body('link', 'bus-01', 2), body('event', 'bus-01', 3)];
    const [response] = await publish(
      [
        {
          request_id: 7,
          readings: [
            { state: good[0] },
            { link: good[1] },
            { event: good[2] },
            { state: { ...body('state', 'bus-01', 4), position: { lat: 300, lon: 139 } } },
            { state: body('state', 'ghost-9', 5) },
          ],
        },
      ],
      'bus-01',
    );
    expect(response).toMatchObject({ request_id: 7, accepted: 3, status: v1.AckStatus.ACK_STATUS_ACCEPTED });
    expect(response!.rejected.map((r) => [r.index, r.code])).toEqual([
      [3, 'MICHI_ERR_INVALID_READING'],
      [4, 'MICHI_ERR_UNKNOWN_SOURCE'],
    ]);
    await waitFor(() => ['bus-01/state/1', 'bus-01/link/2', 'bus-01/event/3'].every((k) => upstream.readings().has(k)), {
      what: 'the readings upstream',
    });
    expect(upstream.readings().get('bus-01/link/2')).toEqual(expected('link', good[1]!));
    const text = await metrics(edge);
    expect(metricValue(text, 'michi_edge_rejected_total', 'reason="invalid",code="MICHI_ERR_INVALID_READING"')).toBe(1);
  });

  it("answers pipelined requests in request order, refuses another source's readings, and answers an undecodable request", async () => {
    const requests = Array.from({ length: 5 }, (_, i) => ({ request_id: 100 + i, readings: [{ state: body('state', 'bus-02', 10 + i) }] }));
    const responses = await publish(
      [...requests, { request_id: 200, readings: [{ state: body('state', 'bus-01', 20) }] }, Buffer.from([0xff, 0xff, 0x0f])],
      'bus-02',
    );
    expect(responses.map((r) => [Number(r.request_id), r.accepted])).toEqual([
      [100, 1],
      [101, 1],
      [102, 1],
      [103, 1],
      [104, 1],
      [200, 0],
      [0, 0],
    ]);
    expect(responses[5]!.rejected[0]).toMatchObject({ index: 0, code: 'MICHI_ERR_FORBIDDEN' });
    expect(responses[6]!.rejected[0]).toMatchObject({ index: 0, code: 'MICHI_ERR_DECODE' });
  });

  it("refuses a stream without the sender's own credentials", async () => {
    const refused = { code: grpc.status.UNAUTHENTICATED, details: expect.stringMatching(/^MICHI_ERR_UNAUTHENTICATED: /) as unknown };
    await expect(publish([{ request_id: 1, readings: [] }], 'bus-03')).rejects.toMatchObject(refused);
    await expect(publish([{ request_id: 1, readings: [] }])).rejects.toMatchObject(refused);
    await expect(publish([{ request_id: 1, readings: [] }], 'bus-02', deviceLogin('bus-01').password)).rejects.toMatchObject(refused);
  });

  it('serves the standard health service', async () => {
    const status = await new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest(
        '/grpc.health.v1.Health/Check',
        (service: string) => Buffer.concat([Buffer.from([0x0a, service.length]), Buffer.from(service)]),
        (b: Buffer) => b,
        'michi.v1.EdgeIngestService',
        (err, res) => (err ? reject(err) : resolve(res!)),
      ),
    );
    expect([...status]).toEqual([0x08, 0x01]); // status: SERVING
  });
});
