// Test support for the durability tests: the real cloud (in this process, restartable on the same
// MQTT port) in front of a real InfluxDB, the edge agent as a child process that can really be
// SIGKILLed, and vehicles that publish at QoS 1 and remember which readings were acknowledged.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { loadCloudConfig, startCloud, type CloudService } from '@michi/cloud';
import { MEASUREMENTS, encodeReadingPayload, readingTopic, v1, type ReadingBodyProperties, type ReadingKind } from '@michi/proto';
import {
  freePorts,
  scratchDatabaseEnv,
  startInfluxDb,
  waitFor,
  type InfluxHandle,
  type TestPki,
} from '../../scripts/test-support/index.js';
import { DEVICE_KEY, DEVICE_KEY_ENV, deviceLogin, GATEWAY, PILOT, SEEDS } from './support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SECRET_ENV = 'MICHI_GW_MAEBASHI_EKIMAE_SECRET';
export const GW_SECRET = 'durability-test-secret';

/** The real cloud in front of a real InfluxDB; `stop()` and `start()` keep its ports. */
export interface Cloud {
  readonly influx: InfluxHandle;
  readonly mqttPort: number;
  /** The gRPC ingest's port (with `grpc`), TLS with `pki`. */
  readonly grpcPort: number;
  /** The MQTT TLS listener's port (with `pki`). */
  readonly mqttTlsPort: number;
  readonly running: boolean;
  /** The running cloud's /metrics. */
  readonly metricsUrl: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  close(): Promise<void>;
}

export interface RealCloudOptions {
  /** Serve the gRPC ingest too. */
  grpc?: boolean;
  /** TLS certificates: the gRPC ingest uses them, and an MQTT TLS listener is added. */
  pki?: TestPki;
  /** More MICHI_CLOUD_* settings. */
  env?: Record<string, string>;
}

export async function startRealCloud(opts: RealCloudOptions = {}): Promise<Cloud> {
  const influx = await startInfluxDb();
  const [mqttPort, grpcPort, mqttTlsPort] = await freePorts(3);
  const { pki } = opts;
  const tlsEnv: Record<string, string> = pki
    ? {
        MICHI_CLOUD_MQTT__TLS__PORT: String(mqttTlsPort),
        MICHI_CLOUD_MQTT__TLS__CERT_FILE: pki.certFile,
        MICHI_CLOUD_MQTT__TLS__KEY_FILE: pki.keyFile,
        ...(opts.grpc ? { MICHI_CLOUD_GRPC__TLS__CERT_FILE: pki.certFile, MICHI_CLOUD_GRPC__TLS__KEY_FILE: pki.keyFile } : {}),
      }
    : {};
  const logger = pino({ level: process.env['MICHI_TEST_LOG'] ?? 'silent' }, pino.destination(2));
  // The cloud's alarm and record databases: kept across its restarts, never in .data/ of the checkout
  // (a make run there found these tests' open alarms of the demo pilot's buses).
  const scratch = mkdtempSync(join(tmpdir(), 'michi-durability-cloud-'));
  let service: CloudService | undefined;
  const start = async () => {
    service = await startCloud(
      loadCloudConfig(undefined, {
        [SECRET_ENV]: GW_SECRET,
        MICHI_CLOUD_SEEDS_DIR: SEEDS,
        MICHI_CLOUD_MQTT__PORT: String(mqttPort),
        MICHI_CLOUD_HTTP__PORT: '0',
        MICHI_CLOUD_METRICS__PORT: '0',
        MICHI_CLOUD_GRPC__ENABLED: String(opts.grpc ?? false),
        MICHI_CLOUD_GRPC__PORT: String(opts.grpc ? grpcPort : 0),
        ...tlsEnv,
        ...opts.env,
        MICHI_CLOUD_AUTH__ALLOW_ANONYMOUS_VIEWER: 'true',
        MICHI_CLOUD_INFLUX__URL: influx.url,
        MICHI_CLOUD_INFLUX__DATABASE: influx.database,
        ...scratchDatabaseEnv(scratch),
      }),
      { logger },
    );
  };
  const stop = async () => {
    const s = service;
    service = undefined;
    await s?.close();
  };
  try {
    await start();
  } catch (err) {
    await influx.stop();
    rmSync(scratch, { recursive: true, force: true });
    throw err;
  }
  return {
    influx,
    mqttPort: mqttPort!,
    grpcPort: grpcPort!,
    mqttTlsPort: mqttTlsPort!,
    get running() {
      return service !== undefined;
    },
    get metricsUrl() {
      if (!service) throw new Error('the cloud is not running');
      return service.metricsUrl;
    },
    start,
    stop,
    close: async () => {
      await stop();
      await influx.stop();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

export interface AgentProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  mqttPort: number;
  metricsPort: number;
  exited: Promise<number | null>;
  /** Every JSON log line so far. */
  logs(): Record<string, unknown>[];
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

/** Writes `yaml` to dir/edge.yaml and runs `michi-edge --config` on it from the TypeScript sources. */
export async function spawnAgent(dir: string, yaml: string, env: Record<string, string> = {}): Promise<AgentProcess> {
  const config = join(dir, 'edge.yaml');
  writeFileSync(config, yaml);
  const child = spawn(process.execPath, ['--conditions=michi-src', '--import', 'tsx', 'edge/src/main.ts', '--config', config], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', [SECRET_ENV]: GW_SECRET, [DEVICE_KEY_ENV]: DEVICE_KEY, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let partial = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const l of parts) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const started = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`michi-edge exited ${child.exitCode}: ${stderr}`);
      return lines.find((l) => l['msg'] === 'edge agent started');
    },
    { what: 'michi-edge to start', timeoutMs: 30_000 },
  );
  return {
    child,
    pid: child.pid!,
    mqttPort: Number(started['mqttPort']),
    metricsPort: Number(started['metricsPort']),
    exited,
    logs: () => lines,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export function agentYaml(o: {
  mqttPort: number;
  metricsPort: number;
  bufferPath: string;
  cloudPort: number;
  /** Default: mqtt://127.0.0.1:{cloudPort}. */
  url?: string;
  /** More lines under `uplink:` and `buffer:` (indented here). */
  uplink?: string[];
  buffer?: string[];
}): string {
  return [
    `pilotId: ${PILOT}`,
    `gatewayId: ${GATEWAY}`,
    `seedsDir: ${SEEDS}`,
    'local:',
    `  deviceKeyEnv: ${DEVICE_KEY_ENV}`,
    '  mqtt:',
    `    port: ${o.mqttPort}`,
    'buffer:',
    `  path: ${o.bufferPath}`,
    ...(o.buffer ?? []).map((l) => `  ${l}`),
    'uplink:',
    `  url: ${o.url ?? `mqtt://127.0.0.1:${o.cloudPort}`}`,
    `  passwordEnv: ${SECRET_ENV}`,
    '  reconnectMinMs: 100',
    '  reconnectMaxMs: 500',
    ...(o.uplink ?? []).map((l) => `  ${l}`),
    'metrics:',
    `  port: ${o.metricsPort}`,
    'log:',
    '  level: info',
    '',
  ].join('\n');
}

export async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}

/** A reading body whose values are a function of (source, seq), so that InfluxDB can be checked against it. */
export function bodyAt(kind: ReadingKind, source: string, seq: number, tsMs: number): ReadingBodyProperties {
  const common = { source_id: source, ts_ms: tsMs, seq };
  switch (kind) {
    case 'state':
      return {
        ...common,
        position: { lat: 36.38 + seq * 1e-6, lon: 139.07 },
        speed_mps: (seq % 97) / 4,
        mode: v1.AutonomyMode.AUTONOMY_MODE_AUTONOMOUS,
      };
    case 'link':
      return { ...common, cell_id: '001-01:0x000a1b2c01', pci: seq % 1008, band: 'n79', rsrp_dbm: -60 - (seq % 50) };
    case 'sensor':
      return { ...common, sensor_kind: v1.SensorKind.SENSOR_KIND_WEATHER, measures: { rain_mm_h: seq % 10 } };
    case 'event':
      return { ...common, type: v1.EventType.EVENT_TYPE_TAKEOVER, severity: v1.Severity.SEVERITY_WARNING, detail: `takeover ${seq}` };
  }
}

export interface Sent {
  source: string;
  kind: ReadingKind;
  seq: number;
  tsMs: number;
}

/**
 * A vehicle on its own connection: publishes at QoS 1 with at most `window` unacknowledged, and
 * records which readings the gateway acknowledged. Never reconnects by itself (reconnect() does).
 */
export class Vehicle {
  readonly acked: Sent[] = [];
  readonly sent: Sent[] = [];
  private client: MqttClient | undefined;
  private inflight = 0;
  private seq = 0;
  private lastTs = 0;
  constructor(
    readonly source: string,
    private readonly window = 20,
  ) {}

  async connect(port: number): Promise<void> {
    this.client = await connectAsync(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: 4,
      ...deviceLogin(this.source),
      clientId: `${this.source}.${Date.now()}`,
      reconnectPeriod: 0,
      clean: true,
    });
    this.client.on('error', () => undefined);
    this.inflight = 0;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** Publishes the next reading unless the window is full or the connection is down; answers whether it did. */
  publishNext(kind: ReadingKind = 'state'): boolean {
    const client = this.client;
    if (!client?.connected || this.inflight >= this.window) return false;
    // Strictly increasing per source: (source, kind, timestamp) is a reading's identity.
    const tsMs = (this.lastTs = Math.max(Date.now(), this.lastTs + 1));
    const seq = ++this.seq;
    const reading: Sent = { source: this.source, kind, seq, tsMs };
    this.sent.push(reading);
    this.inflight++;
    const payload = Buffer.from(encodeReadingPayload(kind, bodyAt(kind, this.source, seq, tsMs)));
    client.publish(readingTopic(PILOT, GATEWAY, this.source, kind), payload, { qos: 1 }, (err) => {
      if (client !== this.client) return;
      this.inflight--;
      if (!err) this.acked.push(reading);
    });
    return true;
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.endAsync(true);
  }
}

/** Drives vehicles at `perSecond` readings each until stop(); `kind` picks each reading's kind. */
export function drive(vehicles: Vehicle[], perSecond: number, kind: (v: Vehicle, n: number) => ReadingKind = () => 'state') {
  const tickMs = 10;
  let n = 0;
  let owed = 0;
  const timer = setInterval(() => {
    owed += (perSecond * tickMs) / 1000;
    while (owed >= 1) {
      owed--;
      n++;
      for (const v of vehicles) v.publishNext(kind(v, n));
    }
  }, tickMs);
  return { stop: () => clearInterval(timer) };
}

/** The measurement of each kind, as the cloud stores it (the schema declared in @michi/proto). */
export const MEASUREMENT: Readonly<Record<ReadingKind, string>> = MEASUREMENTS;

/** InfluxDB's points of one source and kind, as {seq, time, recv_ms, ...fields}. */
export async function pointsOf(
  influx: InfluxHandle,
  kind: ReadingKind,
  source: string,
  fields = 'seq, recv_ms',
): Promise<Record<string, unknown>[]> {
  return influx.rows(`SELECT ${fields} FROM ${MEASUREMENT[kind]} WHERE source = '${source}'`, { epoch: 'ms' });
}
