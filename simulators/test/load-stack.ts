// The stack the k6 load scripts run against, in one process on free loopback ports: a real
// InfluxDB, the cloud (MQTT, gRPC and HTTP ingest/API) and one edge agent per gateway of a pilot
// scaled to `vehicles` (clones of its own; the receivers load the same scaled definition). Unlike
// scripts/test-support's startStack it hands out what load generators need: the gateway secrets,
// an operator token, the gRPC port, and a WebSocket relay to each edge's MQTT port, because k6
// speaks WebSocket but not MQTT over TCP (MQTT over WebSocket is standard, MQTT 3.1.1 §6).
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { loadCloudConfig, startCloud } from '@michi/cloud';
import { loadSeeds } from '@michi/proto';
import { scalePilot } from '@michi/simulators';
import { buildStack, stackCloudEnv, startPilotEdges, type PilotStack } from '../../scripts/test-support/index.js';

export interface LoadStackOptions {
  pilotId?: string;
  vehicles?: number;
  seedsDir?: string;
  /** More uplink settings for the edges (scripts/test-support/stack.ts). */
  edgeUplink?: Record<string, unknown>;
}

export interface LoadStack extends PilotStack {
  /** ws://127.0.0.1:port/<gateway id> carries MQTT over WebSocket to that gateway's edge. */
  readonly relayUrl: string;
  /** gateway id → its secret (username = gateway id on MQTT; bearer token on gRPC). */
  readonly secrets: Readonly<Record<string, string>>;
  readonly operatorToken: string;
  /** Where the scaled pilot definition is. */
  readonly seedsDir: string;
}

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

  const env: Record<string, string> = {};
  const secrets: Record<string, string> = {};
  for (const gw of pilot.gateways) {
    const secret = randomBytes(18).toString('base64url');
    secrets[gw.id] = secret;
    env[gw.credentialsRef.replace(/^env:/, '')] = secret;
  }
  const operatorToken = randomBytes(24).toString('base64url');
  env['MICHI_LOAD_API_OPERATOR'] = operatorToken;

  return buildStack('michi-load-', async (base) => {
    const { dir, influx, logger, started } = base;
    const seedsDir = join(dir, 'seeds');
    mkdirSync(seedsDir, { recursive: true });
    writeFileSync(join(seedsDir, `${pilot.id}.json`), JSON.stringify(pilot));
    const cloud = await startCloud(
      loadCloudConfig(undefined, {
        ...env,
        ...stackCloudEnv(base),
        MICHI_CLOUD_AUTH__TOKENS: JSON.stringify([
          { id: 'load-operator', role: 'operator', pilots: ['*'], tokenEnv: 'MICHI_LOAD_API_OPERATOR' },
        ]),
        MICHI_CLOUD_SEEDS_DIR: seedsDir,
        MICHI_CLOUD_DASHBOARD_DIR: 'dashboard/dist',
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
      }),
      { logger },
    );
    started.push(cloud);
    const { edges, gatewayUrls, deviceKeys } = await startPilotEdges({
      ...base,
      pilot,
      seedsDir,
      cloudMqttPort: cloud.mqttPort,
      env,
      ...(opts.edgeUplink ? { uplink: opts.edgeUplink } : {}),
    });
    const ports = new Map([...edges].map(([id, edge]) => [id, edge.mqttPort]));
    const relay = await startRelay(ports);
    started.push(relay);
    return { pilot, influx, cloud, edges, gatewayUrls, deviceKeys, relayUrl: relay.url, secrets, operatorToken, seedsDir };
  });
}
