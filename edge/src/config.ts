/**
 * The edge agent's configuration: one closed schema with its defaults, loaded once at start-up from
 * a YAML file and MICHI_EDGE_* environment variables, then frozen. Secrets are never part of the
 * file: `uplink.passwordEnv` and `local.deviceKeyEnv` name the variables, the loader resolves them
 * into non-enumerable properties, so printing or logging the configuration never shows them.
 */
import { checkDeviceKey, ConfigError, formatZodIssues, isValidSegment, loadConfig, MAX_BATCH_ITEMS } from '@michi/proto';
import { z } from 'zod';

export const EDGE_ENV_PREFIX = 'MICHI_EDGE_';
/** Names the configuration file (main.ts reads it); not a setting itself. */
export const EDGE_CONFIG_ENV = 'MICHI_EDGE_CONFIG';

const MiB = 1024 * 1024;
/** What @michi/proto's decodeBatch accepts by default, hence what the cloud takes in one batch. */
const CLOUD_MAX_BATCH_BYTES = 4 * MiB;
/** Batch header (ids, first_seq, sent_ts_ms) plus one item's tag and length prefix. */
const BATCH_OVERHEAD_BYTES = 256;

const port = z.int({ error: 'expected a TCP port number' }).min(0).max(65_535);
const host = z.string().min(1);
const id = (what: string, example: string) =>
  z
    .string({ error: (issue) => `${issue.input === undefined ? 'missing; ' : ''}expected the ${what} id as in seeds/, e.g. "${example}"` })
    .refine(isValidSegment, `expected the ${what} id: 1 to 64 letters, digits, "_" or "-" (it is an MQTT topic segment)`);

const LocalMqttSchema = z.strictObject({
  host: host.default('127.0.0.1'),
  port: port.default(1884),
  /** A reading larger than this is refused (MICHI_ERR_TOO_LARGE); readings are typically 50-300 bytes. */
  maxPayloadBytes: z
    .int()
    .min(256)
    .max(CLOUD_MAX_BATCH_BYTES - BATCH_OVERHEAD_BYTES)
    .default(64 * 1024),
  /**
   * Sockets one remote address may hold open, logged in or not; beyond it a new one is closed at
   * once. Each vehicle or sensor normally has one connection from its own address.
   */
  maxConnectionsPerAddress: z.int().min(1).max(1_000_000).default(64),
});

const LocalGrpcSchema = z.strictObject({
  /**
   * michi.v1.EdgeIngestService/Publish, with the health service and reflection. Off by default so
   * that several agents can share a machine (make run); 50052 is the port when on.
   */
  enabled: z.boolean().default(false),
  host: host.default('127.0.0.1'),
  port: port.default(50052),
  /** Largest PublishRequest; grpc-js refuses larger ones with RESOURCE_EXHAUSTED. */
  maxMessageBytes: z
    .int()
    .min(1_024)
    .max(CLOUD_MAX_BATCH_BYTES)
    .default(1 * MiB),
});

const secretEnvName = (example: string) =>
  z
    .string()
    .regex(/^[A-Z][A-Z0-9_]{0,127}$/, `expected the name of an environment variable, e.g. ${example}`)
    // The loader reads every MICHI_EDGE_* variable as a setting, and the closed schema refuses unknown ones.
    .refine(
      (name) => !name.startsWith(EDGE_ENV_PREFIX),
      `expected a variable name outside the ${EDGE_ENV_PREFIX} prefix, which is reserved for settings`,
    );

const LocalSchema = z.strictObject({
  mqtt: LocalMqttSchema.default(LocalMqttSchema.parse({})),
  grpc: LocalGrpcSchema.default(LocalGrpcSchema.parse({})),
  /**
   * The gateway's certificate and key (PEM): the local MQTT listener then speaks MQTT over TLS
   * (mqtts://) and the local gRPC service TLS, so that device passwords and readings do not cross
   * the local 5G network in clear. Without it both listen in plain text (a lab, or a network that
   * is encrypted below).
   */
  tls: z
    .strictObject({
      certFile: z.string().min(1, 'expected the path of the PEM certificate'),
      keyFile: z.string().min(1, 'expected the path of the PEM private key'),
    })
    .optional(),
  /**
   * The variable holding this gateway's device key, never the key itself. Required: a device
   * authenticates with its id and the password HMAC-SHA256(device key, id) (docs/edge.md,
   * "Provisioning a device"), on MQTT and gRPC alike.
   */
  deviceKeyEnv: secretEnvName('MICHI_GW_EKIMAE_DEVICE_KEY').optional(),
  /** Devices refused even with the right password (a stolen or retired vehicle), until the key is rotated. */
  revokedDevices: z.array(id('device', 'bus-01')).max(10_000).default([]),
});

const BufferSchema = z.strictObject({
  /** The SQLite file; default .data/edge/<gatewayId>/buffer.sqlite, relative to the working directory. */
  path: z.string().min(1).optional(),
  /**
   * Payload bytes the buffer holds at most. Beyond it the oldest routine telemetry is evicted (link
   * samples first, then states and sensor readings); events never are. A reading that still does
   * not fit is refused (MICHI_ERR_BUFFER_FULL), not acknowledged. docs/edge.md, "Buffer policy".
   */
  maxBytes: z
    .int()
    .min(64 * 1024)
    .default(256 * MiB),
  /**
   * Longest a reading waits for its group commit, hence the floor of a local PUBACK's latency. Each
   * commit costs a few pages of disk writes whatever it holds: at 1,000 readings/s, 100 ms wrote
   * 1.8x the payload bytes, 50 ms 2.2x, 20 ms 3.0x (docs/benchmarks.md).
   */
  commitIntervalMs: z.int().min(1).max(1_000).default(100),
  /** A group commit happens at once when this many readings wait. */
  commitMaxItems: z.int().min(1).max(100_000).default(1_000),
});

/** uplink.mode grpc: the cloud's michi.v1.CloudIngestService. */
const UplinkGrpcSchema = z.strictObject({
  address: z
    .string()
    .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/, 'expected host:port of the cloud gRPC ingest, e.g. 127.0.0.1:50051')
    .default('127.0.0.1:50051'),
  /** TLS to the cloud (its grpc.tls); without it the stream is plaintext, for loopback use only. */
  tls: z.boolean().default(false),
});

const UplinkTlsSchema = z.strictObject({
  /** PEM file of the CAs the cloud's certificate must chain to (mqtts://, uplink.grpc.tls); default: the bundled public roots. */
  caFile: z.string().min(1).optional(),
});

const UplinkSchema = z.strictObject({
  /** mqtt: batches published at QoS 1 to uplink.url; grpc: one Upload bidi stream to uplink.grpc.address (docs/edge.md). */
  mode: z.enum(['mqtt', 'grpc'], { error: 'expected "mqtt" or "grpc"' }).default('mqtt'),
  url: z
    .url({ protocol: /^mqtts?$/, error: 'expected an mqtt:// or mqtts:// URL such as mqtt://127.0.0.1:1883' })
    // The URL is logged with every connection state change; credentials belong in username/passwordEnv.
    .refine((u) => !/^[a-z]+:\/\/[^/]*@/i.test(u), 'expected a URL without credentials: use uplink.username and uplink.passwordEnv')
    .default('mqtt://127.0.0.1:1883'),
  /** Default: the gateway id, which is what the cloud authenticates gateways by. */
  username: z.string().min(1).optional(),
  /** The name of the environment variable holding the gateway's secret, never the secret itself. */
  passwordEnv: z
    .string()
    .regex(/^[A-Z][A-Z0-9_]{0,127}$/, 'expected the name of an environment variable, e.g. MICHI_GW_TOYAMA_1_SECRET')
    // The loader reads every MICHI_EDGE_* variable as a setting, and the closed schema refuses unknown ones.
    .refine(
      (name) => !name.startsWith(EDGE_ENV_PREFIX),
      `expected a variable name outside the ${EDGE_ENV_PREFIX} prefix, which is reserved for settings`,
    )
    .optional(),
  grpc: UplinkGrpcSchema.default(UplinkGrpcSchema.parse({})),
  tls: UplinkTlsSchema.default(UplinkTlsSchema.parse({})),
  batchMaxItems: z.int().min(1).max(MAX_BATCH_ITEMS).default(500),
  /** A batch is also closed when it reaches this many bytes; the cloud refuses batches over 4 MiB. */
  batchMaxBytes: z
    .int()
    .min(1_024)
    .max(CLOUD_MAX_BATCH_BYTES)
    .default(1 * MiB),
  /**
   * How long the first reading of a partial batch waits for company. Readings are forwarded as
   * they arrive, before their group commit, so this is what the live path waits at most: more
   * means fuller batches (less CPU per reading here and in the cloud), less means lower latency.
   */
  batchMaxDelayMs: z.int().min(0).max(60_000).default(50),
  /**
   * When a partial batch goes. `adaptive`: at once while fewer than maxLiveBatchesInFlight live
   * batches await their acknowledgement, otherwise readings gather until one comes back (or
   * batchMaxDelayMs passes), so a quiet fleet gets single-reading latency and a busy one full
   * batches. `fixed`: every partial batch waits batchMaxDelayMs, the behaviour before adaptive
   * batching.
   */
  batching: z.enum(['adaptive', 'fixed'], { error: 'expected "adaptive" or "fixed"' }).default('adaptive'),
  /**
   * Adaptive batching: live batches go at most this often unless full. A cloud that acknowledges
   * at once leaves the uplink always idle; without a floor every socket read became a batch, and
   * each batch costs the agent CPU whatever its size (bench/edge-footprint.bench.ts at 1,000
   * readings/s: 43 readings a batch with fixed 50 ms, 25 with this at 25, 11 at 10, the agent's
   * CPU rising with the batch count; docs/benchmarks.md).
   */
  batchMinIntervalMs: z.int().min(0).max(60_000).default(25),
  /**
   * Adaptive batching under load: the interval between live batches grows with the live readings
   * per second over the last second, from batchMinIntervalMs at rest to batchMaxDelayMs at this
   * rate, so that a busy gateway sends batches about as full as fixed 50 ms ones (37.5 ms and 27
   * batches a second at 1,000 readings/s instead of 25 ms and 40). A burst goes at once when twice
   * as many readings wait as the interval gathers at the recent rate. 0: no growth.
   */
  busyReadingsPerS: z.int().min(0).max(10_000_000).default(2_000),
  /**
   * `deflate` sends each Batch as a zlib stream (about a third of the bytes for typical readings).
   * Only against a cloud that decodes it (this version does); an older one would drop such batches.
   */
  compression: z.enum(['none', 'deflate'], { error: 'expected "none" or "deflate"' }).default('none'),
  /** Batches published and not yet acknowledged by the cloud. */
  maxInflightBatches: z.int().min(1).max(1_000).default(8),
  /**
   * Adaptive batching: live (and event) batches that may await the cloud's acknowledgement before
   * new live readings gather for one. The cloud acknowledges only after its InfluxDB write; with 1
   * a burst waited behind that write (issue 15: edge_held p99 71 ms at 1,000 vehicles in a burst).
   */
  maxLiveBatchesInFlight: z.int().min(1).max(1_000).default(4),
  /**
   * After an outage or a restart, what was buffered is sent at most this fast, behind live
   * readings and events, so that the dashboard stays current while history backfills.
   */
  backlogMaxReadingsPerS: z.int().min(1).max(1_000_000).default(5_000),
  reconnectMinMs: z.int().min(10).default(500),
  reconnectMaxMs: z.int().min(10).default(30_000),
  connectTimeoutMs: z.int().min(100).max(600_000).default(10_000),
  keepaliveS: z.int().min(0).max(65_535).default(30),
});

const ProcessingSchema = z.strictObject({
  /**
   * Downsampling per kind: at most one reading per source every this many ms of source time
   * (0 keeps all). Events are never downsampled. E.g. link: 1000 keeps link samples at 1 Hz.
   */
  minIntervalMs: z
    .strictObject({
      state: z.int().min(0).max(3_600_000).default(0),
      link: z.int().min(0).max(3_600_000).default(0),
      sensor: z.int().min(0).max(3_600_000).default(0),
    })
    .default({ state: 0, link: 0, sensor: 0 }),
  /**
   * Deadband for vehicle states: a state that moved less than positionM and changed its speed by
   * less than speedMps, in the same autonomy mode, is dropped, unless maxIntervalMs passed since the
   * last one kept. 0 and 0 turn it off.
   */
  stateDeadband: z
    .strictObject({
      positionM: z.number().min(0).max(10_000).default(0),
      speedMps: z.number().min(0).max(100).default(0),
      maxIntervalMs: z.int().min(0).max(3_600_000).default(10_000),
    })
    .default({ positionM: 0, speedMps: 0, maxIntervalMs: 10_000 }),
  /** A reading whose ts_ms is further than this from the gateway's clock counts as skewed (michi_edge_clock_skewed_total). */
  clockSkewWarnMs: z.int().min(1).max(86_400_000).default(2_000),
});

const MetricsSchema = z.strictObject({
  host: host.default('127.0.0.1'),
  port: port.default(9464),
});

const LogSchema = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export const EdgeConfigSchema = z
  .strictObject({
    pilotId: id('pilot', 'maebashi-l4-bus'),
    gatewayId: id('gateway', 'gw-ekimae'),
    /** The pilot definitions: this gateway's vehicles and sensors are the only sources it accepts. */
    seedsDir: z.string().min(1).default('seeds'),
    local: LocalSchema.default(LocalSchema.parse({})),
    buffer: BufferSchema.default(BufferSchema.parse({})),
    uplink: UplinkSchema.default(UplinkSchema.parse({})),
    processing: ProcessingSchema.default(ProcessingSchema.parse({})),
    metrics: MetricsSchema.default(MetricsSchema.parse({})),
    log: LogSchema.default(LogSchema.parse({})),
  })
  .superRefine((c, ctx) => {
    const { uplink, buffer } = c;
    const maxPayload = c.local.mqtt.maxPayloadBytes;
    if (c.local.deviceKeyEnv === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['local', 'deviceKeyEnv'],
        message:
          'missing; expected the name of the environment variable holding the device key, e.g. MICHI_GW_EKIMAE_DEVICE_KEY: ' +
          'devices authenticate with passwords derived from it (docs/edge.md, "Provisioning a device")',
      });
    }
    if (uplink.mode === 'grpc' && uplink.passwordEnv === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['uplink', 'passwordEnv'],
        message: 'missing; uplink.mode grpc authenticates the upload stream with the gateway secret: name its variable here',
      });
    }
    const tls = uplink.mode === 'grpc' ? uplink.grpc.tls : uplink.url.startsWith('mqtts:');
    if (uplink.tls.caFile !== undefined && !tls) {
      ctx.addIssue({
        code: 'custom',
        path: ['uplink', 'tls', 'caFile'],
        message: `set, but the ${uplink.mode} uplink is not TLS: use an mqtts:// uplink.url (mode mqtt) or uplink.grpc.tls: true (mode grpc)`,
      });
    }
    if (uplink.reconnectMaxMs < uplink.reconnectMinMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['uplink', 'reconnectMaxMs'],
        message: `uplink.reconnectMaxMs (${uplink.reconnectMaxMs}) must be at least uplink.reconnectMinMs (${uplink.reconnectMinMs})`,
      });
    }
    if (uplink.batchMaxBytes < maxPayload + BATCH_OVERHEAD_BYTES) {
      ctx.addIssue({
        code: 'custom',
        path: ['uplink', 'batchMaxBytes'],
        message:
          `uplink.batchMaxBytes (${uplink.batchMaxBytes}) must be at least local.mqtt.maxPayloadBytes + ${BATCH_OVERHEAD_BYTES} ` +
          `(${maxPayload + BATCH_OVERHEAD_BYTES}), or a reading of the largest accepted size could never be sent upstream`,
      });
    }
    if (uplink.maxLiveBatchesInFlight > uplink.maxInflightBatches) {
      ctx.addIssue({
        code: 'custom',
        path: ['uplink', 'maxLiveBatchesInFlight'],
        message:
          `uplink.maxLiveBatchesInFlight (${uplink.maxLiveBatchesInFlight}) must be at most uplink.maxInflightBatches ` +
          `(${uplink.maxInflightBatches}), the window that all batches in flight share`,
      });
    }
    const inflightBytes = uplink.batchMaxBytes * uplink.maxInflightBatches;
    if (buffer.maxBytes <= inflightBytes) {
      ctx.addIssue({
        code: 'custom',
        path: ['buffer', 'maxBytes'],
        message:
          `buffer.maxBytes (${buffer.maxBytes}) must be larger than uplink.batchMaxBytes × uplink.maxInflightBatches ` +
          `(${inflightBytes}): the buffer holds every batch until the cloud acknowledges it`,
      });
    }
  })
  .transform((c) => ({
    ...c,
    buffer: { ...c.buffer, path: c.buffer.path ?? `.data/edge/${c.gatewayId}/buffer.sqlite` },
    uplink: { ...c.uplink, username: c.uplink.username ?? c.gatewayId },
  }));

/** What a configuration file may contain (everything but pilotId and gatewayId has a default). */
export type EdgeConfigInput = z.input<typeof EdgeConfigSchema>;
export type EdgeSettings = z.output<typeof EdgeConfigSchema>;

export type EdgeConfig = Readonly<EdgeSettings> & {
  /** The uplink password from the variable `uplink.passwordEnv` names; not enumerable, so never logged. */
  readonly uplinkPassword: string | undefined;
  /** The device key from the variable `local.deviceKeyEnv` names; not enumerable, so never logged. */
  readonly deviceKey: string;
};

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Defaults, then `file` (YAML), then MICHI_EDGE_* variables of `env` (MICHI_EDGE_UPLINK__URL sets
 * uplink.url). Throws ConfigError naming the file, the path and what was expected.
 */
export function loadEdgeConfig(file?: string, env: Env = process.env): EdgeConfig {
  const { [EDGE_CONFIG_ENV]: _file, ...settingsEnv } = env;
  const settings = loadConfig(EdgeConfigSchema, { file, env: settingsEnv, envPrefix: EDGE_ENV_PREFIX });
  return withSecrets(settings, env);
}

/** The same checks for a configuration built in code (tests, benchmarks, an embedding process). */
export function parseEdgeConfig(input: EdgeConfigInput, env: Env = {}): EdgeConfig {
  const result = EdgeConfigSchema.safeParse(input);
  if (!result.success) throw new ConfigError(`invalid configuration\n${formatZodIssues('configuration', result.error)}`);
  return withSecrets(result.data, env);
}

function withSecrets(settings: EdgeSettings, env: Env): EdgeConfig {
  const name = settings.uplink.passwordEnv;
  const password = name === undefined ? undefined : env[name];
  if (name !== undefined && !password) {
    throw new ConfigError(`uplink.passwordEnv names ${name}, but that environment variable is not set or empty`, { variable: name });
  }
  const keyEnv = settings.local.deviceKeyEnv!;
  const deviceKey = env[keyEnv];
  if (!deviceKey) {
    throw new ConfigError(`local.deviceKeyEnv names ${keyEnv}, but that environment variable is not set or empty`, { variable: keyEnv });
  }
  checkDeviceKey(deviceKey, `local.deviceKeyEnv (${keyEnv})`);
  const config = Object.defineProperties(
    { ...settings },
    {
      uplinkPassword: { value: password, enumerable: false },
      deviceKey: { value: deviceKey, enumerable: false },
    },
  );
  return deepFreeze(config) as EdgeConfig;
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null && !Object.isFrozen(o)) {
    Object.values(o).forEach(deepFreeze);
    Object.freeze(o);
  }
  return o;
}
