// Issue 3: the local ingest over TLS (local.tls), so that device passwords and readings do not
// cross the local 5G network in clear. A device connects with mqtts:// and the gateway's CA and
// gets its readings upstream; a plain-text client gets no session; the local gRPC service speaks
// TLS too. Real sockets, a real edge agent, test certificates made with openssl.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import mqtt, { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v1, type michi } from '@michi/proto';
import { startEdge, type EdgeHandle } from '../src/index.js';
import { makeTestPki, waitFor, type TestPki } from '../../scripts/test-support/index.js';
import { body, deviceLogin, expected, publish, startUpstream, testEdgeConfig, type Upstream } from './support.js';

describe('edge agent: local ingest over TLS', () => {
  let dir: string;
  let pki: TestPki;
  let upstream: Upstream;
  let edge: EdgeHandle;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'michi-edge-tls-'));
    pki = makeTestPki();
    upstream = await startUpstream();
    edge = await startEdge(
      testEdgeConfig(dir, upstream.port, {
        local: { grpc: { enabled: true, port: 0 }, tls: { certFile: pki.certFile, keyFile: pki.keyFile } },
      }),
      { logger: pino({ level: 'silent' }) },
    );
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await edge?.close();
    await upstream?.close();
    pki?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Connects once without retrying; resolves with why the session never came up (fails if it did). */
  function refused(url: string, opts: { ca?: Buffer }): Promise<string> {
    const client = mqtt.connect(url, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      clientId: 'bus-02',
      ...opts,
      ...deviceLogin('bus-02'),
    });
    return new Promise<string>((resolve, reject) => {
      client.once('connect', () => reject(new Error(`${url}: connected, expected a refusal`)));
      client.once('error', (err) => resolve(err.message));
      client.once('close', () => resolve('closed'));
    }).finally(() => client.end(true));
  }

  it('takes readings over mqtts:// from a device that trusts the gateway CA, and no plain-text session', async () => {
    const device = await connectAsync(`mqtts://127.0.0.1:${edge.mqttPort}`, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      ca: pki.ca,
      clientId: 'bus-01',
      ...deviceLogin('bus-01'),
    });
    clients.push(device);
    const sent = [await publish(device, 'state', 'bus-01', 1), await publish(device, 'link', 'bus-01', 2)];
    await waitFor(() => upstream.readings().size >= sent.length, { what: 'the readings upstream' });
    expect([...upstream.readings().values()]).toEqual(expect.arrayContaining(sent));

    // Plain MQTT to the TLS port: the handshake fails, no CONNACK, nothing stored.
    await expect(refused(`mqtt://127.0.0.1:${edge.mqttPort}`, {})).resolves.toMatch(/closed|ECONNRESET/);
    // A device that does not trust the gateway's certificate does not connect either.
    await expect(refused(`mqtts://127.0.0.1:${edge.mqttPort}`, {})).resolves.toMatch(/self.signed|certificate/i);
    expect(edge.stats().localClients).toBe(1);
  });

  it('serves the local gRPC ingest over TLS', async () => {
    const client = new grpc.Client(`127.0.0.1:${edge.grpcPort}`, grpc.credentials.createSsl(pki.ca));
    try {
      const md = new grpc.Metadata();
      md.set('x-michi-source', 'bus-02');
      md.set('x-michi-password', deviceLogin('bus-02').password);
      const reading = { state: body('state', 'bus-02', 7) } as michi.v1.Reading.$Properties;
      const call = client.makeBidiStreamRequest(
        '/michi.v1.EdgeIngestService/Publish',
        (r: michi.v1.PublishRequest.$Properties) => Buffer.from(v1.PublishRequest.encode(r).finish()),
        (b: Buffer) => v1.PublishResponse.decode(b),
        md,
      );
      const response = await new Promise<michi.v1.PublishResponse>((resolve, reject) => {
        call.on('data', resolve);
        call.on('error', reject);
        call.write({ request_id: 1, readings: [reading] });
        call.end();
      });
      expect(response.accepted).toBe(1);
      await waitFor(() => upstream.readings().has('bus-02/state/7'), { what: "bus-02's reading upstream" });
      expect(upstream.readings().get('bus-02/state/7')).toEqual(expected('state', body('state', 'bus-02', 7)));
    } finally {
      client.close();
    }
  });
});
