/**
 * The cloud in front of scale-out ingest workers (docs/scaling.md, "Alarms and the live feed with
 * workers"). Workers share the batches at random, so none of them sees every reading of a source in
 * order, which the alarm engine's per-(pilot, source, rule) state needs, and each would push to its
 * own (empty) live feed. So the cloud reads every batch as well, from the same broker, under its
 * own stable identity: a plain subscription with a persistent session (MQTT), or a durable consumer
 * of its own (NATS; interest retention keeps a batch until the workers' consumer and this one have
 * acknowledged it). It decodes and validates each batch as the workers do and hands it to its
 * latest-state cache (the live feed and the API), alarm engine and record, without writing it:
 * the workers store. One cloud per pilot, so each alarm is raised once and each state pushed once:
 * it reads only the batches of the pilots in its seeds, so that clouds serving different groups of
 * pilots can watch the same broker.
 */
import type { Logger } from 'pino';
import { Gauge } from 'prom-client';
import { ConfigError, type Pilot } from '@michi/proto';
import type { CloudConfig } from './config.js';
import type { BatchIngest } from './ingest-batch.js';
import type { CloudMetrics } from './metrics.js';
import type { PilotDirectory } from './pilot-directory.js';
import type { BrokerConsumer } from './worker.js';
import { startConfiguredConsumer } from './worker-service.js';

export interface FleetWatchDeps {
  /** The pilots the cloud serves (its seeds): it reads their batches only. */
  pilots: readonly Pilot[];
  directory: PilotDirectory;
  ingest: BatchIngest;
  metrics: CloudMetrics;
  logger: Logger;
}

const CONNECTIONS_METRIC = 'michi_cloud_watch_connections';

export async function startFleetWatch(config: CloudConfig, deps: FleetWatchDeps): Promise<BrokerConsumer> {
  const { clientId } = config.watch;
  // The workers' own identity would make the cloud one more worker, taking a share instead of every batch.
  if (config.worker.mode === 'nats' && clientId === config.worker.nats.durable)
    throw new ConfigError(`watch.clientId ${clientId} is the workers' durable consumer (worker.nats.durable); give the cloud its own`);
  if (config.worker.mode === 'mqtt' && clientId === config.worker.clientId)
    throw new ConfigError(`watch.clientId ${clientId} is a worker's client id (worker.clientId); give the cloud its own`);
  const { ingest, directory, metrics, logger } = deps;
  const consumer = await startConfiguredConsumer(
    config,
    { directory, metrics, logger, ingest: { ingest: (gw, payload) => Promise.resolve(ingest.observe(gw, payload)) } },
    { clientId, pilots: deps.pilots.map((p) => p.id) },
  );
  // Without it the live feed freezes and every gateway looks silent: make the link itself visible.
  const registry = deps.metrics.registry;
  registry.removeSingleMetric(CONNECTIONS_METRIC);
  new Gauge({
    name: CONNECTIONS_METRIC,
    help: "The cloud's connections to the workers' broker that it reads every batch through (watch.enabled): 1 when up.",
    registers: [registry],
    collect() {
      this.set(consumer.connected);
    },
  });
  return consumer;
}
