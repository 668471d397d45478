// Issue 3: per-device credentials on the local ingest, MQTT and gRPC, over real sockets. A device
// connects with its id and HMAC-SHA256(device key, id); no password, a wrong one, another device's
// and a revoked device's are refused and counted by reason, the secrets stay out of the log, and
// the other devices' readings keep arriving upstream.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v1, type michi } from '@michi/proto';
import { startEdge, type EdgeHandle } from '../src/index.js';
import { waitFor } from '../../scripts/test-support/index.js';
import { body, DEVICE_KEY, deviceLogin, metrics, metricValue, publish, startUpstream, testEdgeConfig, type Upstream } from './support.js';

const REVOKED = 'weather-ekimae';

describe('edge agent: per-device credentials', () => {
  let dir: string;
  let upstream: Upstream;
  let edge: EdgeHandle;
  let grpcClient: grpc.Client;
  const logText: string[] = [];
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'michi-edge-auth-'));
    upstream = await startUpstream();
    const logger = pino({ level: 'info' }, { write: (line: string) => logText.push(line) });
    edge = await startEdge(testEdgeConfig(dir, upstream.port, { local: { grpc: { enabled: true, port: 0 }, revokedDevices: [REVOKED] } }), {
      logger,
    });
    grpcClient = new grpc.Client(`127.0.0.1:${edge.grpcPort}`, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    grpcClient?.close();
    await edge?.close();
    await upstream?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const connect = async (login: { username?: string; password?: string }) => {
    // The edge takes a device's own id as client id (docs/protocol.md, Client ids).
    const clientId = login.username ?? 'nobody';
    const c = await connectAsync(`mqtt://127.0.0.1:${edge.mqttPort}`, { protocolVersion: 4, reconnectPeriod: 0, clientId, ...login });
    clients.push(c);
    return c;
  };

  /** One PublishRequest on a new stream with this metadata; resolves with the response or rejects with the status. */
  function grpcPublish(metadata: Record<string, string>, readings: michi.v1.Reading.$Properties[]): Promise<michi.v1.PublishResponse> {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(metadata)) md.set(k, v);
    const call = grpcClient.makeBidiStreamRequest(
      '/michi.v1.EdgeIngestService/Publish',
      (r: michi.v1.PublishRequest.$Properties) => Buffer.from(v1.PublishRequest.encode(r).finish()),
      (b: Buffer) => v1.PublishResponse.decode(b),
      md,
    );
    return new Promise((resolve, reject) => {
      let response: michi.v1.PublishResponse | undefined;
      call.on('data', (r: michi.v1.PublishResponse) => (response = r));
      call.on('error', reject);
      call.on('end', () => (response ? resolve(response) : reject(new Error('no response'))));
      call.write({ request_id: 1, readings });
      call.end();
    });
  }
  const grpcLogin = (id: string, password = deviceLogin(id).password) => ({ 'x-michi-source': id, 'x-michi-password': password });

  it("MQTT: refuses no password, a wrong one, another device's and a revoked device, and delivers the others' readings", async () => {
    const bus1 = await connect(deviceLogin('bus-01'));
    const before = await metrics(edge);
    const sent = [await publish(bus1, 'state', 'bus-01', 1)];

    const refusals: [string, { username?: string; password?: string }, RegExp][] = [
      ['no_credentials', {}, /Bad username or password/],
      ['no_credentials', { username: 'bus-02' }, /Bad username or password/],
      ['bad_password', { username: 'bus-02', password: 'x'.repeat(43) }, /Bad username or password/],
      // A leaked password of bus-01 does not make its holder bus-02.
      ['bad_password', { username: 'bus-02', password: deviceLogin('bus-01').password }, /Bad username or password/],
      ['unknown_username', { username: 'ghost-9', password: 'anything' }, /Bad username or password/],
      // The right password of a revoked device: 0x05, not authorized.
      ['revoked', deviceLogin(REVOKED), /Not authorized/],
    ];
    for (const [, login, error] of refusals) {
      await expect(connect(login)).rejects.toThrow(error);
      sent.push(await publish(bus1, 'state', 'bus-01', sent.length + 1));
    }
    const bus2 = await connect(deviceLogin('bus-02'));
    sent.push(await publish(bus2, 'state', 'bus-02', 1));

    await waitFor(() => upstream.readings().size >= sent.length, { what: 'the good readings upstream' });
    expect([...upstream.readings().values()]).toEqual(expect.arrayContaining(sent));
    expect([...upstream.readings().keys()].filter((k) => k.startsWith(REVOKED))).toEqual([]);
    expect(bus1.connected && bus2.connected).toBe(true);

    const after = await metrics(edge);
    const refused = (text: string, reason: string) => metricValue(text, 'michi_edge_connections_refused_total', `reason="${reason}"`) ?? 0;
    const wanted: Record<string, number> = { no_credentials: 0, bad_password: 0, unknown_username: 0, revoked: 0 };
    for (const [reason] of refusals) wanted[reason]!++;
    for (const [reason, n] of Object.entries(wanted))
      expect({ reason, n: refused(after, reason) - refused(before, reason) }).toEqual({ reason, n });
  });

  it("gRPC: refuses a stream without the sender's own credentials, UNAUTHENTICATED (revoked: PERMISSION_DENIED), and serves the others", async () => {
    const before = await metrics(edge);
    const reading = (source: string, seq: number) => [{ state: body('state', source, seq) }];
    const refusals: [string, Record<string, string>, grpc.status][] = [
      ['no_credentials', {}, grpc.status.UNAUTHENTICATED],
      ['no_credentials', { 'x-michi-source': 'bus-02' }, grpc.status.UNAUTHENTICATED],
      ['bad_password', grpcLogin('bus-02', 'guess'), grpc.status.UNAUTHENTICATED],
      ['bad_password', grpcLogin('bus-02', deviceLogin('bus-01').password), grpc.status.UNAUTHENTICATED],
      ['unknown_username', grpcLogin('ghost-9', 'anything'), grpc.status.UNAUTHENTICATED],
      ['revoked', grpcLogin(REVOKED), grpc.status.PERMISSION_DENIED],
    ];
    for (const [, metadata, code] of refusals) {
      await expect(grpcPublish(metadata, reading('bus-02', 50))).rejects.toMatchObject({ code });
      expect(await grpcPublish(grpcLogin('bus-01'), reading('bus-01', 50 + code))).toMatchObject({ accepted: 1 });
    }
    expect(await grpcPublish(grpcLogin('bus-02'), reading('bus-02', 60))).toMatchObject({ accepted: 1 });
    await waitFor(() => upstream.readings().has('bus-02/state/60'), { what: "bus-02's reading upstream" });
    expect(upstream.readings().has('bus-02/state/50')).toBe(false);

    const after = await metrics(edge);
    const refused = (text: string, reason: string) => metricValue(text, 'michi_edge_connections_refused_total', `reason="${reason}"`) ?? 0;
    expect(refused(after, 'no_credentials') - refused(before, 'no_credentials')).toBe(2);
    expect(refused(after, 'bad_password') - refused(before, 'bad_password')).toBe(2);
    expect(refused(after, 'unknown_username') - refused(before, 'unknown_username')).toBe(1);
    expect(refused(after, 'revoked') - refused(before, 'revoked')).toBe(1);
  });

  it('logs refusals with their reason and code, never a password or the device key', async () => {
    const log = logText.join('');
    expect(log).toContain('"reason":"bad_password"');
    expect(log).toContain('"code":"MICHI_ERR_UNAUTHENTICATED"');
    expect(log).toContain('"reason":"revoked","transport":"grpc"');
    for (const secret of [DEVICE_KEY, ...['bus-01', 'bus-02', REVOKED].map((id) => deviceLogin(id).password), 'guess']) {
      expect(log).not.toContain(secret);
    }
  });
});
