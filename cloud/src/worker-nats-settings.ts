/**
 * The `worker.nats` section of the configuration (docs/scaling.md, "NATS JetStream"): where the
 * cluster is, which stream and durable consumer the ingest workers share, how long a delivered
 * batch may stay unacknowledged before JetStream hands it to another worker, and, for
 * `michi-ingest-worker --nats-config DIR` only, the three nodes to write configurations for.
 */
import { z } from 'zod';

const port = z.int().min(1).max(65_535);
/** A JetStream stream or consumer name: no whitespace, '.', '*', '>' (the server's own rule). */
const jsName = z.string().regex(/^[^\s.*>/\\]{1,255}$/, 'expected a JetStream name: no spaces, ".", "*", ">", "/" or "\\"');

const NatsNodeSchema = z.strictObject({
  /** server_name, unique in the cluster; also the file name (DIR/{name}.conf) and the JetStream directory. */
  name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected 1-64 characters of A-Z a-z 0-9 _ -'),
  /** The address this node listens on and the others reach it at. */
  host: z.string().min(1),
  clientPort: port.default(4222),
  mqttPort: port.default(1883),
  clusterPort: port.default(6222),
  /** The monitoring endpoint (/healthz, /varz, /jsz); loopback-only unless you put it behind something. */
  httpPort: port.default(8222),
});

const NatsClusterSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected 1-64 characters of A-Z a-z 0-9 _ -')
      .default('michi'),
    /** JetStream's directory on each node; each node writes under {storeDir}/{name}. */
    storeDir: z.string().min(1).default('/var/lib/nats'),
    nodes: z.array(NatsNodeSchema).length(3, 'expected exactly three nodes: JetStream keeps R3 streams, a quorum of two'),
  })
  .refine((c) => new Set(c.nodes.map((n) => n.name)).size === c.nodes.length, {
    message: 'every node needs its own name',
    path: ['nodes'],
  });

export type NatsClusterSettings = z.infer<typeof NatsClusterSchema>;

export const NatsWorkerSchema = z.strictObject({
  /** Client URLs of the cluster's nodes (any of them will do; the client fails over). */
  servers: z
    .array(z.string().regex(/^(nats|tls):\/\/[^/\s]+$/, 'expected nats://host:port or tls://host:port'))
    .min(1)
    .default(['nats://127.0.0.1:4222']),
  /**
   * The stream the batches are in. NATS stores every MQTT QoS 1 publish in `$MQTT_msgs` (subject
   * `$MQTT.msgs.{subject}`) before it sends the PUBACK; docs/scaling.md says why workers read there.
   */
  stream: jsName.default('$MQTT_msgs'),
  /** Replicas of `$MQTT_msgs` when a worker creates it before NATS does (then keep it equal to mqtt.stream_replicas). */
  replicas: z.int().min(1).max(5).default(3),
  /** The durable pull consumer every worker shares: one cursor, each batch to one worker. */
  durable: jsName.default('michi-ingest'),
  /** A batch delivered and not acknowledged within this goes to another worker (the holder died). */
  ackWaitSeconds: z.int().min(5).max(3_600).default(30),
  /** Batches handed out and not yet acknowledged, all workers together. */
  maxAckPending: z.int().min(1).max(1_000_000).default(1_000),
  /** Batches one worker ingests at once (its pull window); they share InfluxDB group commits. */
  maxInFlight: z.int().min(1).max(10_000).default(64),
  /** For `--nats-config DIR` only: the cluster to write node configurations for. */
  cluster: NatsClusterSchema.optional(),
});

export type NatsWorkerSettings = z.infer<typeof NatsWorkerSchema>;
