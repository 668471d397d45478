// Security of the ingest endpoints against real aedes, mqtt.js and grpc-js clients, a real InfluxDB:
// every attack is refused, counted in /metrics, logged (without the secret), and a well-behaved
// gateway publishing all along keeps getting its acknowledgements and its data lands.
import * as grpc from '@grpc/grpc-js';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestPki, startInfluxDb, waitFor, type InfluxHandle, type TestPki } from '../../scripts/test-support/index.js';
import { startCloud, type CloudService } from '../src/cloud-service.js';
import { gatewayMetadata } from '../src/ingest-grpc-client.js';
import { grpcClient, openUpload } from './ingest-grpc-support.js';
import {
  API_TOKENS,
  SECRETS,
  batch,
  capturingLogger,
  cloudConfig,
  connectGateway,
  metric,
  publishBatch,
  publishOutcome,
  topicOf,
  vehicleState,
} from './support.js';

const RATE = { perSecond: 20, burst: 40 };
const MAX_PAYLOAD = 64 * 1024;

let pki: TestPki;
let influx: InfluxHandle;
let cloud: CloudService;
const { logger, lines: logLines } = capturingLogger();
const clients: MqttClient[] = [];

function logged(msgPattern: RegExp, fields: Record<string, unknown> = {}): boolean {
  return logLines.some((l) => msgPattern.test(String(l['msg'])) && Object.entries(fields).every(([k, v]) => l[k] === v));
}

async function gateway(id: string, opts: Parameters<typeof connectGateway>[2] = {}): Promise<MqttClient> {
  const c = await connectGateway(cloud.mqttPort, id, opts);
  clients.push(c);
  return c;
}

function refusals(transport: string, reason: string): Promise<number> {
  return metric(cloud.metricsUrl, 'michi_cloud_ingest_refusals_total', { transport, reason });
}

function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => (client.connected ? client.once('close', () => resolve()) : resolve()));
}

/** gw-b publishes one batch every 50 ms over MQTT for the whole file: it must never notice the attacks. */
const bystander = {
  sent: 0,
  acked: 0,
  failures: [] as string[],
  stop: false,
  t0: Date.now() - 3_600_000,
  done: Promise.resolve(),
};

async function runBystander(): Promise<void> {
  const c = await gateway('gw-b');
  while (!bystander.stop) {
    const seq = ++bystander.sent;
    try {
      await publishBatch(c, topicOf('gw-b'), batch('gw-b', [vehicleState('bus-2', bystander.t0 + seq, seq)], seq));
      bystander.acked++;
    } catch (err) {
      bystander.failures.push((err as Error).message);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  pki = makeTestPki();
  influx = await startInfluxDb();
  cloud = await startCloud(
    cloudConfig(influx.url, {
      mqtt: {
        port: 0,
        maxPayloadBytes: MAX_PAYLOAD,
        limits: { maxConnectionsPerGateway: 3, publishRate: RATE },
        tls: { port: 0, certFile: pki.certFile, keyFile: pki.keyFile, caFile: pki.caFile, clientCertAuth: true },
      },
      grpc: { enabled: true, port: 0, maxStreamsPerGateway: 3, uploadRate: RATE },
    }),
    { logger },
  );
  bystander.done = runBystander();
});

afterAll(async () => {
  bystander.stop = true;
  await bystander.done.catch(() => undefined);
  for (const c of clients) c.end(true);
  await cloud?.close();
  await influx?.stop();
  pki?.remove();
});

describe('MQTT ingest security', () => {
  it('refuses a login without credentials or with wrong ones, counts and logs it without the password', async () => {
    await expect(connectGateway(cloud.mqttPort, 'gw-a', { password: '' })).rejects.toMatchObject({ code: 4 });
    await expect(connectGateway(cloud.mqttPort, 'gw-a', { password: 'not-the-secret' })).rejects.toMatchObject({ code: 4 });
    await expect(connectGateway(cloud.mqttPort, 'gw-unknown', { password: 'x' })).rejects.toMatchObject({ code: 4 });
    const anonymous = mqtt.connect({ host: '127.0.0.1', port: cloud.mqttPort, reconnectPeriod: 0, clientId: 'anon' });
    await new Promise<void>((resolve) => anonymous.once('error', () => resolve()));
    anonymous.end(true);
    expect(await metric(cloud.metricsUrl, 'michi_cloud_failed_logins_total', { reason: 'bad_password' })).toBeGreaterThanOrEqual(1);
    expect(await metric(cloud.metricsUrl, 'michi_cloud_failed_logins_total', { reason: 'unknown_gateway' })).toBeGreaterThanOrEqual(1);
    expect(await metric(cloud.metricsUrl, 'michi_cloud_failed_logins_total', { reason: 'missing_credentials' })).toBeGreaterThanOrEqual(1);
    expect(logged(/gateway login refused/, { username: 'gw-a', reason: 'bad_password' })).toBe(true);
    expect(JSON.stringify(logLines)).not.toContain('not-the-secret');
  });

  it('never takes an API token (viewer or operator) as a gateway credential', async () => {
    for (const token of [API_TOKENS.viewer, API_TOKENS.operator]) {
      await expect(connectGateway(cloud.mqttPort, 'gw-a', { password: token })).rejects.toMatchObject({ code: 4 });
      await expect(connectGateway(cloud.mqttPort, 'test-town-viewer', { password: token })).rejects.toMatchObject({ code: 4 });
    }
    expect(JSON.stringify(logLines)).not.toContain(API_TOKENS.viewer);
  });

  it("refuses gateway A publishing on B's topic or as B in the batch, and subscribing to anything", async () => {
    const a = await gateway('gw-a');
    expect(await publishOutcome(a, topicOf('gw-b'), batch('gw-b', [vehicleState('bus-1', Date.now(), 1)]))).toBe('closed');
    const a2 = await gateway('gw-a');
    expect(await publishOutcome(a2, topicOf('gw-a'), batch('gw-b', [vehicleState('bus-1', Date.now(), 1)]))).toBe('closed');
    const a3 = await gateway('gw-a');
    // SUBACK 0x80 for each filter; mqtt.js reports it as an error.
    await expect(
      new Promise((resolve, reject) =>
        a3.subscribe(['michi/v1/other-town/#', 'michi/v1/test-town/gw-b/#'], { qos: 1 }, (err, g) => (err ? reject(err) : resolve(g))),
      ),
    ).rejects.toThrow(/Subscribe error/);
    expect(await metric(cloud.metricsUrl, 'michi_cloud_batches_rejected_total', { reason: 'forbidden_topic' })).toBeGreaterThanOrEqual(1);
    expect(await metric(cloud.metricsUrl, 'michi_cloud_batches_rejected_total', { reason: 'gateway_mismatch' })).toBeGreaterThanOrEqual(1);
    expect(await refusals('mqtt', 'forbidden_subscribe')).toBe(2);
    expect(logged(/publish refused/, { gateway: 'gw-a', topic: topicOf('gw-b') })).toBe(true);
    expect(logged(/subscribe refused/, { gateway: 'gw-a', topic: 'michi/v1/other-town/#' })).toBe(true);
    a3.end(true);
  });

  it('closes the connection on a packet larger than the limit as soon as its header arrives', async () => {
    const a = await gateway('gw-a');
    const big = Buffer.alloc(MAX_PAYLOAD + 4_096, 1);
    expect(await publishOutcome(a, topicOf('gw-a'), big)).toBe('closed');
    expect(await refusals('mqtt', 'packet_too_large')).toBe(1);
    expect(logged(/over the limit/, { reason: 'packet_too_large', gateway: 'gw-a' })).toBe(true);
  });

  it('closes a flooding connection at its rate limit, counts and logs it', async () => {
    const a = await gateway('gw-a');
    const t0 = Date.now() - 7_200_000;
    const sends = Array.from({ length: 200 }, (_, i) =>
      publishBatch(a, topicOf('gw-a'), batch('gw-a', [vehicleState('bus-1', t0 + i, i + 1)], i + 1)).then(
        () => 'acked',
        () => 'failed',
      ),
    );
    await closed(a);
    const outcomes = await Promise.race([Promise.all(sends), new Promise<string[]>((r) => setTimeout(() => r([]), 500))]);
    expect(outcomes.filter((o) => o === 'acked').length).toBeLessThanOrEqual(RATE.burst + 5);
    expect(await refusals('mqtt', 'rate_limited')).toBe(1);
    expect(logged(/publish rate over/, { reason: 'rate_limited', gateway: 'gw-a' })).toBe(true);
  });

  it('refuses more connections of one gateway than its limit (CONNACK 3)', async () => {
    for (const c of clients.splice(1)) c.end(true); // keep the bystander
    const held = [await gateway('gw-a'), await gateway('gw-a'), await gateway('gw-a')];
    await expect(connectGateway(cloud.mqttPort, 'gw-a')).rejects.toMatchObject({ code: 3 });
    expect(await refusals('mqtt', 'max_connections_per_gateway')).toBe(1);
    for (const c of held) c.end(true);
    await waitFor(async () => (await connectGateway(cloud.mqttPort, 'gw-a').then((c) => (clients.push(c), true))) || undefined, {
      what: 'a new connection once the others closed',
      timeoutMs: 5_000,
    });
  });

  it('on TLS: takes a CA-signed client certificate as the gateway credential, and nothing less', async () => {
    const good = pki.client('gw-a');
    const tlsOpts = {
      host: '127.0.0.1',
      port: cloud.mqttTlsPort!,
      protocol: 'mqtts' as const,
      ca: pki.ca,
      servername: 'localhost',
      reconnectPeriod: 0,
    };
    const byCert = mqtt.connect({ ...tlsOpts, clientId: 'edge-gw-a.cert', key: good.key, cert: good.cert });
    await new Promise<void>((resolve, reject) => {
      byCert.once('connect', () => resolve());
      byCert.once('error', reject);
    });
    clients.push(byCert);
    await publishBatch(byCert, topicOf('gw-a'), batch('gw-a', [vehicleState('bus-1', Date.now() - 1_000, 1)]));

    const tryConnect = (opts: mqtt.IClientOptions) =>
      new Promise<number | undefined>((resolve) => {
        const c = mqtt.connect({ ...tlsOpts, ...opts });
        c.once('connect', () => {
          c.end(true);
          resolve(0);
        });
        c.once('error', (err) => {
          c.end(true);
          resolve((err as { code?: number }).code);
        });
      });
    const rogue = pki.client('gw-a', { trusted: false });
    expect(await tryConnect({ clientId: 'rogue', key: rogue.key, cert: rogue.cert })).toBe(4);
    expect(await tryConnect({ clientId: 'mismatch', key: good.key, cert: good.cert, username: 'gw-b', password: SECRETS['gw-b'] })).toBe(4);
    expect(await tryConnect({ clientId: 'no-cert' })).toBe(4);
    // A password still works on TLS.
    expect(await tryConnect({ clientId: 'edge-gw-a.pw', username: 'gw-a', password: SECRETS['gw-a'] })).toBe(0);
    expect(await metric(cloud.metricsUrl, 'michi_cloud_failed_logins_total', { reason: 'certificate_mismatch' })).toBe(1);
  });
});

describe('gRPC ingest security', () => {
  const payload = () => batch('gw-a', [vehicleState('bus-1', Date.now() - 2_000, 1)]);

  it('ends a stream without credentials, with wrong ones or with an API token: UNAUTHENTICATED, counted, logged', async () => {
    const client = grpcClient(cloud.grpcPort!);
    const attempts = [
      new grpc.Metadata(),
      gatewayMetadata('gw-a', 'not-the-secret'),
      gatewayMetadata('gw-a', API_TOKENS.viewer),
      gatewayMetadata('test-town-viewer', API_TOKENS.viewer),
      gatewayMetadata('gw-a', API_TOKENS.operator),
    ];
    for (const md of attempts) {
      const up = openUpload(client, md);
      await expect(up.send(payload())).rejects.toThrow(/call ended: 16/);
      expect(await up.status).toMatchObject({ code: grpc.status.UNAUTHENTICATED, michiCode: 'MICHI_ERR_FORBIDDEN' });
    }
    expect(await refusals('grpc', 'missing_credentials')).toBe(1);
    expect(await refusals('grpc', 'bad_password')).toBe(3);
    expect(await refusals('grpc', 'unknown_gateway')).toBe(1);
    expect(logged(/gateway login refused/, { transport: 'grpc', gateway: 'gw-a', reason: 'bad_password' })).toBe(true);
    const text = JSON.stringify(logLines);
    expect(text).not.toContain('not-the-secret');
    expect(text).not.toContain(API_TOKENS.operator);
    client.close();
  });

  it("ends A's stream with PERMISSION_DENIED when its batch names gateway B or another pilot", async () => {
    const client = grpcClient(cloud.grpcPort!);
    for (const [gw, pilot] of [
      ['gw-b', 'test-town'],
      ['gw-other', 'other-town'],
    ] as const) {
      const up = openUpload(client, { gateway: 'gw-a', secret: SECRETS['gw-a'] });
      await expect(up.send(batch(gw, [vehicleState('bus-1', Date.now(), 1)], 1, pilot))).rejects.toThrow(/call ended: 7/);
      expect(await up.status).toMatchObject({ code: grpc.status.PERMISSION_DENIED, michiCode: 'MICHI_ERR_FORBIDDEN' });
    }
    expect(await refusals('grpc', 'gateway_mismatch')).toBe(1);
    expect(await refusals('grpc', 'pilot_mismatch')).toBe(1);
    client.close();
  });

  it('answers an oversized request with a typed rejection and keeps the stream', async () => {
    const client = grpcClient(cloud.grpcPort!);
    const up = openUpload(client, { gateway: 'gw-a', secret: SECRETS['gw-a'] });
    const ack = await up.sendRaw(Buffer.concat([Buffer.from([0x0a, 0x80, 0x88, 0x04]), Buffer.alloc(MAX_PAYLOAD + 1_024, 0)]));
    expect(ack.status).toBe('ACK_STATUS_ACCEPTED');
    expect(ack.count).toBe(0);
    expect(ack.rejected[0]?.code).toBe('MICHI_ERR_TOO_LARGE');
    expect((await up.send(payload())).status).toBe('ACK_STATUS_ACCEPTED');
    up.end();
    client.close();
  });

  it('ends a flooding stream at its rate limit: RESOURCE_EXHAUSTED, counted, logged', async () => {
    const client = grpcClient(cloud.grpcPort!);
    const up = openUpload(client, { gateway: 'gw-a', secret: SECRETS['gw-a'] });
    const started = Date.now();
    const sends = Array.from({ length: 200 }, () =>
      up.send(payload()).then(
        () => 'acked',
        () => 'failed',
      ),
    );
    expect(await up.status).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, michiCode: 'MICHI_ERR_RATE_LIMITED' });
    // The bucket refills while the 200 requests go out, which takes longer on a loaded machine.
    const refilled = Math.ceil((RATE.perSecond * (Date.now() - started)) / 1000);
    expect((await Promise.all(sends)).filter((o) => o === 'acked').length).toBeLessThanOrEqual(RATE.burst + refilled + 5);
    expect(await refusals('grpc', 'rate_limited')).toBe(1);
    expect(logged(/upload rate over/, { transport: 'grpc', gateway: 'gw-a' })).toBe(true);
    client.close();
  });

  it('refuses more streams of one gateway than its limit', async () => {
    const client = grpcClient(cloud.grpcPort!);
    const held = Array.from({ length: 3 }, () => openUpload(client, { gateway: 'gw-a', secret: SECRETS['gw-a'] }));
    for (const up of held) expect((await up.send(payload())).status).toBe('ACK_STATUS_ACCEPTED');
    const extra = openUpload(client, { gateway: 'gw-a', secret: SECRETS['gw-a'] });
    expect(await extra.status).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, michiCode: 'MICHI_ERR_RATE_LIMITED' });
    expect(await refusals('grpc', 'max_connections_per_gateway')).toBe(1);
    for (const up of held) up.end();
    client.close();
  });
});

describe('the bystander', () => {
  it('kept getting PUBACKs through every attack, and all its readings are in InfluxDB', async () => {
    await waitFor(() => bystander.acked >= 20 || undefined, { what: 'the bystander to publish', timeoutMs: 10_000 });
    bystander.stop = true;
    await bystander.done;
    expect(bystander.failures).toEqual([]);
    expect(bystander.acked).toBe(bystander.sent);
    const rows = await influx.rows(`SELECT count("seq") FROM vehicle_state WHERE "source" = 'bus-2' AND time >= ${bystander.t0}ms`);
    expect(Number(rows[0]?.['count'])).toBe(bystander.sent);
  });
});
