/**
 * The ingest path the cloud (cloud-service.ts) and the scale-out worker (worker-service.ts) share:
 * pilot directory, InfluxDB clients (credentials checked before anything listens), and per InfluxDB
 * server (influx, influxServers) a health fed by every write and a group-committing writer; the
 * latest-state cache and BatchIngest, which decodes, validates and stores a gateway's batch with
 * the writer of the server holding its pilot's data. Each service adds its own transports.
 */
import type { Logger } from 'pino';
import type { Pilot } from '@michi/proto';
import type { CloudConfig } from './config.js';
import { checkInfluxAccess } from './influx-access.js';
import { InfluxHealth } from './influx-health.js';
import { InfluxServers } from './influx-servers.js';
import { InfluxServersHealth } from './influx-servers-health.js';
import { InfluxWriter } from './influx-writer.js';
import { BatchIngest, type IngestObserver } from './ingest-batch.js';
import { LatestState } from './latest-state.js';
import type { CloudMetrics } from './metrics.js';
import { PilotDirectory } from './pilot-directory.js';
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
  /** Every InfluxDB server and which pilots' data it holds; `influx.query()` reads each pilot's from its server. */
  readonly influx: InfluxServers;
  /** One per server; not started: a service that reports it calls start(). */
  readonly influxHealth: InfluxServersHealth;
  /** One per server, the default (`influx`) first. */
  readonly writers: readonly InfluxWriter[];
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
  const influx = new InfluxServers(config, pilots);
  // Wrong InfluxDB credentials stop start-up here, with a message saying which; an unreachable InfluxDB does not.
  for (const [i, server] of influx.servers.entries()) {
    // Where its credentials are set: the entry's own, or those it takes from influx.
    const entry = config.influxServers[i - 1];
    const section = entry?.username !== undefined || entry?.passwordEnv !== undefined ? `influxServers[${i - 1}]` : 'influx';
    const access = await checkInfluxAccess(server.http, section).catch((err: unknown) => {
      influx.close();
      throw err;
    });
    if (!access.ok)
      logger.warn({ influxServer: server.name, reason: access.reason }, 'could not check the InfluxDB credentials; starting anyway');
  }
  const perServer = influx.servers.map((server) => {
    const log = logger.child({ influxServer: server.name });
    const health = new InfluxHealth(server.http, { intervalMs: server.settings.healthIntervalMs }, { logger: log });
    const writer = new InfluxWriter(server.http, server.settings, {
      metrics,
      logger: log.child({ component: 'influx-writer' }),
      observer: health,
    });
    return { server, health, writer };
  });
  const influxHealth = new InfluxServersHealth(perServer.map(({ server, health }) => ({ name: server.name, health })));
  const writers = new Map(perServer.map(({ server, writer }) => [server, writer]));
  const writerOf = (pilot: string): InfluxWriter => writers.get(influx.of(pilot))!;
  const latest = new LatestState(pilots);
  // Rollups go through a writer of their own: a rollup line InfluxDB refused must never fail (and so
  // acknowledge unstored) the gateways' batches a shared request would have carried.
  const instance = config.rollups.enabled ? deps.rollupInstance : undefined;
  const rollupWriters =
    instance !== undefined
      ? new Map(
          influx.servers.map((server) => [
            server,
            new InfluxWriter(
              server.http,
              { ...server.settings, maxConcurrentWrites: 1 },
              { logger: logger.child({ component: 'rollup-writer', influxServer: server.name }) },
            ),
          ]),
        )
      : undefined;
  const rollups =
    rollupWriters !== undefined && instance !== undefined
      ? new RollupJob(
          {
            ...config.rollups,
            instance,
            // Workers leave the first start's backfill to the cloud, which answers the KPIs.
            backfillDays: instance === ROLLUP_CLOUD_INSTANCE ? config.rollups.backfillDays : 0,
            pastMs: config.timestampWindow.pastMs,
            // A reading is marked after its write: the writer's queueing and the write's own deadline.
            watermarkMarginMs: config.influx.flushIntervalMs + 2 * Math.max(...influx.servers.map((s) => s.settings.timeoutMs)) + 60_000,
          },
          {
            query: influx.query(),
            writer: rollupWriters.get(influx.default)!,
            writerOf: (pilot) => rollupWriters.get(influx.of(pilot))!,
            pilots,
            logger,
            metrics,
            now: deps.now,
          },
        )
      : undefined;
  const ingest = new BatchIngest(
    { maxPayloadBytes: config.mqtt.maxPayloadBytes, timestampWindow: config.timestampWindow },
    {
      directory,
      writer: writers.get(influx.default)!,
      writerOf,
      latest,
      metrics,
      logger,
      now: deps.now,
      rollups,
      ...(deps.observer ? { observer: deps.observer } : {}),
    },
  );
  return {
    directory,
    influx,
    influxHealth,
    writers: [...writers.values()],
    latest,
    ingest,
    rollups,
    async close() {
      influxHealth.close();
      await rollups?.close();
      await Promise.all([...(rollupWriters?.values() ?? []), ...writers.values()].map((w) => w.close()));
      influx.close();
    },
  };
}
