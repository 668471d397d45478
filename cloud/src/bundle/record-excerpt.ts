/**
 * The incident bundle's records provider over the operating-state record (cloud/src/records/,
 * docs/records.md): the entries of a vehicle's chain whose source time is in the window, as one
 * unbroken run of the chain (an entry appended late sits between entries of later source time, and
 * a verifier needs every link), with the hash of the entry before the run.
 */
import { GENESIS_HASH } from '../records/record-entry.js';
import type { RecordStore } from '../records/index.js';
import type { RecordEntryWithHash, RecordsProvider } from './records-provider.js';

/** Entries in one window at most: a vehicle's mode changes and interventions, not its readings. */
const MAX_ENTRIES = 100_000;

export function recordStoreExcerpts(store: RecordStore): RecordsProvider {
  return {
    excerpt(pilot, vehicle, fromMs, toMs) {
      const inWindow = store.entries({ pilot, vehicle, fromMs, toMs, limit: MAX_ENTRIES });
      const hashRule = 'SHA-256 of the entry in canonical JSON (docs/records.md, "Entry and hash format")';
      if (inWindow.length === 0) return { prevHash: null, entries: [], hashRule };
      const ns = inWindow.map((e) => e.entry.n);
      const first = Math.min(...ns);
      const last = Math.max(...ns);
      const entries: RecordEntryWithHash[] = [];
      for (const e of store.chainEntries(pilot, vehicle)) {
        if (e.n < first) continue;
        if (e.n > last) break;
        entries.push({ entry: JSON.parse(e.canonical) as Record<string, unknown>, hash: e.hash });
      }
      const prevHash = (entries[0]?.entry['prevHash'] as string | undefined) ?? GENESIS_HASH;
      return { prevHash, entries, hashRule };
    },
  };
}
