// The whole michi path in one test process, on free loopback ports: a real InfluxDB, the cloud
// service, and one edge agent per gateway of a pilot, wired as `make run` wires them. Tests drive
// it with the simulator and read the result back from InfluxDB, the API or the dashboard.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { loadCloudConfig, startCloud, type CloudService } from '@michi/cloud';
import { parseEdgeConfig, startEdge, type EdgeHandle } from '@michi/edge';
import { loadSeeds, type Pilot } from '@michi/proto';
import { startInfluxDb, type InfluxHandle } from './influxdb.js';
import { scratchDatabaseEnv } from './scratch-databases.js';

export interface StackOptions {
  pilotId: string;
  seedsDir?: string;
  /** Serve the built dashboard from here (default dashboard/dist). */
  dashboardDir?: string;
}

/** A pilot's path on free loopback ports: InfluxDB, the cloud, and one edge agent per gateway. */
export interface PilotStack {
  readonly pilot: Pilot;
  readonly influx: InfluxHandle;
  readonly cloud: CloudService;
  readonly edges: ReadonlyMap<string, EdgeHandle>;
  /** gateway id → mqtt://127.0.0.1:port of its edge agent's local broker, for runFleet. */
  readonly gatewayUrls: Readonly<Record<string, string>>;
  /** gateway id → its edge's device key, for runFleet's deviceKeys (each vehicle then has its own password). */
  readonly deviceKeys: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

export interface TestStack extends PilotStack {
  /** API bearer tokens: an operator of every pilot, and a viewer of this pilot only. */
  readonly tokens: { readonly operator: string; readonly viewer: string };
  /** The gateways' secrets by the variable their credentialsRef names, for a sender that logs in as a gateway. */
  readonly secretEnv: Readonly<Record<string, string>>;
  /** mqtt://127.0.0.1:port of the cloud's broker. */
  readonly cloudMqttUrl: string;
  /** The cloud's audit log (auth.auditFile): one JSON line per API request, in the stack's temporary directory. */
  readonly auditFile: string;
}

const logger = pino({ level: process.env['MICHI_TEST_LOG'] ?? 'silent' }, pino.destination(2));

export interface PilotEdgesOptions {
  pilot: Pilot;
  seedsDir: string;
  /** Where the edges' buffers go (one SQLite file per gateway). */
  dir: string;
  cloudMqttPort: number;
  /** Holds each gateway's secret under the variable its credentialsRef names. */
  env: Record<string, string>;
  logger: Logger;
  /** Each edge is pushed here as soon as it runs, so the caller's clean-up stops it even if a later one fails. */
  started: { close(): Promise<void> }[];
  /** Also serve the local gRPC ingest (EdgeHandle.grpcPort). */
  grpc?: boolean;
  /** More uplink settings for every edge (a benchmark comparing, e.g., uplink.maxLiveBatchesInFlight). */
  uplink?: Record<string, unknown>;
}

/**
 * The variable that holds a gateway's device key, named after its credentialsRef as `make run`
 * names it: env:MICHI_GW_MAEBASHI_EKIMAE_SECRET → MICHI_GW_MAEBASHI_EKIMAE_DEVICE_KEY.
 */
function deviceKeyEnvOf(gateway: { credentialsRef: string }): string {
  return `${gateway.credentialsRef.replace(/^env:/, '').replace(/_SECRET$/, '')}_DEVICE_KEY`;
}

/**
 * One edge agent per gateway of the pilot, on free ports, forwarding to the cloud's MQTT port; each
 * with a new random device key, returned for the simulator.
 */
export async function startPilotEdges(
  o: PilotEdgesOptions,
): Promise<{ edges: Map<string, EdgeHandle>; gatewayUrls: Record<string, string>; deviceKeys: Record<string, string> }> {
  const edges = new Map<string, EdgeHandle>();
  const gatewayUrls: Record<string, string> = {};
  const deviceKeys: Record<string, string> = {};
  for (const gw of o.pilot.gateways) {
    const keyEnv = deviceKeyEnvOf(gw);
    deviceKeys[gw.id] = randomBytes(32).toString('base64url');
    const edge = await startEdge(
      parseEdgeConfig(
        {
          pilotId: o.pilot.id,
          gatewayId: gw.id,
          seedsDir: o.seedsDir,
          // The simulator connects every vehicle from 127.0.0.1 (10,000 in the scale benches).
          local: {
            mqtt: { port: 0, maxConnectionsPerAddress: 100_000 },
            ...(o.grpc ? { grpc: { enabled: true, port: 0 } } : {}),
            deviceKeyEnv: keyEnv,
          },
          buffer: { path: join(o.dir, `${gw.id}.sqlite`) },
          uplink: { ...o.uplink, url: `mqtt://127.0.0.1:${o.cloudMqttPort}`, passwordEnv: gw.credentialsRef.replace(/^env:/, '') },
          metrics: { port: 0 },
          log: { level: 'silent' },
        },
        { ...o.env, [keyEnv]: deviceKeys[gw.id] },
      ),
      { logger: o.logger },
    );
    o.started.push(edge);
    edges.set(gw.id, edge);
    gatewayUrls[gw.id] = `mqtt://127.0.0.1:${edge.mqttPort}`;
  }
  return { edges, gatewayUrls, deviceKeys };
}

/** What a stack is built on: a scratch directory and an InfluxDB. */
export interface StackBase {
  dir: string;
  influx: InfluxHandle;
  /** At MICHI_TEST_LOG (e.g. "debug") to stderr, silent by default. */
  logger: Logger;
  /** What the build starts, pushed as soon as it runs: close stops it, last first, before InfluxDB. */
  started: { close(): Promise<void> }[];
}

/**
 * A scratch directory and an InfluxDB, then `build` on them. The result's close stops what
 * `started` holds, then InfluxDB, and removes the directory; a build that fails is closed the
 * same way before its error is thrown.
 */
export async function buildStack<T extends object>(
  dirPrefix: string,
  build: (base: StackBase) => Promise<T>,
): Promise<T & { close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), dirPrefix));
  const started: { close(): Promise<void> }[] = [];
  let influx: InfluxHandle | undefined;
  const close = async (): Promise<void> => {
    for (const s of started.reverse()) await s.close().catch(() => undefined);
    await influx?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    influx = await startInfluxDb();
    return { ...(await build({ dir, influx, logger, started })), close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * The cloud's settings every stack shares, as variables: free ports, the stack's InfluxDB, and the
 * alarm and record databases in the scratch directory, not .data/ of the checkout, so that each
 * stack starts without alarms and leaves none behind (a later `make run` would load them).
 */
export function stackCloudEnv({ dir, influx }: StackBase): Record<string, string> {
  return {
    MICHI_CLOUD_MQTT__PORT: '0',
    MICHI_CLOUD_HTTP__PORT: '0',
    MICHI_CLOUD_METRICS__PORT: '0',
    MICHI_CLOUD_INFLUX__URL: influx.url,
    MICHI_CLOUD_INFLUX__DATABASE: influx.database,
    // Not .data/ of the working tree: each stack starts without alarms, and leaves none behind.
    ...scratchDatabaseEnv(dir),
  };
}

export async function startStack(opts: StackOptions): Promise<TestStack> {
  const seedsDir = opts.seedsDir ?? 'seeds';
  const pilot = loadSeeds(seedsDir).find((p) => p.id === opts.pilotId);
  if (!pilot) throw new Error(`no pilot ${opts.pilotId} in ${seedsDir}`);
  // Random secrets per run, handed over through the environment as in production.
  const secrets: Record<string, string> = {};
  for (const gw of pilot.gateways) secrets[gw.credentialsRef.replace(/^env:/, '')] = randomBytes(18).toString('base64url');
  const tokens = { operator: randomBytes(18).toString('base64url'), viewer: randomBytes(18).toString('base64url') };
  const apiTokens = [
    { id: 'stack-operator', role: 'operator', pilots: ['*'], tokenEnv: 'MICHI_STACK_API_OPERATOR' },
    { id: 'stack-viewer', role: 'viewer', pilots: [pilot.id], tokenEnv: 'MICHI_STACK_API_VIEWER' },
  ];

  return buildStack('michi-stack-', async (base) => {
    const { dir, influx, started } = base;
    const auditFile = join(dir, 'audit.log');
    const cloud = await startCloud(
      loadCloudConfig(undefined, {
        ...secrets,
        ...stackCloudEnv(base),
        MICHI_STACK_API_OPERATOR: tokens.operator,
        MICHI_STACK_API_VIEWER: tokens.viewer,
        MICHI_CLOUD_AUTH__TOKENS: JSON.stringify(apiTokens),
        MICHI_CLOUD_SEEDS_DIR: seedsDir,
        MICHI_CLOUD_DASHBOARD_DIR: opts.dashboardDir ?? 'dashboard/dist',
        MICHI_CLOUD_AUTH__AUDIT_FILE: auditFile,
      }),
      { logger },
    );
    started.push(cloud);
    const { edges, gatewayUrls, deviceKeys } = await startPilotEdges({
      ...base,
      pilot,
      seedsDir,
      cloudMqttPort: cloud.mqttPort,
      env: secrets,
    });
    const cloudMqttUrl = `mqtt://127.0.0.1:${cloud.mqttPort}`;
    return { pilot, influx, cloud, edges, gatewayUrls, deviceKeys, tokens, secretEnv: { ...secrets }, cloudMqttUrl, auditFile };
  });
}
