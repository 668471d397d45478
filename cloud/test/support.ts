// Shared by the cloud's integration tests: a configuration for a private InfluxDB, the fixture
// pilots (test-town, other-town), readings and batches, gateway MQTT clients, and a cloud on a
// real InfluxDB started and stopped around one test file.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { stringify } from 'yaml';
import { batchTopic, encodeBatch, type BatchProperties, type michi } from '@michi/proto';
import { scratchDatabases, startInfluxDb, type InfluxHandle } from '../../scripts/test-support/index.js';
import { startCloud, type CloudService } from '../src/cloud-service.js';
import { loadCloudConfig, type CloudConfig } from '../src/config.js';

export const FIXTURE_SEEDS = fileURLToPath(new URL('./fixtures/seeds', import.meta.url));
export const PILOT = 'test-town';

export const SECRETS = {
  'gw-a': 'secret-of-a',
  'gw-b': 'secret-of-b',
  'gw-other': 'secret-of-other',
} as const;

/** API bearer tokens of the default test configuration (auth.tokens). */
export const API_TOKENS = {
  /** operator of every pilot */
  operator: 'operator-token-of-the-tests',
  /** viewer of test-town only */
  viewer: 'viewer-token-of-test-town',
} as const;

export const SECRET_ENV = {
  MICHI_TEST_GW_A_SECRET: SECRETS['gw-a'],
  MICHI_TEST_GW_B_SECRET: SECRETS['gw-b'],
  MICHI_TEST_GW_OTHER_SECRET: SECRETS['gw-other'],
  MICHI_TEST_API_OPERATOR: API_TOKENS.operator,
  MICHI_TEST_API_VIEWER: API_TOKENS.viewer,
};

/** auth.tokens naming the variables of SECRET_ENV. */
export const TEST_AUTH = {
  tokens: [
    { id: 'test-operator', role: 'operator', pilots: ['*'], tokenEnv: 'MICHI_TEST_API_OPERATOR' },
    { id: 'test-town-viewer', role: 'viewer', pilots: ['test-town'], tokenEnv: 'MICHI_TEST_API_VIEWER' },
  ],
};

/** Logs at MICHI_TEST_LOG (e.g. "debug") to stderr, silent by default. */
export const testLogger = pino({ level: process.env['MICHI_TEST_LOG'] ?? 'silent' }, pino.destination(2));

/** A logger at info that keeps every line the cloud writes, parsed, to check what is logged and what never is. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    }),
  );
  return { logger, lines };
}

/** Writes a YAML configuration the way an operator would, and loads it with the secrets in `env`. */
export function cloudConfig(
  influxUrl: string,
  settings: Record<string, unknown> = {},
  env: Record<string, string> = SECRET_ENV,
): CloudConfig {
  return loadCloudConfig(cloudConfigFile(influxUrl, settings), env);
}

/** The YAML configuration file of cloudConfig, its databases in a new temporary directory unless `settings` name others. */
export function cloudConfigFile(influxUrl: string, settings: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'michi-cloud-test-'));
  const file = join(dir, 'cloud.yaml');
  const db = scratchDatabases(dir);
  const { influx, alarms, records, ...rest } = settings as {
    influx?: Record<string, unknown>;
    alarms?: Record<string, unknown>;
    records?: Record<string, unknown>;
  };
  writeFileSync(
    file,
    stringify({
      seedsDir: FIXTURE_SEEDS,
      mqtt: { port: 0 },
      http: { port: 0 },
      metrics: { port: 0 },
      dashboardDir: join(dir, 'no-dashboard'),
      influx: { url: influxUrl, database: 'michi', ...influx },
      auth: TEST_AUTH,
      alarms: { ...db.alarms, ...alarms },
      records: { ...db.records, ...records },
      ...rest,
    }),
  );
  return file;
}

export function vehicleState(
  source: string,
  ts: number,
  seq: number,
  extra: Partial<michi.v1.VehicleState.$Properties> = {},
): michi.v1.Reading.$Properties {
  return {
    state: {
      source_id: source,
      ts_ms: ts,
      seq,
      position: { lat: 36.3839 + seq * 1e-5, lon: 139.0733 },
      speed_mps: 5.5,
      heading_deg: 12.25,
      mode: 2, // AUTONOMOUS
      battery_pct: 80.5,
      odometer_m: 1234.5,
      signals: { 'Vehicle.Cabin.Door.Row1.IsOpen': 0 },
      ...extra,
    },
  };
}

/** The figures of a link sample a modem may leave out (RSRQ, RTT, throughput, slice, handover) and its position. */
export type LinkFigures = Partial<michi.v1.LinkSample.$Properties>;

/** A link sample with only what a modem always reports; `measured` adds the optional figures. */
export function bareLinkSample(source: string, ts: number, seq: number, measured: LinkFigures = {}): michi.v1.Reading.$Properties {
  return {
    link: {
      source_id: source,
      ts_ms: ts,
      seq,
      cell_id: '001-01:0x0000a1',
      pci: 101,
      band: 'n79',
      rsrp_dbm: -85.5,
      sinr_db: 18,
      ...measured,
    },
  };
}

/** A link sample with every figure. */
export function linkSample(source: string, ts: number, seq: number): michi.v1.Reading.$Properties {
  return bareLinkSample(source, ts, seq, { rsrq_db: -10.5, rtt_ms: 12.5, ul_mbps: 40, dl_mbps: 300, slice: 'URLLC', handover: false });
}

export function sensorReading(source: string, ts: number, seq: number): michi.v1.Reading.$Properties {
  return {
    sensor: {
      source_id: source,
      ts_ms: ts,
      seq,
      sensor_kind: 1,
      counts: { pedestrians: 3, vehicles: 12 },
      measures: { queue_length_m: 35.5 },
    },
  };
}

export function takeover(source: string, ts: number, seq: number): michi.v1.Reading.$Properties {
  return {
    event: {
      source_id: source,
      ts_ms: ts,
      seq,
      type: 1,
      cause: 5,
      severity: 2,
      detail: 'pedestrian stepped out, "quoted", back\\slash\nnew line',
      duration_ms: 4200,
    },
  };
}

export function batch(gateway: string, items: michi.v1.Reading.$Properties[], firstSeq = 1, pilot = PILOT): Uint8Array {
  const b: BatchProperties = { pilot_id: pilot, gateway_id: gateway, first_seq: firstSeq, items, sent_ts_ms: Date.now() };
  return encodeBatch(b);
}

export interface GatewayClientOptions {
  password?: string;
  /** Reconnect automatically (ms between attempts); default off. */
  reconnectPeriod?: number;
  will?: { topic: string; payload: Buffer; qos: 0 | 1 };
  /** Default: edge-<gateway>.<random>, which the cloud accepts for that gateway. */
  clientId?: string;
}

/** Connects as a gateway; resolves on CONNACK 0, rejects with mqtt.js' error otherwise (e.g. code 4). */
export function connectGateway(port: number, gateway: string, opts: GatewayClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect({
    host: '127.0.0.1',
    port,
    protocolVersion: 4,
    // Longer than the 23 characters MQTT 3.1.1 guarantees, as edge client ids may be.
    clientId: opts.clientId ?? `edge-${gateway}.${Math.random().toString(16).slice(2, 10)}`,
    username: gateway,
    password: opts.password ?? (SECRETS as Record<string, string>)[gateway] ?? 'none',
    reconnectPeriod: opts.reconnectPeriod ?? 0,
    connectTimeout: 5_000,
    ...(opts.will ? { will: opts.will } : {}),
  });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
  });
}

/** Publishes at QoS 1; resolves when the PUBACK arrives. */
export function publishBatch(client: MqttClient, topic: string, payload: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    client.publish(topic, Buffer.from(payload), { qos: 1 }, (err) => (err ? reject(err) : resolve()));
  });
}

export function topicOf(gateway: string, pilot = PILOT): string {
  return batchTopic(pilot, gateway);
}

/** Resolves with 'closed' when the connection drops first, or 'acked' when the PUBACK arrives first. */
export function publishOutcome(client: MqttClient, topic: string, payload: Uint8Array): Promise<'acked' | 'closed'> {
  return new Promise((resolve) => {
    client.once('close', () => resolve('closed'));
    client.publish(topic, Buffer.from(payload), { qos: 1 }, (err) => {
      if (!err) resolve('acked');
    });
  });
}

/**
 * Reads one Prometheus sample from a /metrics URL (a cloud's `metricsUrl`, not its API port), e.g.
 * metric(cloud.metricsUrl, 'michi_cloud_readings_rejected_total', {reason: 'clock_skew'}).
 */
export async function metric(metricsUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const res = await fetch(metricsUrl);
  if (res.status !== 200) throw new Error(`${metricsUrl} answered ${res.status}`);
  const text = await res.text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (want.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

/** A real InfluxDB and a cloud writing to it, for the tests of one file (see cloudOnInflux). */
export interface CloudOnInflux {
  readonly influx: InfluxHandle;
  readonly cloud: CloudService;
  /** Connects as a gateway (connectGateway); the client is ended before the cloud stops. */
  gateway(id: string, opts?: GatewayClientOptions): Promise<MqttClient>;
}

/**
 * Starts an InfluxDB and a cloud configured by `config` in beforeAll and stops both (and the gateway
 * clients of `gateway()`) in afterAll. Hooks registered before this call run before the start and,
 * since vitest runs afterAll hooks in reverse, after the stop.
 */
export function cloudOnInflux(
  config: (influxUrl: string) => CloudConfig = (url) => cloudConfig(url),
  opts: { logger?: Logger } = {},
): CloudOnInflux {
  let influx: InfluxHandle | undefined;
  let cloud: CloudService | undefined;
  const clients: MqttClient[] = [];
  beforeAll(async () => {
    influx = await startInfluxDb();
    cloud = await startCloud(config(influx.url), { logger: opts.logger ?? testLogger });
  });
  afterAll(async () => {
    for (const c of clients) c.end(true);
    await cloud?.close();
    await influx?.stop();
  });
  const handle: CloudOnInflux = {
    get influx() {
      if (!influx) throw new Error('InfluxDB starts in beforeAll');
      return influx;
    },
    get cloud() {
      if (!cloud) throw new Error('the cloud starts in beforeAll');
      return cloud;
    },
    async gateway(id, gatewayOpts = {}) {
      const c = await connectGateway(handle.cloud.mqttPort, id, gatewayOpts);
      clients.push(c);
      return c;
    },
  };
  return handle;
}
