// The stack the k6 load scripts run against, in one process on free loopback ports: a real
// InfluxDB, the cloud (MQTT, gRPC and HTTP ingest/API) and one edge agent per gateway of a pilot
// scaled to `vehicles` (clones of its own; the receivers load the same scaled definition). Unlike
// scripts/test-support's startStack it hands out what load generators need: the gateway secrets,
// an operator token, the gRPC port, and a WebSocket relay to each edge's MQTT port, because k6
// speaks WebSocket but not MQTT over TCP (MQTT over WebSocket is standard, MQTT 3.1.1 §6).
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { WebSocketServer } from 'ws';
import { loadCloudConfig, startCloud, type CloudService } from '@michi/cloud';
import type { EdgeHandle } from '@michi/edge';
import { loadSeeds, type Pilot } from '@michi/proto';
import { scalePilot } from '@michi/simulators';
import { startInfluxDb, startPilotEdges, type InfluxHandle } from '../../scripts/test-support/index.js';

export interface LoadStackOptions {
  pilotId?: string;
  vehicles?: number;
  seedsDir?: string;
  /** More uplink settings for the edges (scripts/test-support/stack.ts). */
  edgeUplink?: Record<string, unknown>;
}

export interface LoadStack {
  readonly pilot: Pilot;
  readonly influx: InfluxHandle;
  readonly cloud: CloudService;
  readonly edges: ReadonlyMap<string, EdgeHandle>;
  /** gateway id → mqtt://127.0.0.1:port of its edge's local broker. */
  readonly gatewayUrls: Readonly<Record<string, string>>;
  /** gateway id → its edge's device key (vehicles connect with passwords derived from it). */
  readonly deviceKeys: Readonly<Record<string, string>>;
  /** ws://127.0.0.1:port/<gateway id> carries MQTT over WebSocket to that gateway's edge. */
  readonly relayUrl: string;
  /** gateway id → its secret (username = gateway id on MQTT; bearer token on gRPC). */
  readonly secrets: Readonly<Record<string, string>>;
  readonly operatorToken: string;
  /** Where the scaled pilot definition is. */
  readonly seedsDir: string;
  close(): Promise<void>;
}

const logger = pino({ level: process.env['MICHI_TEST_LOG'] ?? 'silent' }, pino.destination(2));

/** A WebSocket server relaying each connection's binary frames to and from a TCP port chosen by path. */
async function startRelay(targets: ReadonlyMap<string, number>): Promise<{ url: string; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  wss.on('connection', (ws, req) => {
    const port = targets.get((req.url ?? '/').slice(1));
    if (port === undefined) return ws.close(1008, 'unknown gateway');
    const tcp = net.connect({ host: '127.0.0.1', port, noDelay: true });
    const pending: Buffer[] = [];
    tcp.once('connect', () => {
      for (const b of pending.splice(0)) tcp.write(b);
    });
    ws.on('message', (data: Buffer) => (tcp.readyState === 'open' ? tcp.write(data) : pending.push(data)));
    tcp.on('data', (chunk) => ws.send(chunk, { binary: true }));
    tcp.on('close', () => ws.close());
    tcp.on('error', () => ws.terminate());
    ws.on('close', () => tcp.destroy());
    ws.on('error', () => tcp.destroy());
  });
  const { port } = wss.address() as net.AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}

export async function startLoadStack(opts: LoadStackOptions = {}): Promise<LoadStack> {
  const pilotId = opts.pilotId ?? 'maebashi-l4-bus';
  const seeded = loadSeeds(opts.seedsDir ?? 'seeds').find((p) => p.id === pilotId);
  if (!seeded) throw new Error(`no pilot ${pilotId} in ${opts.seedsDir ?? 'seeds'}`);
  const pilot = opts.vehicles !== undefined ? scalePilot(seeded, opts.vehicles) : seeded;
  const dir = mkdtempSync(join(tmpdir(), 'michi-load-'));
  const seedsDir = join(dir, 'seeds');
  mkdirSync(seedsDir, { recursive: true });
  writeFileSync(join(seedsDir, `${pilot.id}.json`), JSON.stringify(pilot));

  const env: Record<string, string> = {};
  const secrets: Record<string, string> = {};
  for (const gw of pilot.gateways) {
    const secret = randomBytes(18).toString('base64url');
    secrets[gw.id] = secret;
    env[gw.credentialsRef.replace(/^env:/, '')] = secret;
  }
  const operatorToken = randomBytes(24).toString('base64url');
  env['MICHI_LOAD_API_OPERATOR'] = operatorToken;

  const influx = await startInfluxDb();
  const started: { close(): Promise<void> }[] = [];
  const close = async (): Promise<void> => {
    for (const s of started.reverse()) await s.close().catch(() => undefined);
    await influx.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const cloud = await startCloud(
      loadCloudConfig(undefined, {
        ...env,
        MICHI_CLOUD_AUTH__TOKENS: JSON.stringify([
          { id: 'load-operator', role: 'operator', pilots: ['*'], tokenEnv: 'MICHI_LOAD_API_OPERATOR' },
        ]),
        MICHI_CLOUD_SEEDS_DIR: seedsDir,
        MICHI_CLOUD_DASHBOARD_DIR: 'dashboard/dist',
        // Not .data/ of the checkout: a later `make run` there would load this scaled pilot's open alarms.
        MICHI_CLOUD_ALARMS__DB_FILE: join(dir, 'alarms.sqlite'),
        MICHI_CLOUD_RECORDS__DB_FILE: join(dir, 'records.sqlite'),
        MICHI_CLOUD_MQTT__PORT: '0',
        MICHI_CLOUD_HTTP__PORT: '0',
        MICHI_CLOUD_METRICS__PORT: '0',
        MICHI_CLOUD_GRPC__ENABLED: 'true',
        MICHI_CLOUD_GRPC__PORT: '0',
        // One stream per virtual user; the default (8 per gateway) guards production gateways.
        MICHI_CLOUD_GRPC__MAX_STREAMS_PER_GATEWAY: '256',
        // Every virtual viewer shares the one token: the per-token API limits (api.limits) guard a
        // production API from one caller; here they would measure themselves instead of the API.
        MICHI_CLOUD_API__LIMITS__RATE__PER_SECOND: '100000',
        MICHI_CLOUD_API__LIMITS__RATE__BURST: '100000',
        MICHI_CLOUD_API__LIMITS__MAX_QUERIES_PER_TOKEN: '64',
        MICHI_CLOUD_API__LIMITS__MAX_QUERIES: '64',
        MICHI_CLOUD_API__LIMITS__MAX_QUEUED_PER_TOKEN: '1000',
        MICHI_CLOUD_INFLUX__URL: influx.url,
        MICHI_CLOUD_INFLUX__DATABASE: influx.database,
      }),
      { logger },
    );
    started.push(cloud);
    const { edges, gatewayUrls, deviceKeys } = await startPilotEdges({
      pilot,
      seedsDir,
      dir,
      cloudMqttPort: cloud.mqttPort,
      env,
      logger,
      started,
      ...(opts.edgeUplink ? { uplink: opts.edgeUplink } : {}),
    });
    const ports = new Map([...edges].map(([id, edge]) => [id, edge.mqttPort]));
    const relay = await startRelay(ports);
    started.push(relay);
    return { pilot, influx, cloud, edges, gatewayUrls, deviceKeys, relayUrl: relay.url, secrets, operatorToken, seedsDir, close };
  } catch (err) {
    await close();
    throw err;
  }
}
