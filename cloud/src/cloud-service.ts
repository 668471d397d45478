/**
 * Starts the cloud service from a loaded configuration: pilot definitions, InfluxDB writer and
 * query, latest-state cache (rebuilt from InfluxDB), MQTT ingest, gRPC ingest (its health status
 * following InfluxDB's) and HTTP API. Every collaborator
 * can be passed in; the defaults are the real ones. close() stops taking data first, then lets the
 * writes in flight finish, then stops the API.
 */
import { pino, type Logger } from 'pino';
import { ConfigError, loadSeeds, loadTls, type Pilot } from '@michi/proto';
import type { CloudConfig } from './config.js';
import { AlarmEngine, AlarmStore } from './alarms/index.js';
import { resolveWebhooks } from './alarms/webhook-config.js';
import { WebhookOutbox } from './alarms/webhook-outbox.js';
import { AuditLog } from './audit-log.js';
import { TokenAuthenticator } from './auth.js';
import { buildHttpApi } from './http-api.js';
import { startFleetWatch } from './fleet-watch.js';
import { fanOutObservers } from './ingest-observers.js';
import { startGrpcIngest, type GrpcIngestServer } from './ingest-grpc.js';
import { ROLLUP_CLOUD_INSTANCE, type RollupJob } from './rollups/rollup-job.js';
import { openIngestPipeline } from './ingest-pipeline.js';
import { startMqttIngest, type MqttIngestServer } from './ingest-mqtt.js';
import type { LiveFeed } from './live/index.js';
import { CloudMetrics } from './metrics.js';
import { startMetricsServer, type MetricsServer } from './metrics-server.js';
import { openOperatingRecorder, type OperatingRecorder } from './records/index.js';
import type { BrokerConsumer } from './worker.js';

export interface CloudDeps {
  logger?: Logger;
  /** Default: loadSeeds(config.seedsDir). */
  pilots?: readonly Pilot[];
  metrics?: CloudMetrics;
  /** The clock ingest checks source timestamps against and stamps `recv_ms` with. */
  now?: () => number;
}

export interface CloudService {
  readonly mqttPort: number;
  /** The MQTT TLS listener's port, when mqtt.tls is configured. */
  readonly mqttTlsPort: number | undefined;
  /** The gRPC ingest's port, when grpc.enabled. */
  readonly grpcPort: number | undefined;
  readonly httpPort: number;
  /** http://host:port of the HTTP API and dashboard. */
  readonly url: string;
  /** http://host:port/metrics of the metrics listener (metrics.host, metrics.port), not the API's port. */
  readonly metricsUrl: string;
  readonly metrics: CloudMetrics;
  /** The WebSocket live feed, to push a pilot's operators a message (pushToOperators). */
  readonly live: LiveFeed;
  /** The alarm engine, when alarms.enabled. */
  readonly alarms: AlarmEngine | undefined;
  /** The operating-state recorder, when records.enabled. */
  readonly records: OperatingRecorder | undefined;
  /** The rollup job (rollups.enabled), e.g. to wait until it has caught up. */
  readonly rollups: RollupJob | undefined;
  close(): Promise<void>;
}

/** A database that cannot be opened is the configuration's fault (a path, a permission): say which setting. */
function openAlarmStore(file: string): AlarmStore {
  try {
    return new AlarmStore(file);
  } catch (err) {
    throw new ConfigError(`alarms.dbFile: cannot open the alarm database ${file}: ${(err as Error).message}`, { file });
  }
}

export async function startCloud(config: CloudConfig, deps: CloudDeps = {}): Promise<CloudService> {
  const logger = deps.logger ?? pino({ level: config.log.level, base: { service: 'michi-cloud' } });
  const pilots = deps.pilots ?? loadSeeds(config.seedsDir);
  const metrics = deps.metrics ?? new CloudMetrics();
  const now = deps.now ?? Date.now;
  // API tokens first: a token without its secret stops start-up before anything listens.
  const pilotIds = pilots.map((p) => p.id);
  const auth = new TokenAuthenticator(config.auth, config.resolveSecret, pilotIds);
  const audit = new AuditLog({ logger, file: config.auth.auditFile });

  // Webhook secrets next, for the same reason; then the alarm database, before anything listens:
  // an unwritable dbFile stops start-up.
  const webhooks = resolveWebhooks(config.alarms.webhooks, config.resolveSecret);
  const store = config.alarms.enabled ? openAlarmStore(config.alarms.dbFile) : undefined;
  // A sink of the store: each change is queued for the webhooks in the transaction that stores it.
  const outbox = store && webhooks.length > 0 ? new WebhookOutbox(store.db, webhooks, { logger, metrics }) : undefined;
  if (outbox) store!.addChangeSink(outbox);
  const alarms = store
    ? new AlarmEngine(
        pilots,
        {
          lateAfterMs: config.alarms.lateAfterS * 1_000,
          tickIntervalMs: config.alarms.tickIntervalMs,
          keepClearedMs: config.alarms.keepClearedDays * 86_400_000,
          keepHistoryMs: config.alarms.keepHistoryDays * 86_400_000,
        },
        { store, logger, metrics, now },
      )
    : undefined;
  // Likewise the record: an unwritable records.dbFile stops start-up.
  let records: OperatingRecorder | undefined;
  try {
    records = config.records.enabled ? openOperatingRecorder(config, pilots, { logger, metrics, now }) : undefined;
  } catch (err) {
    alarms?.close();
    store?.close();
    throw err;
  }
  /** The engine saves its unsaved counts (queued for the webhooks too), the outbox stops, then the databases close. */
  const closeAlarms = async (): Promise<void> => {
    alarms?.close();
    await outbox?.close();
    store?.close();
    records?.close();
  };
  let pipeline;
  try {
    pipeline = await openIngestPipeline(config, {
      logger,
      pilots,
      metrics,
      now,
      observer: fanOutObservers([alarms, records], logger),
      rollupInstance: ROLLUP_CLOUD_INSTANCE,
    });
  } catch (err) {
    await closeAlarms();
    throw err;
  }
  const { directory, influx, influxHealth, writers, latest, ingest, rollups } = pipeline;
  const query = influx.query();
  try {
    await latest.rebuild(query, logger);
  } catch (err) {
    // Start anyway: ingest will not acknowledge until InfluxDB is back, and the map fills as data arrives.
    logger.warn({ err: (err as Error).message }, 'could not rebuild the latest vehicle states from InfluxDB; starting with an empty map');
  }

  const api = await buildHttpApi({
    directory,
    latest,
    query,
    metrics,
    logger,
    auth,
    audit,
    dashboardDir: config.dashboardDir,
    tileOrigins: config.http.tileOrigins,
    now,
    live: { allowedOrigins: config.api.allowedOrigins, maxConnectionsPerToken: config.api.maxLiveConnectionsPerToken },
    limits: config.api.limits,
    alarms,
    records: records?.store,
    rollups,
  });
  let mqtt: MqttIngestServer | undefined;
  let grpc: GrpcIngestServer | undefined;
  let metricsServer: MetricsServer | undefined;
  try {
    await api.listen({ host: config.http.host, port: config.http.port });
    rollups?.start();
    metricsServer = await startMetricsServer(config.metrics, metrics, logger);
    const mqttTls = config.mqtt.tls;
    mqtt = await startMqttIngest(
      {
        host: config.mqtt.host,
        port: config.mqtt.port,
        maxPacketBytes: config.mqtt.maxPayloadBytes + 1_024,
        limits: config.mqtt.limits,
        ...(mqttTls
          ? {
              tls: {
                host: mqttTls.host,
                port: mqttTls.port,
                material: loadTls(mqttTls, 'mqtt.tls'),
                clientCertAuth: mqttTls.clientCertAuth,
              },
            }
          : {}),
      },
      { directory, ingest, metrics, logger },
    );
    if (config.grpc.enabled) {
      grpc = await startGrpcIngest(
        {
          ...config.grpc,
          tls: config.grpc.tls ? loadTls(config.grpc.tls, 'grpc.tls') : undefined,
          maxMessageBytes: config.mqtt.maxPayloadBytes,
        },
        { directory, ingest, metrics, logger },
      ).catch(async (err: unknown) => {
        await mqtt?.close();
        throw err;
      });
      const grpcServer = grpc;
      const serving = (): void => grpcServer.setServing(influxHealth.up, influxHealth.status());
      influxHealth.onChange(serving);
      await influxHealth.start();
      serving();
    }
  } catch (err) {
    await closeAlarms();
    await metricsServer?.close();
    await api.close();
    await pipeline.close();
    throw err;
  }
  const address = api.server.address();
  const httpPort = typeof address === 'object' && address ? address.port : config.http.port;
  const urlHost = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
  const url = `http://${urlHost}:${httpPort}`;
  logger.info(
    {
      url,
      metricsUrl: metricsServer.url,
      mqttPort: mqtt.port,
      mqttTlsPort: mqtt.tlsPort,
      grpcPort: grpc?.port,
      pilots: pilots.map((p) => p.id),
    },
    'michi cloud started',
  );

  alarms?.start();
  outbox?.start();
  records?.start();

  let closing: Promise<void> | undefined;
  let watch: BrokerConsumer | undefined;
  const ingestServer = mqtt;
  const metricsListener = metricsServer;
  const service: CloudService = {
    mqttPort: mqtt.port,
    mqttTlsPort: mqtt.tlsPort,
    grpcPort: grpc?.port,
    httpPort,
    url,
    metricsUrl: metricsServer.url,
    metrics,
    live: api.liveFeed,
    alarms,
    records,
    rollups,
    close() {
      closing ??= (async () => {
        influxHealth.close();
        await Promise.all([ingestServer.close(), grpc?.close(), watch?.close()]);
        await closeAlarms();
        await rollups?.close();
        await Promise.all(writers.map((w) => w.close()));
        await api.close();
        await metricsListener.close();
        audit.close();
        await pipeline.close();
        logger.info('michi cloud stopped');
      })();
      return closing;
    },
  };
  if (config.watch.enabled) {
    // Last: the engines it feeds are running. A refused login stops start-up, as a worker's does.
    try {
      watch = await startFleetWatch(config, { pilots, directory, ingest, metrics, logger });
    } catch (err) {
      await service.close();
      throw err;
    }
  }
  return service;
}
