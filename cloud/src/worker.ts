/**
 * External-broker mode (docs/scaling.md): a stateless ingest worker that consumes gateway batches
 * from an existing MQTT broker (Mosquitto, EMQX, HiveMQ) through a shared subscription,
 * `$share/{group}/michi/v1/+/+/batch`, and acknowledges each message to the broker only after
 * InfluxDB accepted its readings. The broker authenticates gateways and enforces the topic ACL;
 * the worker takes the gateway's identity from the topic and checks it against the pilot
 * definitions again.
 *
 * Why it is built this way (measured on Mosquitto 2.0.11 and mqtt.js 5.16):
 * - mqtt.js defers the PUBACK (`customHandleAcks`) only with MQTT 5, and takes a connection's next
 *   publish only after the previous ack: each connection is serial, so a worker opens several,
 *   each a member of the shared subscription, and throughput comes from large upstream batches.
 * - Round-robin shares are queued per member: a member that dies holding messages keeps them in
 *   its session. So every connection has a stable client id (`{clientId}-{i}`) and a persistent
 *   session (clean: false, session expiry), and a restarted worker with the same id gets them back.
 * - While InfluxDB refuses writes, the message is held unacknowledged and the write retried with
 *   backoff; on shutdown an unacknowledged message stays with the broker for the next session.
 */
import type net from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { batchFilter } from '@michi/proto';
import type { Logger } from 'pino';
import type { IngestOutcome } from './ingest-batch.js';
import type { CloudMetrics } from './metrics.js';
import type { GatewayIdentity, PilotDirectory } from './pilot-directory.js';

export interface BrokerConsumerOptions {
  /** mqtt://host:port or mqtts://host:port of the broker. */
  brokerUrl: string;
  /** Stable per worker; connection i uses `{clientId}-{i}` (MQTT 5 allows long ids; keep ≤ 23 characters for old brokers). */
  clientId: string;
  /** Connections, each a member of the shared subscription. */
  connections: number;
  /** The shared subscription group. */
  group: string;
  /** How long the broker keeps a disconnected connection's session and queue. */
  sessionExpirySeconds: number;
  username?: string | undefined;
  password?: string | undefined;
  /** CA for an mqtts:// broker. */
  ca?: Buffer | undefined;
  /** Backoff between write attempts while InfluxDB refuses, in ms. */
  retryDelayMs?: { min: number; max: number };
  /** What to subscribe to; default the shared subscription of `group` (sharedBatchFilter). */
  filters?: readonly string[] | undefined;
  /** The `transport` label of its metrics and log lines; default `worker`. */
  transport?: string | undefined;
}

/** Where a consumer hands each batch: BatchIngest (store it), or the cloud watching the workers (observe it, fleet-watch.ts). */
export interface BatchSink {
  ingest(gw: GatewayIdentity, payload: Uint8Array): Promise<IngestOutcome>;
}

export interface BrokerConsumerDeps {
  directory: PilotDirectory;
  ingest: BatchSink;
  metrics: CloudMetrics;
  logger: Logger;
}

export interface BrokerConsumer {
  /** Connections currently connected to the broker. */
  readonly connected: number;
  /** Waits for the writes in flight, acknowledges them, then disconnects (sessions stay on the broker). */
  close(): Promise<void>;
}

/** The shared-subscription filter every worker connection subscribes to. */
export function sharedBatchFilter(group: string): string {
  return `$share/${group}/${batchFilter()}`;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What became of one attempt at a batch: `stored` (InfluxDB accepted its readings), `unstorable`
 * (it never will be: undecodable, refused, or its topic names no gateway of the seeds; counted and
 * logged here or by BatchIngest) or `retry` (InfluxDB refused for now).
 */
export type BatchVerdict = 'stored' | 'unstorable' | 'retry';

/**
 * One attempt at ingesting a batch that arrived on `michi/v1/{pilot}/{gateway}/batch` through a
 * broker (this MQTT consumer or the NATS one, worker-nats.ts). The broker authenticated the
 * gateway and enforced the topic ACL; the gateway's identity is taken from the topic and checked
 * against the pilot definitions again.
 */
export function batchAttempt(
  deps: BrokerConsumerDeps,
  log: Logger,
  transport = 'worker',
): (topic: string, payload: Buffer, startedMs: number) => Promise<BatchVerdict> {
  const { directory, ingest, metrics } = deps;
  return async (topic, payload, startedMs) => {
    const parts = topic.split('/');
    const gw = parts.length === 5 && parts[4] === 'batch' ? directory.gatewayIdentity(parts[3]!) : undefined;
    if (!gw || gw.pilot !== parts[2]) {
      // The broker's ACL should have stopped it: a gateway the seeds do not know, or under another pilot.
      const reason = gw ? 'pilot_mismatch' : 'unknown_gateway';
      metrics.ingestRefusals.inc({ transport, reason });
      log.warn({ transport, topic, reason }, 'batch dropped: its topic names no gateway of the seeds');
      return 'unstorable';
    }
    const outcome = await ingest.ingest(gw, payload);
    if (outcome.status === 'accepted') {
      metrics.batchesAccepted.inc({ transport });
      metrics.ackSeconds.observe({ transport }, (performance.now() - startedMs) / 1_000);
      metrics.gatewayLastSeen.set({ pilot: gw.pilot, gateway: gw.gateway }, Date.now() / 1_000);
      return 'stored';
    }
    if (outcome.status === 'dropped') return 'unstorable';
    if (outcome.status === 'refused') {
      // The gateway is authenticated by the broker, but its batch names another gateway or pilot.
      metrics.ingestRefusals.inc({ transport, reason: outcome.reason });
      log.warn({ transport, pilot: gw.pilot, gateway: gw.gateway, reason: outcome.reason }, 'batch dropped: refused');
      return 'unstorable';
    }
    return 'retry';
  };
}

export async function startBrokerConsumer(opts: BrokerConsumerOptions, deps: BrokerConsumerDeps): Promise<BrokerConsumer> {
  const { metrics } = deps;
  const TRANSPORT = opts.transport ?? 'worker';
  const log = deps.logger.child({ component: TRANSPORT === 'worker' ? 'ingest-worker' : TRANSPORT });
  const retry = opts.retryDelayMs ?? { min: 100, max: 5_000 };
  const filters = opts.filters ?? [sharedBatchFilter(opts.group)];
  let closing = false;
  const inFlight = new Set<Promise<unknown>>();

  const attempt = batchAttempt(deps, log, TRANSPORT);

  /** Resolves true to acknowledge (stored, or never storable), false to leave it with the broker. */
  async function handle(topic: string, payload: Buffer): Promise<boolean> {
    const started = performance.now();
    metrics.pendingAcks.inc({ transport: TRANSPORT });
    try {
      for (let n = 0; ; n++) {
        const verdict = await attempt(topic, payload, started);
        if (verdict !== 'retry') return true;
        if (closing) return false;
        await sleep(Math.min(retry.max, retry.min * 2 ** Math.min(n, 16)));
        if (closing) return false;
      }
    } finally {
      metrics.pendingAcks.dec({ transport: TRANSPORT });
    }
  }

  const clients: MqttClient[] = [];
  for (let i = 0; i < opts.connections; i++) {
    const clientId = `${opts.clientId}-${i}`;
    const client = mqtt.connect(opts.brokerUrl, {
      clientId,
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: opts.sessionExpirySeconds },
      reconnectPeriod: 1_000,
      connectTimeout: 10_000,
      ...(opts.username !== undefined ? { username: opts.username } : {}),
      ...(opts.password !== undefined ? { password: opts.password } : {}),
      ...(opts.ca ? { ca: opts.ca } : {}),
      customHandleAcks(topic, message, _packet, done) {
        const work = handle(topic, message).then(
          (ack) => {
            if (ack) done(0);
            // else: no PUBACK; the broker redelivers it to this session after the reconnect.
          },
          (err: unknown) => {
            log.error({ transport: TRANSPORT, topic, err }, 'batch ingest failed unexpectedly; left with the broker');
            metrics.batchesRejected.inc({ reason: 'internal' });
          },
        );
        inFlight.add(work);
        void work.finally(() => inFlight.delete(work));
      },
    });
    client.on('connect', (connack) => {
      // Nagle would hold every PUBACK back ~15 ms (measured on loopback), and acks here are serial.
      (client.stream as net.Socket | undefined)?.setNoDelay?.(true);
      log.info({ clientId, sessionPresent: connack.sessionPresent }, 'worker connection up');
      // Given filters (the cloud's pilots, which change with its seeds) are subscribed again on every
      // connection; subscribing again to what the session has replaces it.
      if (!connack.sessionPresent || opts.filters) {
        client.subscribe([...filters], { qos: 1 }, (err, granted) => {
          for (const [i, filter] of filters.entries()) {
            const code = granted?.[i]?.qos;
            if (err || code === undefined || code > 2) log.error({ clientId, filter, err: err?.message, code }, 'subscription refused');
          }
        });
      }
    });
    client.on('error', (err) => log.warn({ clientId, err: err.message }, 'worker connection error'));
    clients.push(client);
  }
  await Promise.all(
    clients.map(
      (c) =>
        new Promise<void>((resolve, reject) => {
          if (c.connected) return resolve();
          const onError = (err: Error): void => {
            // A refused login will not change by retrying: fail start-up with it.
            if ((err as { code?: number }).code !== undefined) reject(err);
          };
          c.once('connect', () => {
            c.off('error', onError);
            resolve();
          });
          c.on('error', onError);
        }),
    ),
  ).catch(async (err: unknown) => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    throw err;
  });
  log.info(
    { brokerUrl: opts.brokerUrl, filters, connections: opts.connections, clientId: opts.clientId },
    'consuming batches from the broker',
  );

  return {
    get connected() {
      return clients.filter((c) => c.connected).length;
    },
    async close() {
      closing = true;
      await Promise.allSettled([...inFlight]);
      await Promise.all(clients.map((c) => c.endAsync(false)));
    },
  };
}
