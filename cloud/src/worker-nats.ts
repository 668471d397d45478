/**
 * NATS mode of the ingest worker (docs/scaling.md, "NATS JetStream"): gateways publish their
 * batches over MQTT 3.1.1 to any node of a NATS cluster; the workers share one durable pull
 * consumer on the stream that holds them, ingest each batch exactly as the MQTT worker does
 * (batchAttempt in worker.ts) and acknowledge it only after InfluxDB accepted its readings.
 *
 * Why it is built this way (nats-server 2.15.3, server/mqtt.go mqttInitiateMsgDelivery): for an
 * MQTT QoS 1 publish the server first delivers the message as a plain NATS publish, which a stream
 * of our own would store without telling anyone whether it did, then stores it in `$MQTT_msgs`
 * with an acknowledged (replicated) JetStream write, and sends the PUBACK only after that write.
 * So `$MQTT_msgs` is the one place an acknowledged batch is certain to be; its retention is
 * interest-based, so the durable consumer keeps every batch there until a worker acks it.
 * - Storage retry (InfluxDB refuses): nak with a growing delay; JetStream redelivers, perhaps to
 *   another worker. Undecodable or refused batches: term (counted), so they never come back.
 * - A worker that dies holding batches: JetStream redelivers them after `ackWaitSeconds`. Readings
 *   overwrite by identity (pilot, source, kind, timestamp), so a redelivery stores nothing twice.
 */
import { readFileSync } from 'node:fs';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JsMsg,
} from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { Counter } from 'prom-client';
import { ConfigError } from '@michi/proto';
import type { Logger } from 'pino';
import { batchAttempt, type BrokerConsumer, type BrokerConsumerDeps } from './worker.js';
import type { NatsWorkerSettings } from './worker-nats-settings.js';

export interface NatsConsumerOptions extends Omit<NatsWorkerSettings, 'cluster'> {
  /** Names the connection in the server's monitoring (connz). */
  name: string;
  username?: string | undefined;
  password?: string | undefined;
  /** CA file for tls:// servers. */
  caFile?: string | undefined;
  /** The `transport` label of its metrics and log lines; default `worker`. */
  transport?: string | undefined;
  /** Messages pulled ahead of those being handled; default maxInFlight. */
  pullWindow?: number | undefined;
  /** Only these pilots' batches (the cloud's watch: the pilots it serves); default every pilot's. */
  pilots?: readonly string[] | undefined;
}
/** Where NATS stores MQTT QoS 1 publishes: `$MQTT.msgs.` + the subject of the topic (`/` → `.`). */
export const MQTT_MSGS_STREAM = '$MQTT_msgs';
const MQTT_MSGS_PREFIX = '$MQTT.msgs.';

/** The subjects of `michi/v1/{pilot}/+/batch` in `stream` (NATS maps MQTT topic levels to subject tokens). */
export function batchFilterSubject(stream: string, pilot = '*'): string {
  return `${stream === MQTT_MSGS_STREAM ? MQTT_MSGS_PREFIX : ''}michi.v1.${pilot}.*.batch`;
}

/** The MQTT topic a batch was published on, from its subject: its last five tokens (ids contain no '.'). */
export function batchTopicOfSubject(subject: string): string {
  return subject.split('.').slice(-5).join('/');
}

/** Delay before JetStream redelivers a batch InfluxDB refused: 100 ms doubling to 5 s by delivery. */
export function retryDelayMs(deliveryCount: number): number {
  return Math.min(5_000, 100 * 2 ** Math.min(Math.max(deliveryCount - 1, 0), 16));
}

/** The NATS worker's own counters, registered once per registry beside the cloud's. */
function natsWorkerCounters(deps: BrokerConsumerDeps): { naks: Counter<'reason'>; redelivered: Counter } {
  const registry = deps.metrics.registry;
  const get = <T extends string>(name: string, help: string, labelNames: T[]): Counter<T> =>
    (registry.getSingleMetric(name) as Counter<T> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });
  return {
    naks: get(
      'michi_cloud_worker_redeliveries_total',
      'Batches handed back to JetStream for redelivery (nak), by reason: storage_retry (InfluxDB refused), shutdown.',
      ['reason'],
    ),
    redelivered: get(
      'michi_cloud_worker_redelivered_batches_total',
      'Batches received that JetStream had delivered before (a nak, or a worker that died holding them).',
      [],
    ),
  };
}

export async function startNatsConsumer(opts: NatsConsumerOptions, deps: BrokerConsumerDeps): Promise<BrokerConsumer> {
  const { metrics } = deps;
  const TRANSPORT = opts.transport ?? 'worker';
  const log = deps.logger.child({ component: TRANSPORT === 'worker' ? 'ingest-worker' : TRANSPORT, transport: 'nats' });
  const { naks, redelivered } = natsWorkerCounters(deps);
  const attempt = batchAttempt(deps, log, TRANSPORT);
  const nc: NatsConnection = await connect({
    servers: opts.servers,
    name: opts.name,
    ...(opts.username !== undefined ? { user: opts.username } : {}),
    ...(opts.password !== undefined ? { pass: opts.password } : {}),
    ...(opts.caFile !== undefined ? { tls: { ca: readFileSync(opts.caFile, 'utf8') } } : {}),
    // A worker outlives any one node: keep trying the others for ever.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    timeout: 10_000,
  });
  let up = true;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') up = false;
      else if (s.type === 'reconnect') up = true;
      if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error')
        log.info({ status: s.type, server: 'server' in s ? s.server : undefined }, 'nats connection status');
    }
  })();
  try {
    // Right after a node died, JetStream answers nothing until its leaders are elected again: wait.
    for (let n = 0; ; n++) {
      try {
        await ensureConsumer(nc, opts, log);
        break;
      } catch (err) {
        if (err instanceof JetStreamApiError && !isTransient(err)) throw err;
        // Waiting will not grant a permission: say which, and stop.
        if (isPermissionViolation(err))
          throw new ConfigError(
            `NATS refused the user ${opts.username ?? '(none)'} this JetStream request: ${(err as Error).message}; ` +
              'regenerate the node configurations (michi-ingest-worker --nats-config DIR) from this configuration and reload the nodes (SIGHUP)',
          );
        if (nc.isClosed()) throw err;
        log.warn({ err: (err as Error).message, attempt: n + 1 }, 'JetStream not ready; retrying');
        await new Promise((r) => setTimeout(r, retryDelayMs(n + 1) * 4));
      }
    }
  } catch (err) {
    await nc.close();
    throw err;
  }
  const consumer = await jetstream(nc).consumers.get(opts.stream, opts.durable);
  const messages = await consumer.consume({ max_messages: opts.pullWindow ?? opts.maxInFlight });
  let closing = false;
  const inFlight = new Set<Promise<void>>();

  async function handle(msg: JsMsg): Promise<void> {
    if (closing) {
      // Not started: give it back at once rather than after ackWait.
      naks.inc({ reason: 'shutdown' });
      msg.nak();
      return;
    }
    if (msg.info.deliveryCount > 1) redelivered.inc();
    const topic = batchTopicOfSubject(msg.subject);
    const started = performance.now();
    metrics.pendingAcks.inc({ transport: TRANSPORT });
    try {
      const verdict = await attempt(topic, Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength), started);
      if (verdict === 'stored') msg.ack();
      else if (verdict === 'unstorable') msg.term(`unstorable batch on ${topic}`);
      else {
        naks.inc({ reason: 'storage_retry' });
        msg.nak(retryDelayMs(msg.info.deliveryCount));
      }
    } catch (err) {
      log.error({ topic, err }, 'batch ingest failed unexpectedly; handed back for redelivery');
      metrics.batchesRejected.inc({ reason: 'internal' });
      msg.nak(retryDelayMs(msg.info.deliveryCount));
    } finally {
      metrics.pendingAcks.dec({ transport: TRANSPORT });
    }
  }

  const loop = (async () => {
    for await (const msg of messages) {
      // The pull window bounds what is buffered; this bounds what is being ingested.
      while (inFlight.size >= opts.maxInFlight) await Promise.race(inFlight);
      const work = handle(msg);
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work));
    }
  })().catch((err: unknown) => log.error({ err }, 'nats consumer stopped'));
  log.info(
    { servers: opts.servers, stream: opts.stream, durable: opts.durable, maxInFlight: opts.maxInFlight },
    'consuming batches from JetStream',
  );

  return {
    get connected() {
      return up && !nc.isClosed() ? 1 : 0;
    },
    async close() {
      closing = true;
      await messages.close();
      await loop;
      await Promise.allSettled([...inFlight]);
      // Flushes the acks and naks before the connection goes; with no server reachable, do not wait
      // for one (JetStream redelivers whatever was not acked after ackWaitSeconds).
      const drained = nc.drain().then(
        () => true,
        () => false,
      );
      const timedOut = new Promise<false>((resolve) => setTimeout(() => resolve(false), 5_000).unref());
      if (!(await Promise.race([drained, timedOut]))) await nc.close();
    },
  };
}

/**
 * Creates the stream when NATS has not yet (it does on the first MQTT connection to the account),
 * with the configuration NATS gives it, so that no batch published before that is lost to a
 * stream with no interest; then creates or updates the durable consumer.
 */
async function ensureConsumer(nc: NatsConnection, opts: NatsConsumerOptions, log: Logger): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const exists = await jsm.streams.info(opts.stream).then(
    () => true,
    (err: unknown) => {
      if (isNotFound(err, JetStreamApiCodes.StreamNotFound)) return false;
      throw err;
    },
  );
  if (!exists) {
    if (opts.stream !== MQTT_MSGS_STREAM)
      throw new ConfigError(
        `worker.nats.stream names ${opts.stream}, which does not exist in JetStream; create it (subjects ${batchFilterSubject(opts.stream)}) first`,
      );
    await jsm.streams
      .add({
        name: MQTT_MSGS_STREAM,
        subjects: [`${MQTT_MSGS_PREFIX}>`],
        storage: StorageType.File,
        retention: RetentionPolicy.Interest,
        num_replicas: opts.replicas,
      })
      .catch(async (err: unknown) => {
        // NATS may have created it meanwhile.
        if (
          !(await jsm.streams.info(opts.stream).then(
            () => true,
            () => false,
          ))
        )
          throw err;
      });
    log.info({ stream: opts.stream, replicas: opts.replicas }, 'created the MQTT messages stream');
  }
  const filters = opts.pilots?.map((pilot) => batchFilterSubject(opts.stream, pilot)) ?? [batchFilterSubject(opts.stream)];
  const config = {
    durable_name: opts.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    // One subject as `filter_subject`, as consumers made before NATS 2.10 have it.
    ...(filters.length === 1 ? { filter_subject: filters[0] } : { filter_subjects: filters }),
    ack_wait: nanos(opts.ackWaitSeconds * 1_000),
    max_ack_pending: opts.maxAckPending,
    // Never give up on a batch: one that can never be stored is terminated by the worker, not here.
    max_deliver: -1,
  };
  const current = await jsm.consumers.info(opts.stream, opts.durable).catch((err: unknown) => {
    if (isNotFound(err, JetStreamApiCodes.ConsumerNotFound)) return undefined;
    throw err;
  });
  if (!current) {
    await jsm.consumers.add(opts.stream, config);
    log.info({ stream: opts.stream, durable: opts.durable }, 'created the durable consumer');
  } else {
    const currentFilters = current.config.filter_subjects ?? (current.config.filter_subject ? [current.config.filter_subject] : []);
    // The cloud's pilots change with its seeds: its consumer follows.
    const filtersChanged = currentFilters.join('\n') !== filters.join('\n');
    if (filtersChanged || current.config.ack_wait !== config.ack_wait || current.config.max_ack_pending !== config.max_ack_pending) {
      await jsm.consumers.update(opts.stream, opts.durable, {
        ack_wait: config.ack_wait,
        max_ack_pending: config.max_ack_pending,
        ...(filters.length === 1 ? { filter_subject: filters[0], filter_subjects: [] } : { filter_subject: '', filter_subjects: filters }),
      });
      if (filtersChanged) log.info({ durable: opts.durable, filters }, 'durable consumer now filters these subjects');
    }
  }
}

function isPermissionViolation(err: unknown): boolean {
  return err instanceof Error && (err.name === 'PermissionViolationError' || /permissions violation/i.test(err.message));
}

function isNotFound(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

/** JetStream API errors that clear up by themselves (no leader yet, cluster not current). */
function isTransient(err: JetStreamApiError): boolean {
  return err.status === 503 || err.status === 408 || err.code === 10008; /* JetStream temporarily unavailable */
}
