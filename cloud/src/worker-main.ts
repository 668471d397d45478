#!/usr/bin/env node
/* eslint-disable no-console -- a command-line entry point, like main.ts */
/**
 * michi-ingest-worker: the external-broker mode (docs/scaling.md). Reads the cloud's configuration
 * (seeds, influx, timestampWindow, worker), consumes gateway batches from the broker and writes
 * them to InfluxDB, acknowledging each after the write. Serves /metrics and /health.
 *
 *   michi-ingest-worker [--config FILE]
 *   michi-ingest-worker --mosquitto-auth DIR [--config FILE]
 *       writes DIR/passwd, DIR/acl and DIR/michi.conf for Mosquitto from the seeds and the gateway
 *       secrets in the environment (the worker's own password from worker.passwordEnv), then exits.
 */
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join, resolve } from 'node:path';
import { ConfigError, SeedError, loadSeeds } from '@michi/proto';
import { pino } from 'pino';
import { CLOUD_CONFIG_ENV, influxEndpoint, loadCloudConfig, type CloudConfig } from './config.js';
import { checkInfluxAccess } from './influx-access.js';
import { InfluxHttp } from './influx-http.js';
import { InfluxWriter } from './influx-writer.js';
import { BatchIngest } from './ingest-batch.js';
import { LatestState } from './latest-state.js';
import { CloudMetrics } from './metrics.js';
import { PilotDirectory } from './pilot-directory.js';
import { startIngestWorker } from './worker.js';
import { mosquittoAuthFiles, mosquittoNoDropSettings } from './worker-broker-auth.js';

const USAGE = `usage: michi-ingest-worker [--config FILE]
       michi-ingest-worker --mosquitto-auth DIR [--config FILE]
  --config FILE          the cloud's YAML configuration (worker, influx, seedsDir); default $MICHI_CLOUD_CONFIG
  --mosquitto-auth DIR   write Mosquitto's password file, ACL file and settings for the seeds' gateways, then exit
  --mosquitto-user NAME  run as root: the files are given to this user, the one Mosquitto drops to (default mosquitto)`;

function option(argv: readonly string[], name: string): string | undefined {
  const i = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  const arg = argv[i]!;
  const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[i + 1];
  if (!value) throw new ConfigError(`${name} needs a value`);
  return value;
}

function workerPassword(config: CloudConfig): string | undefined {
  const name = config.worker.passwordEnv;
  if (name === undefined) return undefined;
  const value = config.resolveSecret(`env:${name}`);
  if (value === undefined) throw new ConfigError(`worker.passwordEnv names ${name}, but that environment variable is not set`);
  return value;
}

/** uid and gid of a local user, from /etc/passwd (no dependency on a native module). */
function localUser(name: string): { uid: number; gid: number } | undefined {
  let passwd: string;
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of passwd.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined) return { uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

function writeMosquittoAuth(config: CloudConfig, dir: string, brokerUser: string): void {
  const password = workerPassword(config);
  if (password === undefined) throw new ConfigError('--mosquitto-auth needs worker.passwordEnv: the worker logs in to the broker too');
  const files = mosquittoAuthFiles(loadSeeds(config.seedsDir), config.resolveSecret, { username: config.worker.username, password });
  mkdirSync(dir, { recursive: true });
  const passwordFile = resolve(join(dir, 'passwd'));
  const aclFile = resolve(join(dir, 'acl'));
  writeFileSync(passwordFile, files.passwords, { mode: 0o600 });
  chmodSync(passwordFile, 0o600);
  writeFileSync(aclFile, files.acl, { mode: 0o600 });
  chmodSync(aclFile, 0o600);
  writeFileSync(join(dir, 'michi.conf'), mosquittoNoDropSettings({ passwordFile, aclFile }));
  // Started as root, Mosquitto drops to its own user before it reads the password and ACL files:
  // root-owned 0600 files would lock every gateway out.
  if (process.getuid?.() === 0) {
    const owner = localUser(brokerUser);
    if (owner === undefined) {
      console.error(
        `michi-ingest-worker: no local user "${brokerUser}"; the files stay root's. Give them to the user Mosquitto runs as (--mosquitto-user NAME)`,
      );
    } else {
      for (const file of [passwordFile, aclFile]) chownSync(file, owner.uid, owner.gid);
    }
  }
  for (const gw of files.missing) console.error(`michi-ingest-worker: gateway ${gw} has no secret in the environment; left out`);
  console.log(`wrote ${passwordFile}, ${aclFile} and ${join(dir, 'michi.conf')}`);
}

async function main(argv: readonly string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  const config = loadCloudConfig(option(argv, '--config') ?? (process.env[CLOUD_CONFIG_ENV] || undefined), process.env);
  const authDir = option(argv, '--mosquitto-auth');
  if (authDir !== undefined) {
    writeMosquittoAuth(config, authDir, option(argv, '--mosquitto-user') ?? 'mosquitto');
    return;
  }

  const logger = pino({ level: config.log.level, base: { service: 'michi-ingest-worker', clientId: config.worker.clientId } });
  const pilots = loadSeeds(config.seedsDir);
  const metrics = new CloudMetrics();
  const directory = new PilotDirectory(pilots, config.resolveSecret);
  const influx = new InfluxHttp(influxEndpoint(config));
  const access = await checkInfluxAccess(influx);
  if (!access.ok) logger.warn({ reason: access.reason }, 'could not check the InfluxDB credentials; starting anyway');
  const writer = new InfluxWriter(influx, config.influx, { metrics, logger: logger.child({ component: 'influx-writer' }) });
  const ingest = new BatchIngest(
    { maxPayloadBytes: config.mqtt.maxPayloadBytes, timestampWindow: config.timestampWindow },
    { directory, writer, latest: new LatestState(pilots), metrics, logger },
  );
  const w = config.worker;
  const worker = await startIngestWorker(
    {
      brokerUrl: w.brokerUrl,
      clientId: w.clientId,
      connections: w.connections,
      group: w.group,
      sessionExpirySeconds: w.sessionExpirySeconds,
      username: w.username,
      password: workerPassword(config),
      ca: w.caFile ? readFileSync(w.caFile) : undefined,
    },
    { directory, ingest, metrics, logger },
  );

  const server = http.createServer((req, res) => {
    if (req.url === '/metrics') {
      void metrics.registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(text);
      });
    } else if (req.url === '/health') {
      const up = worker.connected;
      res.writeHead(up > 0 ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ connections: up, of: w.connections }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((ok) => server.listen(w.metrics.port, w.metrics.host, ok));
  const address = server.address();
  logger.info({ metricsPort: typeof address === 'object' && address ? address.port : w.metrics.port }, 'michi ingest worker started');

  let signals = 0;
  const stop = (signal: NodeJS.Signals): void => {
    if (++signals > 1) process.exit(130);
    logger.info({ signal }, 'stopping: acknowledging the writes in flight');
    void (async () => {
      await worker.close();
      await writer.close();
      influx.close();
      server.close();
      process.exit(0);
    })();
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
