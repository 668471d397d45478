// The edge agent end to end over real sockets: vehicles publish to its local broker with mqtt.js,
// and an upstream aedes broker started here stands in for the cloud (it acknowledges each batch).
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ErrorWithSubackPacket, MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeReadingPayload, readingTopic, v1 } from '@michi/proto';
import { BufferStore, startEdge, type EdgeHandle } from '../src/index.js';
import { serverNoDelayCalls, waitFor } from '../../scripts/test-support/index.js';
import {
  body,
  connectDevice,
  expected,
  GATEWAY,
  metrics,
  metricValue,
  PILOT,
  publish,
  startUpstream,
  testEdgeConfig,
  type Upstream,
} from './support.js';

describe('edge agent: local ingest to the upstream', () => {
  let dir: string;
  let upstream: Upstream;
  let edge: EdgeHandle;
  const logLines: Record<string, unknown>[] = [];
  const clients: MqttClient[] = [];

  async function vehicle(username: string): Promise<MqttClient> {
    const client = await connectDevice(edge.mqttPort, username, `${username}.${clients.length}`);
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'michi-edge-'));
    upstream = await startUpstream();
    const config = testEdgeConfig(dir, upstream.port, { uplink: { reconnectMinMs: 50, reconnectMaxMs: 200 } });
    const logger = pino({ level: 'info' }, { write: (line: string) => logLines.push(JSON.parse(line) as Record<string, unknown>) });
    edge = await startEdge(config, { logger });
    await waitFor(() => edge.stats().uplink.state === 'connected', { what: 'the uplink to connect', timeoutMs: 10_000 });
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  });

  afterAll(async () => {
    await edge?.close();
    await upstream?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('forwards protobuf and JSON readings of every kind upstream as Batches with equal values', async () => {
    const bus = await vehicle('bus-01');
    const weather = await vehicle('weather-ekimae');
    const sent = new Map<string, Record<string, unknown>>([
      ['bus-01/state/1', await publish(bus, 'state', 'bus-01', 1)],
      ['bus-01/link/2', await publish(bus, 'link', 'bus-01', 2, 'json')],
      ['bus-01/event/3', await publish(bus, 'event', 'bus-01', 3)],
      ['weather-ekimae/sensor/1', await publish(weather, 'sensor', 'weather-ekimae', 1, 'json')],
    ]);

    const got = await waitFor(() => (upstream.readings().size >= 4 ? upstream.readings() : false), {
      what: '4 readings upstream',
      timeoutMs: 10_000,
    });
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(sent));
    const batch = upstream.batches[0]!;
    expect(batch.pilot_id).toBe(PILOT);
    expect(batch.gateway_id).toBe(GATEWAY);
    expect(batch.first_seq).toBeGreaterThan(0);
    expect(upstream.connections[0]).toEqual({ username: GATEWAY, clientId: `edge-${GATEWAY}` });

    await waitFor(() => edge.stats().buffer.depth === 0, { what: 'the buffer to empty' });
    const text = await metrics(edge);
    expect(metricValue(text, 'michi_edge_received_total', 'kind="state"')).toBe(1);
    expect(metricValue(text, 'michi_edge_received_total', 'kind="sensor"')).toBe(1);
    expect(metricValue(text, 'michi_edge_forwarded_total')).toBe(4);
    expect(metricValue(text, 'michi_edge_uplink_connected')).toBe(1);
    expect(metricValue(text, 'michi_edge_buffer_depth')).toBe(0);
    // Per-hop timing (issue 15): each reading's time here travels with its batch.
    const upstreamItems = upstream.batches.reduce((n, b) => n + b.items.length, 0);
    expect(upstream.batches.reduce((n, b) => n + b.held_ms.length, 0)).toBe(upstreamItems);
    expect(metricValue(text, 'michi_edge_hop_latency_seconds_count', 'hop="receive"')).toBe(4);
    expect(metricValue(text, 'michi_edge_hop_latency_seconds_count', 'hop="held"')).toBe(4);
    expect(metricValue(text, 'michi_edge_hop_latency_seconds_count', 'hop="acked"')).toBe(upstream.batches.length);
    const health = (await (await fetch(`http://127.0.0.1:${edge.metricsPort}/healthz`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'ok', pilot: PILOT, gateway: GATEWAY, uplink: { state: 'connected' } });
  });

  it('sets TCP_NODELAY on each vehicle connection (Nagle cost 15-43 ms per hop on loopback)', async () => {
    expect(await serverNoDelayCalls(async () => ((await vehicle('bus-01')).stream as net.Socket).localPort!)).toBe(1);
  });

  it('acknowledges and drops bad readings, counting each by reason, while good ones before and after still arrive', async () => {
    const bus = await vehicle('bus-01');
    const bus2 = await vehicle('bus-02');
    let drops = 0;
    for (const c of [bus, bus2]) c.on('close', () => drops++);
    const before = await metrics(edge);
    const CODES: Record<string, string> = {
      decode: 'MICHI_ERR_DECODE',
      invalid: 'MICHI_ERR_INVALID_READING',
      too_large: 'MICHI_ERR_TOO_LARGE',
      wrong_gateway: 'MICHI_ERR_FORBIDDEN',
      unknown_source: 'MICHI_ERR_UNKNOWN_SOURCE',
      username_mismatch: 'MICHI_ERR_FORBIDDEN',
      source_mismatch: 'MICHI_ERR_FORBIDDEN',
      bad_topic: 'MICHI_ERR_BAD_TOPIC',
    };
    const count = (text: string, reason: string) =>
      metricValue(text, 'michi_edge_rejected_total', `reason="${reason}",code="${CODES[reason]}"`) ?? 0;

    const first = await publish(bus, 'state', 'bus-01', 101);
    const own = readingTopic(PILOT, GATEWAY, 'bus-01', 'state');
    const bad: [string, MqttClient, string, Buffer][] = [
      ['decode', bus, own, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])],
      ['decode', bus, own, Buffer.from('{"source_id": "bus-01", "ts_ms": ')],
      [
        'invalid',
        bus,
        own,
        Buffer.from(encodeReadingPayload('state', { ...body('state', 'bus-01', 102), position: { lat: 300, lon: 139 } })),
      ],
      ['too_large', bus, own, Buffer.alloc(70 * 1024, 0x20)],
      [
        'wrong_gateway',
        bus2,
        readingTopic(PILOT, 'gw-honmachi', 'bus-03', 'state'),
        Buffer.from(encodeReadingPayload('state', body('state', 'bus-03', 1))),
      ],
      [
        'unknown_source',
        bus2,
        readingTopic(PILOT, GATEWAY, 'ghost-9', 'state'),
        Buffer.from(encodeReadingPayload('state', body('state', 'ghost-9', 1))),
      ],
      [
        'username_mismatch',
        bus,
        readingTopic(PILOT, GATEWAY, 'bus-02', 'state'),
        Buffer.from(encodeReadingPayload('state', body('state', 'bus-02', 1))),
      ],
      ['source_mismatch', bus, own, Buffer.from(encodeReadingPayload('state', body('state', 'bus-02', 103)))],
      ['bad_topic', bus2, 'michi/v1/not a pilot/x', Buffer.from('x')],
    ];
    for (const [, client, topic, payload] of bad) await client.publishAsync(topic, payload, { qos: 1 });
    const last = await publish(bus, 'link', 'bus-01', 104);
    const other = await publish(bus2, 'state', 'bus-02', 105);

    await waitFor(() => ['bus-01/state/101', 'bus-01/link/104', 'bus-02/state/105'].every((k) => upstream.readings().has(k)), {
      what: 'the good readings upstream',
    });
    const got = upstream.readings();
    expect(got.get('bus-01/state/101')).toEqual(first);
    expect(got.get('bus-01/link/104')).toEqual(last);
    expect(got.get('bus-02/state/105')).toEqual(other);
    expect([...got.keys()].filter((k) => /\/(102|103)$/.test(k) || k.startsWith('ghost-9') || k.startsWith('bus-03'))).toEqual([]);
    expect(drops).toBe(0);
    expect(bus.connected && bus2.connected).toBe(true);

    const after = await metrics(edge);
    const wanted: Record<string, number> = {};
    for (const [reason] of bad) wanted[reason] = (wanted[reason] ?? 0) + 1;
    for (const [reason, n] of Object.entries(wanted)) {
      expect({ reason, n: count(after, reason) - count(before, reason) }).toEqual({ reason, n });
    }
    const logged = logLines.find((l) => l['reason'] === 'decode');
    expect(logged).toMatchObject({ level: 40, source: 'bus-01', code: 'MICHI_ERR_DECODE', pilot: PILOT, gateway: GATEWAY });
  });

  it('lets a client subscribe only under its own topics', async () => {
    // mqtt.js rejects a SUBACK holding any 0x80; the codes are in the error's packet.
    const granted = (client: MqttClient, filters: string[]) =>
      client.subscribeAsync(filters, { qos: 1 }).then(
        (subs) => subs.map((g) => g.qos),
        (err: ErrorWithSubackPacket) => err.packet.granted,
      );
    const bus = await vehicle('bus-01');
    const filters = [
      `michi/v1/${PILOT}/${GATEWAY}/bus-01/#`,
      `michi/v1/${PILOT}/${GATEWAY}/bus-02/#`,
      'michi/v1/#',
      '$SYS/#',
      `$share/g/michi/v1/${PILOT}/${GATEWAY}/bus-01/#`,
    ];
    expect(await granted(bus, filters)).toEqual([1, 128, 128, 128, 128]);
    expect(bus.connected).toBe(true);
    const bus2 = await vehicle('bus-02');
    expect(await granted(bus2, ['michi/v1/#'])).toEqual([128]);
    const text = await metrics(edge);
    expect(metricValue(text, 'michi_edge_subscribe_refused_total', 'reason="not_own_topic"')).toBe(5);
  });

  it('acknowledges readings from disk while the upstream is down and delivers all of them once it returns', async () => {
    const port = upstream.port;
    await upstream.close();
    await waitFor(() => edge.stats().uplink.state !== 'connected', { what: 'the uplink to notice' });

    const bus = await vehicle('bus-02');
    const sent = new Map<string, Record<string, unknown>>();
    for (let seq = 1_000; seq < 1_060; seq++) {
      sent.set(`bus-02/state/${seq}`, await publish(bus, 'state', 'bus-02', seq));
      // Acknowledged by the gateway: it must be in the buffer by now.
      expect(edge.stats().buffer.depth).toBe(seq - 999);
    }
    const down = await metrics(edge);
    expect(metricValue(down, 'michi_edge_uplink_connected')).toBe(0);
    expect(metricValue(down, 'michi_edge_buffer_depth')).toBe(60);
    expect(metricValue(down, 'michi_edge_uplink_reconnects_total', 'reason="connection_lost"')).toBeGreaterThanOrEqual(1);

    upstream = await startUpstream(port);
    await waitFor(() => [...sent.keys()].every((k) => upstream.readings().has(k)), { what: 'all 60 readings upstream', timeoutMs: 15_000 });
    const got = upstream.readings();
    for (const [k, v] of sent) expect(got.get(k)).toEqual(v);
    await waitFor(() => edge.stats().buffer.depth === 0, { what: 'the buffer to empty' });
    expect(metricValue(await metrics(edge), 'michi_edge_uplink_connected')).toBe(1);
  });

  it('keeps unacknowledged batches across a lost connection and sends them again', async () => {
    const port = upstream.port;
    await upstream.close();
    upstream = await startUpstream(port, { holdAcks: true });
    await waitFor(() => edge.stats().uplink.state === 'connected', { what: 'the uplink to reconnect' });

    const bus = await vehicle('bus-01');
    // Pipelined, so that they fit in a few batches, all of them in flight at once.
    const seqs = Array.from({ length: 20 }, (_, i) => 2_000 + i);
    const bodies = await Promise.all(seqs.map((seq) => publish(bus, 'event', 'bus-01', seq)));
    const sent = new Map(seqs.map((seq, i) => [`bus-01/event/${seq}`, bodies[i]!]));
    await waitFor(() => upstream.readings().size === 20, { what: 'the batches to reach the upstream that does not acknowledge' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(edge.stats().buffer.depth).toBe(20);
    expect(edge.stats().uplink.inflightReadings).toBe(20);

    await upstream.close();
    upstream = await startUpstream(port);
    await waitFor(() => [...sent.keys()].every((k) => upstream.readings().has(k)), { what: 'the 20 readings sent again' });
    await waitFor(() => edge.stats().buffer.depth === 0, { what: 'the buffer to empty' });
    expect(metricValue(await metrics(edge), 'michi_edge_uplink_resent_total', 'reason="reconnect"')).toBeGreaterThanOrEqual(20);
  });
});

describe('edge agent: a full buffer', () => {
  it('does not acknowledge a reading it cannot store (a buffer of events only): it closes that connection and counts buffer_full', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'michi-edge-'));
    const closedPort = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const config = testEdgeConfig(dir, closedPort, {
      bufferPath: join(dir, 'unused.sqlite'),
      uplink: { reconnectMinMs: 1_000, reconnectMaxMs: 1_000 },
    });
    const size = encodeReadingPayload('event', body('event', 'bus-01', 1)).byteLength;
    // Room for three events (a Reading is its body plus a 2-byte header); events are never evicted.
    const buffer = new BufferStore({
      path: join(dir, 'small.sqlite'),
      maxBytes: 3 * (size + 2) + 1,
      commitIntervalMs: 5,
      commitMaxItems: 100,
    });
    const edge = await startEdge(config, { buffer });
    const client = await connectDevice(edge.mqttPort, 'bus-01');
    try {
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      for (let seq = 1; seq <= 3; seq++) await publish(client, 'event', 'bus-01', seq);
      let acked = false;
      client
        .publishAsync(
          readingTopic(PILOT, GATEWAY, 'bus-01', 'event'),
          Buffer.from(encodeReadingPayload('event', body('event', 'bus-01', 4))),
          { qos: 1 },
        )
        .then(
          () => (acked = true),
          () => undefined,
        );
      await closed;
      expect(acked).toBe(false);
      expect(edge.stats().buffer.depth).toBe(3);
      const text = await metrics(edge);
      expect(metricValue(text, 'michi_edge_rejected_total', 'reason="buffer_full",code="MICHI_ERR_BUFFER_FULL"')).toBe(1);
    } finally {
      await client.endAsync(true);
      await edge.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('edge agent: restart', () => {
  it('forwards what an earlier run left in the buffer, and drops a row that does not decode instead of sending it forever', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'michi-edge-'));
    const path = join(dir, 'buffer.sqlite');
    const earlier = new BufferStore({ path, maxBytes: 1 << 20, commitIntervalMs: 5, commitMaxItems: 100 });
    const left = [body('state', 'bus-01', 1), body('state', 'bus-01', 2)];
    await Promise.all(left.map((b) => earlier.append(v1.Reading.create({ state: b }))));
    await earlier.close();
    const raw = new Database(path);
    raw.prepare("INSERT INTO readings (seq, kind, priority, received_ms, payload) VALUES (1000, 'state', 1, 0, x'ffffff')").run();
    raw.close();

    const upstream = await startUpstream();
    const config = testEdgeConfig(dir, upstream.port, { bufferPath: path });
    const edge = await startEdge(config);
    try {
      await waitFor(() => upstream.readings().size === 2 && edge.stats().buffer.depth === 0, { what: 'the earlier readings upstream' });
      expect(upstream.readings().get('bus-01/state/2')).toEqual(expected('state', left[1]!));
      expect(metricValue(await metrics(edge), 'michi_edge_buffer_dropped_total', 'reason="corrupt",kind="unknown"')).toBe(1);
    } finally {
      await edge.close();
      await upstream.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
