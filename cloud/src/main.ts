#!/usr/bin/env node
/**
 * michi-cloud: `michi-cloud --config FILE` (or MICHI_CLOUD_CONFIG=FILE). Wires configuration,
 * logger and signals; the service is in cloud-service.ts. A bad configuration or pilot definition
 * exits 2 with the message; SIGINT/SIGTERM close gracefully (a second signal exits at once).
 * `michi-cloud verify-records|export-records` read the operating-state record and exit
 * (records/records-command.ts); `michi-cloud incident-bundle` writes one archive and exits
 * (bundle/bundle-command.ts).
 */
import { ConfigError, SeedError } from '@michi/proto';
import { pino } from 'pino';
import { BUNDLE_USAGE, runBundleCommand } from './bundle/bundle-command.js';
import { startCloud } from './cloud-service.js';
import { parseCommandLine } from './command-line.js';
import { CLOUD_CONFIG_ENV, loadCloudConfig } from './config.js';
import { RECORDS_COMMANDS, runRecordsCommand, type RecordsCommand } from './records/records-command.js';

const EXIT_FAILED = 1;
const EXIT_CONFIG = 2;

const USAGE = `usage: michi-cloud [--config FILE]
       michi-cloud verify-records|export-records [--config FILE] [--pilot ID] [--vehicle ID]   (docs/records.md)
       michi-cloud incident-bundle --pilot P --vehicle V --at TIME [options] (--help for them)
  --config FILE   YAML configuration (see cloud/cloud.example.yaml); default $MICHI_CLOUD_CONFIG
Environment: MICHI_CLOUD_* overrides (MICHI_CLOUD_INFLUX__URL=... sets influx.url);
gateway secrets come from the variables the seeds' credentialsRef name.`;

/** `michi-cloud incident-bundle …` (docs/incident-bundles.md): writes one archive and exits. */
async function incidentBundle(argv: readonly string[]): Promise<void> {
  const result = await runBundleCommand(argv, process.env);
  if (result === 'help') {
    console.log(BUNDLE_USAGE);
    return;
  }
  console.log(`wrote ${result.file} (${result.bytes} bytes)`);
  console.log(`sha256 of the archive:       ${result.archiveSha256}`);
  console.log(`sha256 of its manifest.json: ${result.manifestSha256}`);
}

async function main(argv: readonly string[]): Promise<void> {
  const command = argv[0];
  if (command === 'incident-bundle') return incidentBundle(argv.slice(1));
  if ((RECORDS_COMMANDS as readonly string[]).includes(command ?? '')) {
    // `export-records | head`: a reader that stops early ends the command, not a stack trace.
    process.stdout.on('error', (err: NodeJS.ErrnoException) => process.exit(err.code === 'EPIPE' ? 0 : EXIT_FAILED));
    const io = { out: (l: string) => console.log(l), err: (l: string) => console.error(`michi-cloud: ${l}`), env: process.env };
    process.exitCode = runRecordsCommand(command as RecordsCommand, argv.slice(1), io);
    return;
  }
  const { values, help } = parseCommandLine(argv, { config: 'a file name' }, USAGE);
  if (help) {
    console.log(USAGE);
    return;
  }
  const config = loadCloudConfig(values.config ?? (process.env[CLOUD_CONFIG_ENV] || undefined), process.env);
  const logger = pino({ level: config.log.level, base: { service: 'michi-cloud' } });
  const cloud = await startCloud(config, { logger });

  let signals = 0;
  const stop = (signal: NodeJS.Signals): void => {
    if (++signals > 1) process.exit(130);
    logger.info({ signal }, 'stopping: no new batches; waiting for writes in flight');
    cloud.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(EXIT_FAILED);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const bundle = process.argv[2] === 'incident-bundle';
  if (err instanceof ConfigError || err instanceof SeedError) {
    console.error(`michi-cloud${bundle ? ' incident-bundle' : ''}: ${err.message}`);
    process.exit(EXIT_CONFIG);
  }
  console.error(bundle ? 'michi-cloud incident-bundle: failed:' : 'michi-cloud: failed to start:', err);
  process.exit(EXIT_FAILED);
});
