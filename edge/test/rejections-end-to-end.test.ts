// Issue 3, "done when": malformed, oversized and unauthorized publishes are rejected and counted,
// and everything else is delivered — checked against the real cloud and InfluxDB.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeReadingPayload, readingTopic } from '@michi/proto';
import { startEdge, type EdgeHandle } from '../src/index.js';
import { goToolPath, waitFor } from '../../scripts/test-support/index.js';
import { DEVICE_KEY, DEVICE_KEY_ENV, deviceLogin, GATEWAY, metrics, metricValue, PILOT, testEdgeConfig } from './support.js';
import { bodyAt, GW_SECRET, pointsOf, SECRET_ENV, startRealCloud, type Cloud } from './durability-support.js';

describe('edge agent: bad publishes end to end', () => {
  let dir: string;
  let cloud: Cloud;
  let edge: EdgeHandle;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'michi-edge-bad-'));
    cloud = await startRealCloud();
    edge = await startEdge(
      testEdgeConfig(
        dir,
        cloud.mqttPort,
        { local: { mqtt: { port: 0, maxPayloadBytes: 4096 } }, uplink: { passwordEnv: SECRET_ENV } },
        { [SECRET_ENV]: GW_SECRET, [DEVICE_KEY_ENV]: DEVICE_KEY },
      ),
    );
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await edge?.close();
    await cloud?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stores exactly the good readings and counts every bad one by reason', async () => {
    const connect = async (login: { username?: string; password?: string }) => {
      // The edge takes a device's own id as client id (docs/protocol.md, Client ids).
      const clientId = login.username ?? 'nobody';
      const c = await connectAsync(`mqtt://127.0.0.1:${edge.mqttPort}`, { protocolVersion: 4, reconnectPeriod: 0, clientId, ...login });
      clients.push(c);
      return c;
    };
    const bus1 = await connect(deviceLogin('bus-01'));
    const bus2 = await connect(deviceLogin('bus-02'));
    // Per-device credentials: none, a made-up device, a wrong password, another device's password.
    for (const login of [{}, { username: 'bus-02' }, { username: 'intruder', password: 'x' }, { username: 'bus-02', password: 'guess' }]) {
      await expect(connect(login)).rejects.toThrow(/Bad username or password/);
    }
    await expect(connect({ username: 'bus-02', password: deviceLogin('bus-01').password })).rejects.toThrow(/Bad username or password/);

    const t0 = Date.now() - 10_000;
    const state = (source: string, seq: number) => Buffer.from(encodeReadingPayload('state', bodyAt('state', source, seq, t0 + seq)));
    const own = readingTopic(PILOT, GATEWAY, 'bus-01', 'state');
    const bad: [string, MqttClient, string, Buffer][] = [
      ['decode', bus1, own, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f])],
      ['invalid', bus1, own, Buffer.from(encodeReadingPayload('state', { ...bodyAt('state', 'bus-01', 2, t0 + 2), speed_mps: 900 }))],
      ['too_large', bus1, own, Buffer.alloc(8_000, 0x20)],
      ['username_mismatch', bus1, readingTopic(PILOT, GATEWAY, 'bus-02', 'state'), state('bus-02', 3)],
      ['source_mismatch', bus1, own, state('bus-02', 4)],
      ['unknown_source', bus2, readingTopic(PILOT, GATEWAY, 'ghost-1', 'state'), state('ghost-1', 5)],
      ['wrong_gateway', bus2, readingTopic(PILOT, 'gw-honmachi', 'bus-03', 'state'), state('bus-03', 6)],
      ['bad_topic', bus2, 'michi/v1/x', Buffer.from('x')],
    ];
    const before = await metrics(edge);
    for (let seq = 10; seq < 20; seq++) {
      await bus1.publishAsync(own, state('bus-01', seq), { qos: 1 });
      const [, client, topic, payload] = bad[seq % bad.length]!;
      await client.publishAsync(topic, payload, { qos: 1 });
      await bus2.publishAsync(readingTopic(PILOT, GATEWAY, 'bus-02', 'state'), state('bus-02', seq), { qos: 1 });
    }
    for (const [, client, topic, payload] of bad) await client.publishAsync(topic, payload, { qos: 1 });
    await waitFor(() => edge.stats().buffer.depth === 0 && edge.stats().buffer.pending === 0, { what: 'the buffer to drain' });

    for (const source of ['bus-01', 'bus-02']) {
      const seqs = (await pointsOf(cloud.influx, 'state', source)).map((p) => Number(p['seq'])).sort((a, b) => a - b);
      expect({ source, seqs }).toEqual({ source, seqs: Array.from({ length: 10 }, (_, i) => 10 + i) });
    }
    expect(await pointsOf(cloud.influx, 'state', 'ghost-1')).toEqual([]);
    expect(await pointsOf(cloud.influx, 'state', 'bus-03')).toEqual([]);

    const after = await metrics(edge);
    const counts: Record<string, number> = {};
    for (let seq = 10; seq < 20; seq++) counts[bad[seq % bad.length]![0]] = (counts[bad[seq % bad.length]![0]] ?? 0) + 1;
    for (const [reason] of bad) counts[reason] = (counts[reason] ?? 0) + 1;
    const metric = (text: string, reason: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`michi_edge_rejected_total{reason="${reason}",`));
      return Number(line?.split(' ').at(-1) ?? 0);
    };
    for (const [reason, n] of Object.entries(counts))
      expect({ reason, n: metric(after, reason) - metric(before, reason) }).toEqual({ reason, n });
    expect(metricValue(after, 'michi_edge_connections_refused_total', 'reason="no_credentials"')).toBe(2);
    expect(metricValue(after, 'michi_edge_connections_refused_total', 'reason="unknown_username"')).toBe(1);
    expect(metricValue(after, 'michi_edge_connections_refused_total', 'reason="bad_password"')).toBe(2);
    expect(bus1.connected && bus2.connected).toBe(true);
  });

  // After the test above, both expositions hold every kind of series: counters with reasons, the
  // hop histograms with observations (the edge's is michi's own, hop-histogram.ts), gauges.
  it("serves /metrics that Prometheus's promtool accepts, the edge agent's and the cloud's", { timeout: 900_000 }, async () => {
    // Built once through the Go module proxy when missing (about 3 minutes), then cached.
    const promtool = goToolPath('promtool');
    const edgeText = await metrics(edge);
    expect(metricValue(edgeText, 'michi_edge_hop_latency_seconds_count', 'hop="receive"')).toBeGreaterThan(0);
    const cloudRes = await fetch(cloud.metricsUrl);
    expect(cloudRes.status).toBe(200);
    for (const [who, text] of [
      ['edge', edgeText],
      ['cloud', await cloudRes.text()],
    ] as const) {
      const r = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      // Exit 1: the text does not parse. Exit 3: lint problems, one line each, named by metric.
      // prom-client's default process and Node.js metrics (prefixed michi_cloud_ in the cloud) have
      // some (nodejs_active_handles_total is a gauge); michi's own must have none.
      const problems = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== '' && !/^(michi_cloud_)?(nodejs|process)_/.test(l));
      expect({ who, parsed: r.status === 0 || r.status === 3, problems }).toEqual({ who, parsed: true, problems: [] });
    }
  });
});
