/** The operating-state record (作動状態記録): recorder, store, heads file, verifier (docs/records.md). */
import type { Logger } from 'pino';
import { ConfigError, type Pilot } from '@michi/proto';
import type { CloudConfig } from '../config.js';
import type { CloudMetrics } from '../metrics.js';
import { HeadFile } from './head-file.js';
import { OperatingRecorder } from './operating-recorder.js';
import { RecordStore } from './record-store.js';
import { headsFileOf } from './records-config.js';

export { OperatingRecorder } from './operating-recorder.js';
export { RecordStore, type StoredEntry } from './record-store.js';

/** Six months, as the Road Traffic Act asks; a shorter retention is allowed but warned about. */
const LEGAL_RETENTION_DAYS = 183;
const DAY_MS = 86_400_000;

/**
 * Opens the record's database and heads file (a path that cannot be opened stops start-up, naming
 * the setting) and the recorder on them.
 */
export function openOperatingRecorder(
  config: CloudConfig,
  pilots: readonly Pilot[],
  deps: { logger: Logger; metrics?: CloudMetrics; now?: () => number },
): OperatingRecorder {
  const { dbFile } = config.records;
  const headsFile = headsFileOf(config.records);
  let store: RecordStore;
  try {
    store = new RecordStore(dbFile);
  } catch (err) {
    throw new ConfigError(`records.dbFile: cannot open the record database ${dbFile}: ${(err as Error).message}`, { file: dbFile });
  }
  let heads: HeadFile;
  try {
    heads = new HeadFile(headsFile);
  } catch (err) {
    store.close();
    throw new ConfigError(`records.headsFile: cannot open the heads file ${headsFile}: ${(err as Error).message}`, { file: headsFile });
  }
  if (config.records.retentionDays < LEGAL_RETENTION_DAYS) {
    deps.logger.warn(
      { retentionDays: config.records.retentionDays },
      'records.retentionDays is shorter than the six months (183 days) Japan’s Road Traffic Act asks a Level-4 operator to keep',
    );
  }
  return new OperatingRecorder(
    pilots,
    {
      retentionMs: config.records.retentionDays * DAY_MS,
      // A minute more than ingest accepts: a reading at the edge of the window still finds its runs.
      lateHorizonMs: config.timestampWindow.pastMs + 60_000,
      flushIntervalMs: 5_000,
      retentionIntervalMs: 3_600_000,
    },
    { store, heads, ...deps },
  );
}
