/**
 * What both local ingest listeners (the MQTT broker and the gRPC service) are given: where to
 * listen, how to authenticate a device, and where accepted readings go.
 */
import type { Logger } from 'pino';
import type { TlsMaterial } from '@michi/proto';
import type { ReadingBuffer } from './buffer-store.js';
import type { DeviceAuthenticator } from './device-auth.js';
import type { EdgeProcessing } from './edge-processing.js';
import type { EdgeMetrics } from './metrics.js';

export interface LocalIngestOptions {
  host: string;
  port: number;
  gatewayId: string;
  /** Checks each device's id and password (MQTT CONNECT, gRPC metadata). */
  auth: DeviceAuthenticator;
  /** Serve TLS with this certificate (local.tls); plain text when absent. */
  tls?: TlsMaterial | undefined;
  buffer: ReadingBuffer;
  metrics: EdgeMetrics;
  logger: Logger;
  /** Downsampling, deadband and clock-skew detection of accepted readings; none when absent. */
  processing?: EdgeProcessing;
}
