/**
 * The ingest path the cloud (cloud-service.ts) and the scale-out worker (worker-service.ts) share:
 * pilot directory, InfluxDB client (credentials checked before anything listens), InfluxDB health
 * fed by every write, the group-committing writer, the latest-state cache and BatchIngest, which
 * decodes, validates and stores a gateway's batch. Each service adds its own transports.
 */
import type { Logger } from 'pino';
import type { Pilot } from '@michi/proto';
import { influxEndpoint, type CloudConfig } from './config.js';
import { checkInfluxAccess } from './influx-access.js';
import { InfluxHealth } from './influx-health.js';
import { InfluxHttp } from './influx-http.js';
import { InfluxWriter } from './influx-writer.js';
import { BatchIngest, type IngestObserver } from './ingest-batch.js';
import { LatestState } from './latest-state.js';
import type { CloudMetrics } from './metrics.js';
import { PilotDirectory } from './pilot-directory.js';
import { InfluxQuery } from './influx-query.js';
import { ROLLUP_CLOUD_INSTANCE, RollupJob } from './rollups/rollup-job.js';

export interface IngestPipelineDeps {
  logger: Logger;
  pilots: readonly Pilot[];
  metrics: CloudMetrics;
  /** The clock ingest checks source timestamps against and stamps `recv_ms` with. */
  now: () => number;
  /** Sees each batch's valid readings as ingest prepares them (the cloud's alarm engine and record, fanned out by ingest-observers.ts). */
  observer?: IngestObserver | undefined;
  /**
   * Run the rollup job (when rollups.enabled) under this name, the tag of its progress point: the
   * cloud as ROLLUP_CLOUD_INSTANCE, each scale-out worker as its worker.clientId. Undefined: no job.
   */
  rollupInstance?: string | undefined;
}

export interface IngestPipeline {
  readonly directory: PilotDirectory;
  readonly influx: InfluxHttp;
  /** Not started: a service that reports it calls start(). */
  readonly influxHealth: InfluxHealth;
  readonly writer: InfluxWriter;
  readonly latest: LatestState;
  readonly ingest: BatchIngest;
  /** Not started; undefined when not asked for or rollups.enabled is false. */
  readonly rollups: RollupJob | undefined;
  /** Stops the health checks, waits for the writes in flight, then closes the InfluxDB client. */
  close(): Promise<void>;
}

export async function openIngestPipeline(config: CloudConfig, deps: IngestPipelineDeps): Promise<IngestPipeline> {
  const { logger, pilots, metrics } = deps;
  const directory = new PilotDirectory(pilots, config.resolveSecret, logger);
  const influx = new InfluxHttp(influxEndpoint(config));
  // Wrong InfluxDB credentials stop start-up here, with a message saying which; an unreachable InfluxDB does not.
  const access = await checkInfluxAccess(influx).catch((err: unknown) => {
    influx.close();
    throw err;
  });
  if (!access.ok) logger.warn({ reason: access.reason }, 'could not check the InfluxDB credentials; starting anyway');
  const influxHealth = new InfluxHealth(influx, { intervalMs: config.influx.healthIntervalMs }, { logger });
  const writer = new InfluxWriter(influx, config.influx, {
    metrics,
    logger: logger.child({ component: 'influx-writer' }),
    observer: influxHealth,
  });
  const latest = new LatestState(pilots);
  // Rollups go through a writer of their own: a rollup line InfluxDB refused must never fail (and so
  // acknowledge unstored) the gateways' batches a shared request would have carried.
  const instance = config.rollups.enabled ? deps.rollupInstance : undefined;
  const rollupWriter =
    instance !== undefined
      ? new InfluxWriter(influx, { ...config.influx, maxConcurrentWrites: 1 }, { logger: logger.child({ component: 'rollup-writer' }) })
      : undefined;
  const rollups =
    rollupWriter !== undefined && instance !== undefined
      ? new RollupJob(
          {
            ...config.rollups,
            instance,
            // Workers leave the first start's backfill to the cloud, which answers the KPIs.
            backfillDays: instance === ROLLUP_CLOUD_INSTANCE ? config.rollups.backfillDays : 0,
            pastMs: config.timestampWindow.pastMs,
            // A reading is marked after its write: the writer's queueing and the write's own deadline.
            watermarkMarginMs: config.influx.flushIntervalMs + 2 * config.influx.timeoutMs + 60_000,
          },
          { query: new InfluxQuery(influx), writer: rollupWriter, pilots, logger, metrics, now: deps.now },
        )
      : undefined;
  const ingest = new BatchIngest(
    { maxPayloadBytes: config.mqtt.maxPayloadBytes, timestampWindow: config.timestampWindow },
    { directory, writer, latest, metrics, logger, now: deps.now, rollups, ...(deps.observer ? { observer: deps.observer } : {}) },
  );
  return {
    directory,
    influx,
    influxHealth,
    writer,
    latest,
    ingest,
    rollups,
    async close() {
      influxHealth.close();
      await rollups?.close();
      await rollupWriter?.close();
      await writer.close();
      influx.close();
    },
  };
}
