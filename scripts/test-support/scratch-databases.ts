// The cloud's SQLite databases (alarms, records) in a test's or benchmark's own directory. A cloud
// configured without them opens .data/cloud/ of the checkout, where the next `make run` finds the
// test's open alarms and record chains, and the next test run the ones of the run before.
import { join } from 'node:path';

/** `alarms.dbFile` and `records.dbFile` under `dir`, as configuration sections (names prefixed by `prefix`). */
export function scratchDatabases(dir: string, prefix = ''): { alarms: { dbFile: string }; records: { dbFile: string } } {
  return {
    alarms: { dbFile: join(dir, `${prefix}alarms.sqlite`) },
    records: { dbFile: join(dir, `${prefix}records.sqlite`) },
  };
}

/** The same as MICHI_CLOUD_* variables, for a configuration loaded from the environment. */
export function scratchDatabaseEnv(dir: string, prefix = ''): Record<string, string> {
  const { alarms, records } = scratchDatabases(dir, prefix);
  return { MICHI_CLOUD_ALARMS__DB_FILE: alarms.dbFile, MICHI_CLOUD_RECORDS__DB_FILE: records.dbFile };
}
