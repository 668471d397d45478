/**
 * Starts a scale-out ingest worker (docs/scaling.md) from the cloud's configuration: the same ingest
 * path as the cloud (ingest-pipeline.ts) fed by a shared subscription on an external MQTT broker
 * (worker.ts, `worker.mode: mqtt`) or a durable JetStream consumer on a NATS cluster
 * (worker-nats.ts, `worker.mode: nats`) instead of the cloud's own listeners, and the cloud's metrics listener
 * (metrics-server.ts) on `worker.metrics`, which also answers /health: 200 while every InfluxDB
 * server takes writes and at least one broker connection is up, else 503, naming each server's state. Every collaborator can be passed in;
 * the defaults are the real ones. close() acknowledges what is written, leaves the rest with the
 * broker, then stops.
 */
import { readFileSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { batchFilter, ConfigError, loadSeeds, type Pilot } from '@michi/proto';
import type { CloudConfig } from './config.js';
import { openIngestPipeline } from './ingest-pipeline.js';
import { CloudMetrics } from './metrics.js';
import { startMetricsServer, type HealthReport } from './metrics-server.js';
import { startBrokerConsumer, type BrokerConsumer, type BrokerConsumerDeps } from './worker.js';
import { startNatsConsumer } from './worker-nats.js';

export interface IngestWorkerDeps {
  logger?: Logger;
  /** Default: loadSeeds(config.seedsDir). */
  pilots?: readonly Pilot[];
  metrics?: CloudMetrics;
  /** The clock ingest checks source timestamps against and stamps `recv_ms` with. */
  now?: () => number;
}

export interface IngestWorkerService {
  /** http://host:port/metrics of `worker.metrics`; /health is beside it. */
  readonly metricsUrl: string;
  readonly metrics: CloudMetrics;
  /** What /health answers. */
  health(): HealthReport;
  close(): Promise<void>;
}

/** The worker's broker password, from the variable `worker.passwordEnv` names; a missing variable is an error. */
export function workerPassword(config: CloudConfig): string | undefined {
  const name = config.worker.passwordEnv;
  if (name === undefined) return undefined;
  const value = config.resolveSecret(`env:${name}`);
  if (value === undefined) throw new ConfigError(`worker.passwordEnv names ${name}, but that environment variable is not set`);
  return value;
}

/** Batches the cloud's watch pulls ahead of the one it observes (NATS): ordered, one at a time, without a round trip each. */
const WATCH_PULL_WINDOW = 256;

/**
 * The consumer `worker.mode` names, on the broker and with the credentials of the `worker` section:
 * a worker's share of the batches, or, with `watch`, every batch of the watch's pilots in order under
 * its own client id or durable consumer, for the cloud watching the workers (fleet-watch.ts).
 */
export async function startConfiguredConsumer(
  config: CloudConfig,
  deps: BrokerConsumerDeps,
  watch?: { clientId: string; pilots: readonly string[] },
): Promise<BrokerConsumer> {
  const w = config.worker;
  const password = workerPassword(config);
  const transport = watch ? 'watch' : 'worker';
  if (w.mode === 'nats') {
    const settings = watch
      ? { ...w.nats, durable: watch.clientId, maxInFlight: 1, pullWindow: WATCH_PULL_WINDOW, name: watch.clientId, pilots: watch.pilots }
      : { ...w.nats, name: w.clientId };
    return startNatsConsumer({ ...settings, username: w.username, password, caFile: w.caFile, transport }, deps);
  }
  return startBrokerConsumer(
    {
      brokerUrl: w.brokerUrl,
      clientId: watch?.clientId ?? w.clientId,
      // One connection keeps the batches in the order the broker has them; a plain subscription gets every batch.
      connections: watch ? 1 : w.connections,
      group: w.group,
      filters: watch?.pilots.map((pilot) => batchFilter(pilot)),
      sessionExpirySeconds: w.sessionExpirySeconds,
      username: w.username,
      password,
      ca: w.caFile ? readFileSync(w.caFile) : undefined,
      transport,
    },
    deps,
  );
}

export async function startIngestWorker(config: CloudConfig, deps: IngestWorkerDeps = {}): Promise<IngestWorkerService> {
  const w = config.worker;
  const logger = deps.logger ?? pino({ level: config.log.level, base: { service: 'michi-ingest-worker', clientId: w.clientId } });
  const pilots = deps.pilots ?? loadSeeds(config.seedsDir);
  const metrics = deps.metrics ?? new CloudMetrics();
  // Before anything connects: a missing password variable stops start-up with a message.
  workerPassword(config);
  // Each worker keeps the rollups of what it writes (docs/reports.md), with its own progress point.
  const pipeline = await openIngestPipeline(config, { logger, pilots, metrics, now: deps.now ?? Date.now, rollupInstance: w.clientId });
  const { directory, ingest, influxHealth } = pipeline;
  let consumer: BrokerConsumer | undefined;
  try {
    await influxHealth.start();
    consumer = await startConfiguredConsumer(config, { directory, ingest, metrics, logger });
    const broker = consumer;
    // One NATS connection fails over between the cluster's nodes by itself.
    const connections = w.mode === 'nats' ? 1 : w.connections;
    const health = (): HealthReport => {
      const influx = influxHealth.up;
      return {
        ok: influx && broker.connected > 0,
        influx: influx ? 'up' : 'down',
        // Which server is down: only its pilots' batches wait (influxServers).
        influxServers: influxHealth.status(),
        connections: broker.connected,
        of: connections,
      };
    };
    const listener = await startMetricsServer(w.metrics, metrics, logger, health);
    pipeline.rollups?.start();
    logger.info({ metricsUrl: listener.url }, 'michi ingest worker started');
    let closing: Promise<void> | undefined;
    return {
      metricsUrl: listener.url,
      metrics,
      health,
      close() {
        closing ??= (async () => {
          await broker.close();
          await pipeline.close();
          await listener.close();
          logger.info('michi ingest worker stopped');
        })();
        return closing;
      },
    };
  } catch (err) {
    await consumer?.close();
    await pipeline.close();
    throw err;
  }
}
