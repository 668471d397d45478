/**
 * Makes the uplink that uplink.mode names: MQTT (uplink-mqtt.ts) or gRPC (uplink-grpc.ts), both
 * over the same scheduler. The gRPC module, and with it @grpc/grpc-js, is imported only in gRPC
 * mode: grpc-js alone is about 13 MB of resident memory (measured with Node 20 here), which an MQTT
 * gateway, with its 100 MB budget, does not spend.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { ConfigError } from '@michi/proto';
import type { ReadingBuffer } from './buffer-store.js';
import type { EdgeConfig } from './config.js';
import type { EdgeMetrics } from './metrics.js';
import type { UplinkScheduler } from './uplink-scheduler.js';
import { UplinkMqtt } from './uplink-mqtt.js';

export interface UplinkDeps {
  buffer: ReadingBuffer;
  metrics: EdgeMetrics;
  logger: Logger;
}

/** Reads uplink.tls.caFile once at start-up; a missing or unreadable file stops the start with its path. */
function readCa(file: string | undefined): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`uplink.tls.caFile: cannot read the CA certificate ${file}: ${(err as Error).message}`, { file });
  }
}

export async function createUplink(config: EdgeConfig, deps: UplinkDeps): Promise<UplinkScheduler> {
  const { mode, grpc, tls, ...uplink } = config.uplink;
  const common = { ...uplink, ...deps, ca: readCa(tls.caFile), pilotId: config.pilotId, gatewayId: config.gatewayId };
  if (mode === 'mqtt') return new UplinkMqtt({ ...common, password: config.uplinkPassword });
  // The schema requires uplink.passwordEnv in this mode, and the loader a non-empty value.
  const password = config.uplinkPassword ?? '';
  const { UplinkGrpc } = await import('./uplink-grpc.js');
  return new UplinkGrpc({ ...common, ...grpc, password });
}
