#!/usr/bin/env node
/* eslint-disable no-console -- a command-line entry point, like main.ts */
/**
 * michi-ingest-worker: the external-broker mode (docs/scaling.md). Wires configuration and signals;
 * the service is in worker-service.ts (consumes gateway batches from the broker, writes them to
 * InfluxDB, acknowledges each after the write, serves /metrics and /health).
 *
 *   michi-ingest-worker [--config FILE]
 *   michi-ingest-worker --mosquitto-auth DIR [--config FILE]
 *       writes DIR/passwd, DIR/acl and DIR/michi.conf for Mosquitto from the seeds and the gateway
 *       secrets in the environment (the worker's own password from worker.passwordEnv), then exits.
 *   michi-ingest-worker --nats-config DIR [--config FILE]
 *       writes DIR/{node}.conf for the three NATS nodes of worker.nats.cluster (routes, JetStream,
 *       MQTT listener, users and permissions from the seeds), then exits.
 */
import { ConfigError, SeedError } from '@michi/proto';
import { pino } from 'pino';
import { parseCommandLine } from './command-line.js';
import { CLOUD_CONFIG_ENV, loadCloudConfig } from './config.js';
import { writeMosquittoAuth } from './mosquitto-auth-command.js';
import { writeNatsClusterConfig } from './nats-cluster-config.js';
import { startIngestWorker } from './worker-service.js';

const USAGE = `usage: michi-ingest-worker [--config FILE]
       michi-ingest-worker --mosquitto-auth DIR [--config FILE]
       michi-ingest-worker --nats-config DIR [--config FILE]
  --config FILE          the cloud's YAML configuration (worker, influx, seedsDir); default $MICHI_CLOUD_CONFIG
  --mosquitto-auth DIR   write Mosquitto's password file, ACL file and settings for the seeds' gateways, then exit
  --mosquitto-user NAME  run as root: the files are given to this user, the one Mosquitto drops to (default mosquitto)
  --nats-config DIR      write the three NATS node configurations of worker.nats.cluster (users from the seeds), then exit`;

async function main(argv: readonly string[]): Promise<void> {
  const { values, help } = parseCommandLine(
    argv,
    { config: 'a value', 'mosquitto-auth': 'a value', 'mosquitto-user': 'a value', 'nats-config': 'a value' },
    USAGE,
  );
  if (help) {
    console.log(USAGE);
    return;
  }
  const config = loadCloudConfig(values.config ?? (process.env[CLOUD_CONFIG_ENV] || undefined), process.env);
  const authDir = values['mosquitto-auth'];
  const natsDir = values['nats-config'];
  if (authDir !== undefined || natsDir !== undefined) {
    const out =
      natsDir !== undefined
        ? writeNatsClusterConfig(config, natsDir)
        : writeMosquittoAuth(config, authDir!, values['mosquitto-user'] ?? 'mosquitto');
    for (const line of out.stderr) console.error(`michi-ingest-worker: ${line}`);
    for (const line of out.stdout) console.log(line);
    return;
  }

  const logger = pino({ level: config.log.level, base: { service: 'michi-ingest-worker', clientId: config.worker.clientId } });
  const worker = await startIngestWorker(config, { logger });
  let signals = 0;
  const stop = (signal: NodeJS.Signals): void => {
    if (++signals > 1) process.exit(130);
    logger.info({ signal }, 'stopping: acknowledging the writes in flight');
    worker.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof SeedError) {
    console.error(`michi-ingest-worker: ${err.message}`);
    process.exit(2);
  }
  console.error('michi-ingest-worker: failed to start:', err);
  process.exit(1);
});
