/**
 * Pruning the alarm history (`alarm_changes`) by age, in small deletes with a turn of the event loop
 * between them: better-sqlite3 is synchronous, and ingest, which the alarm engine runs on, must
 * not wait behind one delete of a year of changes.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { AlarmStore } from './alarm-store.js';

/** Rows per delete: a few milliseconds of SQLite. */
const HISTORY_PRUNE_ROWS = 1_000;

export interface HistoryPruneOptions {
  rowsPerDelete?: number;
  /** Aborted when the engine stops: the store closes right after, so no delete may follow. */
  signal?: AbortSignal;
}

/** Deletes the changes made before `beforeMs` (except open alarms'), a batch per turn; resolves with how many. */
export async function pruneHistoryInSteps(store: AlarmStore, beforeMs: number, opts: HistoryPruneOptions = {}): Promise<number> {
  const rows = opts.rowsPerDelete ?? HISTORY_PRUNE_ROWS;
  let total = 0;
  for (;;) {
    if (opts.signal?.aborted) return total;
    const deleted = store.pruneHistory(beforeMs, rows);
    total += deleted;
    if (deleted < rows) return total;
    await nextTurn();
  }
}
