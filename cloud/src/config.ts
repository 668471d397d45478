/**
 * The cloud service's configuration: one closed schema with its defaults, loaded once at start-up
 * from a YAML file and MICHI_CLOUD_* environment variables, then frozen. Gateway secrets are not
 * part of it: the seeds name them (`credentialsRef`), and `resolveSecret` looks them up in the
 * environment given to the loader, so that no secret is ever printed with the configuration.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, loadConfig } from '@michi/proto';
import { AlarmWebhooksSchema } from './alarms/webhook-config.js';
import { AuthSchema } from './auth-config.js';
import type { InfluxEndpoint } from './influx-http.js';
import { RecordsConfigSchema } from './records/records-config.js';
import { NatsWorkerSchema } from './worker-nats-settings.js';

export const CLOUD_ENV_PREFIX = 'MICHI_CLOUD_';
/** Names the configuration file (main.ts); shares the prefix but is not a setting. */
export const CLOUD_CONFIG_ENV = 'MICHI_CLOUD_CONFIG';

const port = z.int().min(0).max(65_535);
const host = z.string().min(1);

/** A certificate and key (PEM files); `caFile` holds the CAs that client certificates must chain to. */
const TlsFilesSchema = z.strictObject({
  certFile: z.string().min(1),
  keyFile: z.string().min(1),
  caFile: z.string().min(1).optional(),
});

/** Per-connection token bucket: `perSecond` sustained, `burst` at once. Over it, the connection is closed. */
const RateLimitSchema = z.strictObject({
  perSecond: z.number().positive().max(1_000_000).default(1_000),
  burst: z.int().min(1).max(10_000_000).default(2_000),
});

const MqttTlsSchema = TlsFilesSchema.extend({
  host: host.default('127.0.0.1'),
  port: port.default(8883),
  /** Accept a client certificate (signed by caFile) whose subject CN is a gateway id instead of a password. */
  clientCertAuth: z.boolean().default(false),
}).refine((t) => !t.clientCertAuth || t.caFile !== undefined, {
  message: 'mqtt.tls.clientCertAuth needs mqtt.tls.caFile: the CA that signs gateway certificates',
  path: ['caFile'],
});

/** Ingest limits (docs/security.md). */
const MqttLimitsSchema = z
  .strictObject({
    /** Open sockets in all, logged in or not; a pilot has tens of gateways, each with a few. */
    maxConnections: z.int().min(1).max(1_000_000).default(1_000),
    /** Open sockets per remote IP address, logged in or not (gateways behind one NAT share one). */
    maxConnectionsPerAddress: z.int().min(1).max(1_000_000).default(32),
    maxConnectionsPerGateway: z.int().min(1).max(1_000).default(8),
    publishRate: RateLimitSchema.default(RateLimitSchema.parse({})),
  })
  .refine((l) => l.maxConnectionsPerAddress <= l.maxConnections, {
    message: 'mqtt.limits.maxConnectionsPerAddress must not exceed mqtt.limits.maxConnections',
    path: ['maxConnectionsPerAddress'],
  });

const GrpcSchema = z.strictObject({
  /**
   * Off by default so that processes and tests starting a cloud with default settings do not
   * compete for port 50051; `make run` turns it on.
   */
  enabled: z.boolean().default(false),
  host: host.default('127.0.0.1'),
  port: port.default(50051),
  /** Without it the endpoint is plaintext (h2c), for loopback use only. */
  tls: TlsFilesSchema.optional(),
  /** UploadRequests of one stream being written at once; the stream is paused beyond this. */
  maxInflightPerStream: z.int().min(1).max(10_000).default(32),
  maxStreams: z.int().min(1).max(1_000_000).default(10_000),
  maxStreamsPerGateway: z.int().min(1).max(1_000).default(8),
  uploadRate: RateLimitSchema.default(RateLimitSchema.parse({})),
});

const MqttSchema = z.strictObject({
  host: host.default('127.0.0.1'),
  port: port.default(1883),
  /** A gateway's batch larger than this is refused (decodeBatch's own ceiling is 4 MiB too). */
  maxPayloadBytes: z
    .int()
    .min(1_024)
    .max(64 * 1024 * 1024)
    .default(4 * 1024 * 1024),
  /** TLS listener (port 8883) besides the plain one; absent: no TLS listener. */
  tls: MqttTlsSchema.optional(),
  limits: MqttLimitsSchema.default(MqttLimitsSchema.parse({})),
});

/** External-broker mode: `michi-ingest-worker` (cloud/src/worker.ts, docs/scaling.md). */
const WorkerSchema = z.strictObject({
  /** mqtt: shared subscription on an MQTT 5 broker (worker.ts); nats: durable JetStream consumer (worker-nats.ts). */
  mode: z.enum(['mqtt', 'nats']).default('mqtt'),
  nats: NatsWorkerSchema.default(NatsWorkerSchema.parse({})),
  brokerUrl: z
    .string()
    .regex(/^mqtts?:\/\/[^/]+$/, 'expected mqtt://host:port or mqtts://host:port')
    .default('mqtt://127.0.0.1:1883'),
  /** Stable across restarts: the broker keeps this worker's queued share under `{clientId}-{i}`. */
  clientId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,60}$/, 'expected 1-60 characters of A-Z a-z 0-9 _ -')
    .default('michi-ingest-1'),
  connections: z.int().min(1).max(64).default(4),
  group: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected 1-64 characters of A-Z a-z 0-9 _ -')
    .default('michi-ingest'),
  sessionExpirySeconds: z.int().min(60).max(4_294_967_295).default(86_400),
  username: z.string().min(1).default('michi-ingest'),
  /** The environment variable holding the worker's broker password, never the password. */
  passwordEnv: z
    .string()
    .regex(/^[A-Z][A-Z0-9_]{0,127}$/, 'expected the name of an environment variable, e.g. MICHI_WORKER_PASSWORD')
    .optional(),
  caFile: z.string().min(1).optional(),
  /** /metrics and /health of the worker. */
  metrics: z.strictObject({ host: host.default('127.0.0.1'), port: port.default(9465) }).default({ host: '127.0.0.1', port: 9465 }),
});

/**
 * The cloud in front of scale-out workers (fleet-watch.ts, docs/scaling.md): it reads every batch
 * from the workers' broker, with the `worker` section's broker and credentials, for its live feed,
 * alarms and record; the workers store.
 */
const WatchSchema = z.strictObject({
  enabled: z.boolean().default(false),
  /** Stable across restarts: MQTT, its persistent session's client id (`{clientId}-0`); NATS, its durable consumer's name. */
  clientId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,60}$/, 'expected 1-60 characters of A-Z a-z 0-9 _ -')
    .default('michi-watch'),
});

/** An origin as a Content-Security-Policy source: scheme, host and optional port, nothing else. */
const origin = z.string().regex(/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/, 'expected an origin such as https://tiles.example.jp (no path)');

const HttpSchema = z.strictObject({
  host: host.default('127.0.0.1'),
  port: port.default(8080),
  /** Hosts of a base map (dashboard config.json `tiles`) that the Content-Security-Policy lets the dashboard load from. */
  tileOrigins: z.array(origin).max(32).default([]),
});

/** The cloud's /metrics listener, apart from the API: the metrics need no token, so loopback by default. */
const MetricsSchema = z.strictObject({
  host: host.default('127.0.0.1'),
  /** 0: any free port (tests). */
  port: port.default(9460),
});

const InfluxSchema = z
  .strictObject({
    url: z
      .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL such as http://127.0.0.1:8086' })
      .default('http://127.0.0.1:8086'),
    database: z.string().min(1).default('michi'),
    username: z.string().min(1).optional(),
    /** The name of the environment variable holding the password, never the password itself. */
    passwordEnv: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]{0,127}$/, 'expected the name of an environment variable, e.g. MICHI_INFLUX_PASSWORD')
      .optional(),
    timeoutMs: z.int().min(100).max(600_000).default(10_000),
    /** Lines per /write request; InfluxDB 1.x suggests 5,000 per batch. */
    maxBatchLines: z.int().min(1).max(100_000).default(5_000),
    /** How long the first pending line waits for company before its request is sent. */
    flushIntervalMs: z.int().min(0).max(10_000).default(20),
    /** Lines accepted but not yet written; beyond this, writes are refused at once (back-pressure). */
    maxPendingLines: z.int().min(1).max(10_000_000).default(200_000),
    /** /write requests in flight at once; InfluxDB 1.x reaches its ceiling with 2-3 concurrent writers. */
    maxConcurrentWrites: z.int().min(1).max(64).default(2),
    /**
     * How often the gRPC health service's view of InfluxDB is refreshed with a /ping when no write
     * settled meanwhile (every /write updates it too).
     */
    healthIntervalMs: z.int().min(100).max(600_000).default(5_000),
  })
  .refine((i) => i.maxPendingLines >= i.maxBatchLines, {
    message: 'influx.maxPendingLines must be at least influx.maxBatchLines, or no full batch could ever be pending',
    path: ['maxPendingLines'],
  })
  .refine((i) => i.passwordEnv === undefined || i.username !== undefined, {
    message: 'influx.passwordEnv needs influx.username: InfluxDB 1.x authenticates a user with a password',
    path: ['passwordEnv'],
  })
  .refine((i) => i.username === undefined || i.passwordEnv !== undefined, {
    message: 'influx.username needs influx.passwordEnv: the name of the environment variable holding its password',
    path: ['username'],
  });

/** What the default InfluxDB is called in health reports; no entry of influxServers may take it. */
export const DEFAULT_INFLUX_SERVER = 'default';

type Overrides<T extends z.ZodRawShape> = { [K in keyof T]: z.ZodOptional<T[K] extends z.ZodDefault<infer I> ? I : T[K]> };

/** The same fields, each optional and without its default: unset means "as in the section this overrides". */
function withoutDefaults<T extends z.ZodRawShape>(shape: T): Overrides<T> {
  return Object.fromEntries(
    Object.entries(shape).map(([k, s]) => [k, ((s instanceof z.ZodDefault ? s.unwrap() : s) as z.ZodType).optional()]),
  ) as unknown as Overrides<T>;
}

/**
 * A further InfluxDB holding the data of the pilots it lists (docs/scaling.md, "Pilots on several
 * InfluxDB servers"). Every setting of `influx` but the URL may be left out and is then `influx`'s;
 * the credentials are taken as a pair: from here when either is set, else from `influx`.
 */
const InfluxServerSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected 1-63 characters of a-z 0-9 - (the name health reports use)')
    .refine((n) => n !== DEFAULT_INFLUX_SERVER, `"${DEFAULT_INFLUX_SERVER}" names the influx section's server; choose another name`),
  pilots: z.array(z.string().min(1)).min(1, 'expected the ids of the pilots whose data this server holds'),
  ...withoutDefaults(InfluxSchema.shape),
  url: InfluxSchema.shape.url.unwrap(),
});

export type InfluxServerSettings = z.infer<typeof InfluxSchema> & { name: string; pilots: readonly string[] };

/** The servers with their settings completed from `influx`: the default first (no pilots listed: it holds every other pilot). */
export function influxServers(config: Pick<CloudSettings, 'influx' | 'influxServers'>): InfluxServerSettings[] {
  return [
    { ...config.influx, name: DEFAULT_INFLUX_SERVER, pilots: [] },
    ...config.influxServers.map((s) => withInfluxDefaults(config.influx, s)),
  ];
}

function withInfluxDefaults(influx: z.infer<typeof InfluxSchema>, server: z.infer<typeof InfluxServerSchema>): InfluxServerSettings {
  const own = server.username !== undefined || server.passwordEnv !== undefined;
  const set = Object.fromEntries(Object.entries(server).filter(([, v]) => v !== undefined));
  return {
    ...influx,
    username: undefined,
    passwordEnv: undefined,
    ...(own ? {} : { username: influx.username, passwordEnv: influx.passwordEnv }),
    ...set,
  } as InfluxServerSettings;
}

/** influx's checks on each server's completed settings, a name or a pilot used twice: issues at the entry's path. */
function checkInfluxServers(config: Pick<CloudSettings, 'influx' | 'influxServers'>, ctx: z.RefinementCtx): void {
  const names = new Map<string, number>();
  const pilots = new Map<string, string>();
  config.influxServers.forEach((server, i) => {
    const at = ['influxServers', i];
    const { name: _n, pilots: _p, ...settings } = withInfluxDefaults(config.influx, server);
    // Only the checks across fields: a bad field was reported at its own path already.
    for (const issue of (InfluxSchema.safeParse(settings).error?.issues ?? []).filter((x) => x.code === 'custom')) {
      ctx.addIssue({ code: 'custom', path: [...at, ...issue.path], message: issue.message.replaceAll('influx.', `influxServers[${i}].`) });
    }
    const first = names.get(server.name);
    if (first !== undefined)
      ctx.addIssue({ code: 'custom', path: [...at, 'name'], message: `"${server.name}" names influxServers[${first}] already` });
    else names.set(server.name, i);
    server.pilots.forEach((pilot, j) => {
      const holder = pilots.get(pilot);
      if (holder !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [...at, 'pilots', j],
          message: `pilot "${pilot}" is assigned to ${holder} already; a pilot's data lives on one server`,
        });
      } else pilots.set(pilot, `influxServers[${i}] (${server.name})`);
    });
  });
}

/** An origin as browsers send it in `Origin`: scheme://host[:port], nothing after. */
const OriginSchema = z.string().refine((s) => {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === s;
  } catch {
    return false;
  }
}, 'expected an origin: http(s)://host[:port] without a path or a trailing slash, e.g. https://michi.example');

/** A token bucket of the API: `perSecond` sustained, `burst` at once; over it 429 with Retry-After. */
function apiRateSchema(perSecond: number, burst: number) {
  const schema = z.strictObject({
    perSecond: z.number().positive().max(1_000_000).default(perSecond),
    burst: z.int().min(1).max(10_000_000).default(burst),
  });
  return schema.default(schema.parse({}));
}

/** What one API caller may cost (docs/api.md, "Limits"; docs/security.md, finding 9). */
const ApiLimitsSchema = z
  .strictObject({
    /** Requests per token (token bucket); over it 429 MICHI_ERR_RATE_LIMITED with Retry-After. */
    rate: apiRateSchema(20, 100),
    /** Requests per client address of the anonymous viewer and of requests without a valid token. */
    anonymousRate: apiRateSchema(10, 50),
    /** History queries (tracks, links, events, kpis, coverage, completeness) running at once per token. */
    maxQueriesPerToken: z.int().min(1).max(1_000).default(2),
    /** History queries running at once in total. */
    maxQueries: z.int().min(1).max(10_000).default(4),
    /** History queries of one token waiting for a place; the next one is refused with 429 at once. */
    maxQueuedPerToken: z.int().min(0).max(1_000).default(8),
    /** How long a history query waits for a place before it is refused with 429. */
    queueTimeoutMs: z.int().min(0).max(60_000).default(5_000),
    /** Each InfluxDB request of a history query; past it the request is aborted and the API answers 504 MICHI_ERR_TIMEOUT. */
    queryTimeoutMs: z.int().min(100).max(600_000).default(10_000),
    /** Rows one InfluxDB request of a history query may hold in memory; beyond it 422 MICHI_ERR_TOO_LARGE. */
    maxRows: z.int().min(1_000).max(10_000_000).default(600_000),
  })
  .refine((l) => l.maxQueriesPerToken <= l.maxQueries, {
    message: 'api.limits.maxQueriesPerToken must not exceed api.limits.maxQueries',
    path: ['maxQueriesPerToken'],
  });

/** The HTTP API: its live feed (docs/api.md, "The live feed"; docs/security.md) and its limits. */
const ApiSchema = z.strictObject({
  /**
   * Pages of other origins allowed to open the live feed from a browser, besides the API's own
   * origin (its Host header). An upgrade whose Origin is neither is refused with 403.
   */
  allowedOrigins: z.array(OriginSchema).max(100).default([]),
  /** Open live-feed connections per token at most; the next one is refused with 429. */
  maxLiveConnectionsPerToken: z.int().min(1).max(10_000).default(8),
  limits: ApiLimitsSchema.default(ApiLimitsSchema.parse({})),
});

/** api.limits as configured by default, for an API built without a configuration (tests). */
export const DEFAULT_API_LIMITS = ApiLimitsSchema.parse({});

const DAY_MS = 24 * 60 * 60 * 1000;

const TimestampWindowSchema = z.strictObject({
  /** Readings older than this (source timestamp against the cloud's clock) are refused: MICHI_ERR_CLOCK_SKEW. */
  pastMs: z
    .int()
    .min(0)
    .default(7 * DAY_MS),
  /** Readings further in the future than this are refused. */
  futureMs: z
    .int()
    .min(0)
    .default(5 * 60 * 1000),
});

/** The alarm engine (docs/alarms.md). */
const AlarmsConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** SQLite database of alarms and their history; relative paths from the working directory (`make run`: the repository). */
  dbFile: z.string().min(1).default('.data/cloud/alarms.sqlite'),
  /** A reading older than this (source time against the cloud's clock) is part of a backlog: it never raises an alarm. */
  lateAfterS: z.number().positive().max(86_400).default(30),
  /** How often silence, escalation and auto-clearing are checked. */
  tickIntervalMs: z.int().min(50).max(60_000).default(1_000),
  /** Cleared alarms stay in the alarms table this long; their changes stay in the history table. */
  keepClearedDays: z.number().positive().max(3_650).default(30),
  /** Changes stay in the history this long (open alarms' while they are open); 400: a fiscal year's report, and some. */
  keepHistoryDays: z.number().positive().max(36_500).default(400),
  /** Where alarm changes are POSTed, signed, from a durable outbox (docs/alarms.md, "Webhooks"). */
  webhooks: AlarmWebhooksSchema,
});
const AlarmsSchema = AlarmsConfigSchema.refine((a) => a.keepHistoryDays >= a.keepClearedDays, {
  message: 'expected keepHistoryDays to be at least keepClearedDays: a cleared alarm still listed keeps its history',
  path: ['keepHistoryDays'],
});

/** The rollup job (docs/reports.md): per source, hour and day, recomputed when readings land. */
const RollupsSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** An hour is recomputed once no reading has landed in it for this long. */
  settleMs: z.int().min(0).default(30_000),
  tickMs: z.int().min(10).default(5_000),
  maxHoursPerTick: z.int().min(1).default(24),
  /** On the first start (no rollup_progress yet), how many days of readings are rolled up. */
  backfillDays: z.int().min(0).max(400).default(35),
});

export const CloudConfigSchema = z
  .strictObject({
    /** The pilot definitions (seeds/*.json): which gateways may connect and which sources exist. */
    seedsDir: z.string().min(1).default('seeds'),
    mqtt: MqttSchema.default(MqttSchema.parse({})),
    http: HttpSchema.default(HttpSchema.parse({})),
    /** Prometheus /metrics of the cloud, on its own listener. */
    metrics: MetricsSchema.default(MetricsSchema.parse({})),
    api: ApiSchema.default(ApiSchema.parse({})),
    /** gRPC ingest (michi.v1.CloudIngestService, health, reflection). */
    grpc: GrpcSchema.default(GrpcSchema.parse({})),
    worker: WorkerSchema.default(WorkerSchema.parse({})),
    watch: WatchSchema.default(WatchSchema.parse({})),
    influx: InfluxSchema.default(InfluxSchema.parse({})),
    /** Further InfluxDB servers, each holding the pilots it lists; the others stay on `influx`. */
    influxServers: z.array(InfluxServerSchema).max(64).default([]),
    /** The built dashboard (`npm run build -w @michi/dashboard`); served at / when it exists. */
    dashboardDir: z.string().min(1).default('dashboard/dist'),
    timestampWindow: TimestampWindowSchema.default(TimestampWindowSchema.parse({})),
    rollups: RollupsSchema.default(RollupsSchema.parse({})),
    /** API bearer tokens (auth-config.ts, docs/api.md). */
    auth: AuthSchema.default(AuthSchema.parse({})),
    alarms: AlarmsSchema.default(AlarmsSchema.parse({})),
    records: RecordsConfigSchema.default(RecordsConfigSchema.parse({})),
    log: z
      .strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .default({ level: 'info' }),
  })
  .superRefine(checkInfluxServers);

export type CloudSettings = z.infer<typeof CloudConfigSchema>;

/** Looks up a `credentialsRef` ("env:NAME" or "file:/path"); undefined when it names nothing. */
export type SecretResolver = (ref: string) => string | undefined;

export type CloudConfig = CloudSettings & {
  /** Not enumerable: logging or serializing the configuration never shows it or what it can reach. */
  readonly resolveSecret: SecretResolver;
};

/**
 * Resolves `env:NAME` from `env` and `file:/path` from the file's contents (trailing newline
 * removed, as Docker and Kubernetes secrets are written). An empty value counts as no secret.
 */
export function secretResolver(env: Readonly<Record<string, string | undefined>>): SecretResolver {
  return (ref) => {
    let value: string | undefined;
    if (ref.startsWith('env:')) value = env[ref.slice(4)];
    else if (ref.startsWith('file:')) {
      try {
        value = readFileSync(ref.slice(5), 'utf8').replace(/\r?\n$/, '');
      } catch {
        value = undefined;
      }
    }
    return value === undefined || value === '' ? undefined : value;
  };
}

/**
 * Defaults, then `file` (YAML), then MICHI_CLOUD_* variables of `env` (MICHI_CLOUD_INFLUX__URL sets
 * influx.url). Throws ConfigError naming the file, the path and what was expected.
 */
export function loadCloudConfig(file: string | undefined, env: Readonly<Record<string, string | undefined>> = {}): CloudConfig {
  // MICHI_CLOUD_METRICS_PORT is `make run`'s (README): a shell that set it for make run can still run michi-cloud.
  const { [CLOUD_CONFIG_ENV]: _file, MICHI_CLOUD_METRICS_PORT: _makeRun, ...overrides } = env;
  const settings = loadConfig(CloudConfigSchema, { file, env: overrides, envPrefix: CLOUD_ENV_PREFIX });
  const config = Object.defineProperty({ ...settings }, 'resolveSecret', { value: secretResolver({ ...env }), enumerable: false });
  return Object.freeze(config) as CloudConfig;
}

/** An InfluxDB the configuration names (default: `influx`), with its password resolved (the cloud and the ingest workers alike). */
export function influxEndpoint(config: CloudConfig, server: InfluxServerSettings = influxServers(config)[0]!): InfluxEndpoint {
  return {
    url: server.url,
    database: server.database,
    username: server.username,
    password: influxPassword(config, server),
    timeoutMs: server.timeoutMs,
  };
}

/** An InfluxDB's password (default: `influx`'s), when the configuration names a variable for it; a missing variable is an error. */
export function influxPassword(
  config: CloudConfig,
  server: Pick<InfluxServerSettings, 'passwordEnv'> & { name?: string } = config.influx,
): string | undefined {
  const name = server.passwordEnv;
  if (name === undefined) return undefined;
  const password = config.resolveSecret(`env:${name}`);
  if (password === undefined) {
    const setting =
      server.name === undefined || server.name === DEFAULT_INFLUX_SERVER
        ? 'influx.passwordEnv'
        : `the passwordEnv of InfluxDB server ${server.name}`;
    throw new ConfigError(`${setting} names ${name}, but that environment variable is not set`, { variable: name });
  }
  return password;
}
