// Test support for the edge agent's integration tests: the cloud's stand-in (an aedes broker that
// authenticates the gateway, decodes and records each batch, and acknowledges it), reading
// fixtures, and /metrics scraping.
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Aedes } from 'aedes';
import { connectAsync, type MqttClient } from 'mqtt';
import {
  bodyToJson,
  decodeBatch,
  devicePassword,
  encodeReadingPayload,
  readingToJson,
  readingTopic,
  v1,
  type Batch,
  type ReadingBodyProperties,
  type ReadingKind,
} from '@michi/proto';
import { parseEdgeConfig, type EdgeConfig, type EdgeHandle } from '../src/index.js';

export const SEEDS = fileURLToPath(new URL('../../seeds', import.meta.url));
export const PILOT = 'maebashi-l4-bus';
export const GATEWAY = 'gw-ekimae'; // bus-01, bus-02 and weather-ekimae publish through it
export const SECRET = 'test-secret-not-for-production';
/** The gateway's device key (local.deviceKeyEnv) in every edge test; devices derive their passwords from it. */
export const DEVICE_KEY_ENV = 'TEST_DEVICE_KEY';
export const DEVICE_KEY = 'test-device-key-not-for-production-0123456789';
/** What parseEdgeConfig needs beside the file: the uplink secret as TEST_GW_SECRET and the device key. */
export const EDGE_ENV: Readonly<Record<string, string>> = { TEST_GW_SECRET: SECRET, [DEVICE_KEY_ENV]: DEVICE_KEY };

/** MQTT CONNECT credentials of a device of the test gateway (the password from DEVICE_KEY). */
export function deviceLogin(id: string): { username: string; password: string } {
  return { username: id, password: devicePassword(DEVICE_KEY, id) };
}

/** Device `id` of the test gateway on the edge's local broker (MQTT 3.1.1), by default with its own id as client id. */
export function connectDevice(port: number, id: string, clientId = id): Promise<MqttClient> {
  return connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, reconnectPeriod: 0, clientId, ...deviceLogin(id) });
}
const T0 = Date.now() - 60_000;

export interface Upstream {
  port: number;
  batches: Batch[];
  /** Every reading received, as proto3 JSON, keyed "source/kind/seq". */
  readings(): Map<string, Record<string, unknown>>;
  connections: { username: string | undefined; clientId: string }[];
  close(): Promise<void>;
}

/** The cloud's stand-in: authenticates the gateway, decodes each batch, records it and acknowledges it. */
export async function startUpstream(port = 0, opts: { holdAcks?: boolean } = {}): Promise<Upstream> {
  const batches: Batch[] = [];
  const connections: Upstream['connections'] = [];
  const broker = await Aedes.createBroker({
    authenticate(client, username, password, done) {
      const ok = username === GATEWAY && password?.toString() === SECRET;
      if (ok) connections.push({ username, clientId: client.id });
      done(ok ? null : Object.assign(new Error('bad credentials'), { returnCode: 4 as const }), ok);
    },
    authorizePublish(_client, packet, callback) {
      const { batch, rejected } = decodeBatch(packet.payload as Buffer);
      if (rejected.length > 0) return callback(new Error(`bad items: ${JSON.stringify(rejected)}`));
      batches.push(batch);
      // Holding the callback holds the PUBACK: the batch stays unacknowledged, as while InfluxDB is down.
      if (!opts.holdAcks) callback(null);
    },
  });
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    batches,
    connections,
    readings() {
      const out = new Map<string, Record<string, unknown>>();
      for (const b of batches) {
        for (const item of b.items) {
          const json = readingToJson(item);
          const [kind, body] = Object.entries(json)[0] as [string, Record<string, unknown>];
          out.set(`${String(body['source_id'])}/${kind}/${String(body['seq'] ?? 0)}`, json);
        }
      }
      return out;
    },
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function body(kind: ReadingKind, source: string, seq: number): ReadingBodyProperties {
  const common = { source_id: source, ts_ms: T0 + seq * 100, seq };
  switch (kind) {
    case 'state':
      return {
        ...common,
        position: { lat: 36.383 + seq * 1e-5, lon: 139.073 },
        speed_mps: 5.5,
        heading_deg: 90,
        mode: v1.AutonomyMode.AUTONOMY_MODE_AUTONOMOUS,
        signals: { 'Vehicle.Cabin.Door.Row1.IsOpen': 0 },
      };
    case 'link':
      return { ...common, cell_id: '001-01:0x000a1b2c01', pci: 101, band: 'n79', rsrp_dbm: -88.5, sinr_db: 17, rtt_ms: 12, slice: 'URLLC' };
    case 'sensor':
      return { ...common, sensor_kind: v1.SensorKind.SENSOR_KIND_WEATHER, measures: { rain_mm_h: 0.5, temperature_c: 12.25 } };
    case 'event':
      return {
        ...common,
        type: v1.EventType.EVENT_TYPE_TAKEOVER,
        cause: v1.EventCause.EVENT_CAUSE_PARKED_VEHICLE,
        severity: v1.Severity.SEVERITY_WARNING,
        detail: '路上駐車を回避',
      };
  }
}

/** What the upstream should hold for a published body: the same values, as proto3 JSON. */
export function expected(kind: ReadingKind, b: ReadingBodyProperties): Record<string, unknown> {
  return { [kind]: bodyToJson(kind, b) };
}

/** Publishes at QoS 1 and resolves on the PUBACK; returns what the upstream should receive. */
export async function publish(
  client: MqttClient,
  kind: ReadingKind,
  source: string,
  seq: number,
  format: 'protobuf' | 'json' = 'protobuf',
) {
  const b = body(kind, source, seq);
  await client.publishAsync(readingTopic(PILOT, GATEWAY, source, kind), Buffer.from(encodeReadingPayload(kind, b, format)), { qos: 1 });
  return expected(kind, b);
}

export async function metrics(edge: EdgeHandle): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${edge.metricsPort}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}

export function metricValue(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

/** What a test sets beyond testEdgeConfig's defaults; each object is merged over its section. */
export interface TestEdgeSettings {
  local?: Record<string, unknown>;
  uplink?: Record<string, unknown>;
  processing?: Record<string, unknown>;
  /** Default: buffer.sqlite in the test's directory. */
  bufferPath?: string;
}

/**
 * An in-process agent of GATEWAY for a test: local listeners and metrics on free ports, its buffer
 * in `dir`, forwarding to the broker on `upstreamPort` (the stand-in upstream by default; a real
 * cloud passes its secret's variable in `uplink.passwordEnv` and `env`).
 */
export function testEdgeConfig(
  dir: string,
  upstreamPort: number,
  settings: TestEdgeSettings = {},
  env: Readonly<Record<string, string>> = EDGE_ENV,
): EdgeConfig {
  return parseEdgeConfig(
    {
      pilotId: PILOT,
      gatewayId: GATEWAY,
      seedsDir: SEEDS,
      local: { mqtt: { port: 0 }, deviceKeyEnv: DEVICE_KEY_ENV, ...settings.local },
      buffer: { path: settings.bufferPath ?? join(dir, 'buffer.sqlite') },
      uplink: { url: `mqtt://127.0.0.1:${upstreamPort}`, passwordEnv: 'TEST_GW_SECRET', ...settings.uplink },
      ...(settings.processing ? { processing: settings.processing } : {}),
      metrics: { port: 0 },
      log: { level: 'silent' },
    },
    env,
  );
}
