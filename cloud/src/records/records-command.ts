/**
 * `michi-cloud verify-records` and `michi-cloud export-records`: read the record the configuration
 * names (records.dbFile, records.headsFile) without starting the cloud. verify-records exits 0 when
 * every chain is intact and 1 naming the first broken entry of each broken chain; export-records
 * writes each entry as one JSON line `{"hash", "entry"}` in chain order. Output goes through the
 * callbacks, so the entry point owns the console.
 */
import { existsSync } from 'node:fs';
import { ConfigError } from '@michi/proto';
import { parseCommandLine } from '../command-line.js';
import { CLOUD_CONFIG_ENV, loadCloudConfig } from '../config.js';
import { RecordStore } from './record-store.js';
import { verifyRecords } from './record-verifier.js';
import { headsFileOf } from './records-config.js';

export const RECORDS_COMMANDS = ['verify-records', 'export-records'] as const;
export type RecordsCommand = (typeof RECORDS_COMMANDS)[number];

const USAGE = `usage: michi-cloud verify-records [--config FILE] [--pilot ID] [--vehicle ID]
       michi-cloud export-records [--config FILE] [--pilot ID] [--vehicle ID]
  --config FILE   the cloud's YAML configuration (records.dbFile, records.headsFile); default $MICHI_CLOUD_CONFIG
  --pilot ID      only this pilot's chains
  --vehicle ID    only this vehicle's chain
verify-records exits 0 when every chain is intact, 1 naming the first broken entry of each broken chain.
export-records writes one JSON line {"hash", "entry"} per entry, each chain in order.`;

export interface CommandIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env: Readonly<Record<string, string | undefined>>;
}

/** Runs the command; returns its exit code (a bad command line or configuration throws ConfigError: exit 2). */
export function runRecordsCommand(command: RecordsCommand, argv: readonly string[], io: CommandIo): number {
  const { values, help } = parseCommandLine(argv, { config: 'a file name', pilot: 'a pilot id', vehicle: 'a vehicle id' }, USAGE);
  if (help) {
    io.out(USAGE);
    return 0;
  }
  const config = loadCloudConfig(values.config ?? (io.env[CLOUD_CONFIG_ENV] || undefined), io.env);
  const { dbFile } = config.records;
  if (!existsSync(dbFile))
    throw new ConfigError(`records.dbFile: no record database ${dbFile} (has the cloud run with this configuration?)`);
  const filter = { ...(values.pilot ? { pilot: values.pilot } : {}), ...(values.vehicle ? { vehicle: values.vehicle } : {}) };
  return command === 'verify-records' ? verify(dbFile, headsFileOf(config.records), filter, io) : exportRecords(dbFile, filter, io);
}

function verify(dbFile: string, headsFile: string, filter: { pilot?: string; vehicle?: string }, io: CommandIo): number {
  const result = verifyRecords(dbFile, headsFile, filter);
  for (const w of result.warnings) io.err(`warning: ${w}`);
  const broken = new Set(result.problems.map((p) => `${p.pilot}/${p.vehicle}`));
  for (const c of result.chains) {
    if (broken.has(`${c.pilot}/${c.vehicle}`)) continue;
    const span = c.entries === 0 ? 'no entries' : `${c.entries} entries, n=${c.firstN}…${c.lastN}, last hash ${c.lastHash}`;
    io.out(`ok ${c.pilot}/${c.vehicle}: ${span}`);
  }
  for (const p of result.problems) io.err(`BROKEN ${p.pilot}/${p.vehicle} at n=${p.n} (${p.kind}): ${p.message}`);
  if (result.chains.length === 0) io.out('no chains to verify');
  if (result.problems.length > 0) {
    io.err(
      `${result.problems.length} of ${result.chains.length} chains broken; export the record and keep the files as they are for the investigation.`,
    );
    return 1;
  }
  io.out(`all ${result.chains.length} chains intact`);
  return 0;
}

function exportRecords(dbFile: string, filter: { pilot?: string; vehicle?: string }, io: CommandIo): number {
  const store = RecordStore.openReadonly(dbFile);
  try {
    for (const c of store.chains()) {
      if ((filter.pilot !== undefined && c.pilot !== filter.pilot) || (filter.vehicle !== undefined && c.vehicle !== filter.vehicle))
        continue;
      // The canonical text as stored, not a re-serialization: the exported line hashes as the stored entry did.
      for (const e of store.chainEntries(c.pilot, c.vehicle)) io.out(`{"hash":${JSON.stringify(e.hash)},"entry":${e.canonical}}`);
    }
  } finally {
    store.close();
  }
  return 0;
}
