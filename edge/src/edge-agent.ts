/**
 * Wires one gateway's agent: the local broker takes readings into the buffer, the uplink forwards
 * the buffer to the cloud, the metrics server shows both. Collaborators can be passed in (tests,
 * benchmarks); by default each is made from the configuration.
 */
import { pino, type Logger } from 'pino';
import { loadTls } from '@michi/proto';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { BufferStore, type BufferStats, type ReadingBuffer } from './buffer-store.js';
import type { EdgeConfig } from './config.js';
import { loadGatewayDevices } from './gateway-devices.js';
import { startLocalBroker, type EdgeDevice, type LocalBroker } from './local-broker.js';
import { createEdgeMetrics, startMetricsServer, type MetricsServer } from './metrics.js';
import { EdgeProcessing } from './edge-processing.js';
import { DeviceAuthenticator } from './device-auth.js';
import type { GrpcIngest } from './ingest-grpc.js';
import { createUplink } from './uplink.js';
import type { UplinkStats } from './uplink-transport.js';

export interface EdgeDeps {
  logger?: Logger;
  /** Default: a new registry with the process's default metrics (CPU, memory, event loop lag). */
  registry?: Registry;
  /** Default: this gateway's vehicles and sensors in config.seedsDir. */
  devices?: readonly EdgeDevice[];
  /** Default: a BufferStore (SQLite) at config.buffer.path. Closed by the agent either way. */
  buffer?: ReadingBuffer;
}

export interface EdgeStats {
  buffer: BufferStats;
  uplink: UplinkStats;
  localClients: number;
}

export interface EdgeHandle {
  /** The local MQTT port (the bound one when config.local.mqtt.port is 0). */
  mqttPort: number;
  /** The local gRPC port when local.grpc.enabled. */
  grpcPort: number | undefined;
  metricsPort: number;
  stats(): EdgeStats;
  /**
   * Stops accepting connections, commits and acknowledges what waits, disconnects local clients,
   * gives the uplink a moment for in-flight acknowledgements, and closes the buffer.
   */
  close(): Promise<void>;
}

/** How long close() waits for the cloud to acknowledge batches already sent. */
const CLOSE_DRAIN_MS = 2_000;

export async function startEdge(config: EdgeConfig, deps: EdgeDeps = {}): Promise<EdgeHandle> {
  const logger = (deps.logger ?? pino({ level: config.log.level })).child({ pilot: config.pilotId, gateway: config.gatewayId });
  let registry = deps.registry;
  if (!registry) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry });
  }
  const devices = deps.devices ?? loadGatewayDevices(config.seedsDir, config.pilotId, config.gatewayId);
  if (devices.length === 0)
    logger.warn(
      { seedsDir: config.seedsDir },
      'this gateway has no vehicles or sensors in the pilot definition: every reading will be refused',
    );
  const metrics = createEdgeMetrics(registry);

  // Undone in reverse order if a later part fails to start.
  const undo: (() => Promise<void>)[] = [];
  try {
    const buffer = deps.buffer ?? new BufferStore({ ...config.buffer, logger: logger.child({ component: 'buffer' }) });
    buffer.attach({ onDrop: (reason, kind, count) => metrics.dropped.inc({ reason, kind }, count) });
    undo.push(() => buffer.close());
    metrics.probes.buffer = () => buffer.stats();
    logger.info({ path: deps.buffer ? undefined : config.buffer.path, ...buffer.stats() }, 'buffer open');

    const uplink = await createUplink(config, { buffer, metrics, logger: logger.child({ component: 'uplink' }) });
    undo.push(() => uplink.close(0));

    const processing = new EdgeProcessing(config.processing);
    const auth = new DeviceAuthenticator({
      deviceKey: config.deviceKey,
      devices: devices.map((d) => d.id),
      revoked: config.local.revokedDevices,
      metrics,
      logger: logger.child({ component: 'device-auth' }),
    });
    // Read once for both local listeners; an unreadable file stops the start with its path.
    const localTls = config.local.tls ? loadTls(config.local.tls, 'local.tls') : undefined;
    const broker: LocalBroker = await startLocalBroker({
      ...config.local.mqtt,
      pilotId: config.pilotId,
      gatewayId: config.gatewayId,
      devices,
      auth,
      tls: localTls,
      buffer,
      metrics,
      processing,
      logger: logger.child({ component: 'local-mqtt' }),
    });
    undo.push(() => broker.close());
    metrics.probes.localClients = () => broker.clients();

    let grpcIngest: GrpcIngest | undefined;
    if (config.local.grpc.enabled) {
      // Imported only when on: @grpc/grpc-js is memory a gateway without local gRPC does not spend.
      const { startGrpcIngest } = await import('./ingest-grpc.js');
      const g = await startGrpcIngest({
        ...config.local.grpc,
        gatewayId: config.gatewayId,
        devices: new Set(devices.map((d) => d.id)),
        auth,
        tls: localTls,
        buffer,
        metrics,
        processing,
        logger: logger.child({ component: 'local-grpc' }),
      });
      grpcIngest = g;
      undo.push(() => g.close());
    }

    const stats = (): EdgeStats => ({ buffer: buffer.stats(), uplink: uplink.stats(), localClients: broker.clients() });
    const metricsServer: MetricsServer = await startMetricsServer({
      ...config.metrics,
      registry,
      health: () => ({ pilot: config.pilotId, gateway: config.gatewayId, ...stats() }),
    });
    uplink.start();
    logger.info(
      { mqttPort: broker.port, grpcPort: grpcIngest?.port, metricsPort: metricsServer.port, devices: devices.length },
      'edge agent started',
    );

    let closing: Promise<void> | undefined;
    const close = async () => {
      broker.stopAccepting();
      // Streams finish what they were sent (their acks need the flush below), then end.
      const grpcClosed = grpcIngest?.close();
      // Commit what waits so that its senders get their PUBACK before they are disconnected.
      await buffer.flush();
      await grpcClosed;
      await new Promise((resolve) => setImmediate(resolve));
      await broker.close();
      await uplink.close(CLOSE_DRAIN_MS);
      const left = buffer.stats();
      await buffer.close();
      await metricsServer.close();
      logger.info({ buffered: left.depth }, 'edge agent stopped');
    };
    return {
      mqttPort: broker.port,
      grpcPort: grpcIngest?.port,
      metricsPort: metricsServer.port,
      stats,
      close: () => (closing ??= close()),
    };
  } catch (err) {
    for (const step of undo.reverse()) await step().catch((e: unknown) => logger.warn({ err: e }, 'cleanup after a failed start failed'));
    throw err;
  }
}
