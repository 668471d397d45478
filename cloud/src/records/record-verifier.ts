/**
 * Verifies the operating-state record as docs/records.md defines it, from the stored files alone:
 * each chain's entries in order of n, each in canonical form and matching its hash, each naming the
 * hash of the one before (or, after retention, the checkpoint's), numbered without gaps; the
 * checkpoint confirmed by the chain's newest retention entry; and each chain reaching at least the
 * newest head of the heads file with the same hash. The first problem of each chain is reported.
 */
import { canonicalJson, sha256Hex, type CanonicalValue } from './canonical-json.js';
import { headKey, readHeads, type ChainHead } from './head-file.js';
import { GENESIS_HASH, type RecordEntry, type RetentionData } from './record-entry.js';
import { RecordStore } from './record-store.js';

export type ProblemKind = 'altered' | 'inserted' | 'deleted' | 'rewritten' | 'checkpoint';

export interface RecordProblem {
  pilot: string;
  vehicle: string;
  /** The first entry found broken (for deleted ones: the first missing). */
  n: number;
  kind: ProblemKind;
  message: string;
}

export interface ChainSummary {
  pilot: string;
  vehicle: string;
  entries: number;
  /** n of the first and last entry kept; -1 when none. */
  firstN: number;
  lastN: number;
  lastHash: string;
  head: ChainHead | undefined;
}

export interface VerifyResult {
  chains: ChainSummary[];
  problems: RecordProblem[];
  warnings: string[];
}

const chainName = (pilot: string, vehicle: string): string => `vehicle "${vehicle}" of pilot "${pilot}"`;

function describe(e: RecordEntry | undefined): string {
  return e ? `${e.kind} at source time ${new Date(e.sourceTsMs).toISOString()}` : 'unreadable';
}

function parseEntry(canonical: string): RecordEntry | undefined {
  try {
    const value = JSON.parse(canonical) as CanonicalValue;
    return canonicalJson(value) === canonical ? (value as unknown as RecordEntry) : undefined;
  } catch {
    return undefined;
  }
}

export function verifyRecords(dbFile: string, headsFile: string, filter: { pilot?: string; vehicle?: string } = {}): VerifyResult {
  const store = RecordStore.openReadonly(dbFile);
  try {
    const { heads, badLines, exists } = readHeads(headsFile);
    const warnings: string[] = [];
    if (!exists) warnings.push(`no heads file ${headsFile}: deleting the last entries of a chain cannot be detected`);
    for (const line of badLines)
      warnings.push(`${headsFile}:${line} is not a head (a line cut short by a crash is expected only at the end)`);
    const wanted = (c: { pilot: string; vehicle: string }) =>
      (filter.pilot === undefined || c.pilot === filter.pilot) && (filter.vehicle === undefined || c.vehicle === filter.vehicle);
    const chains = new Map<string, { pilot: string; vehicle: string }>();
    for (const c of store.chains()) if (wanted(c)) chains.set(headKey(c), c);
    for (const h of heads.values())
      if (wanted(h) && !chains.has(headKey(h))) chains.set(headKey(h), { pilot: h.pilot, vehicle: h.vehicle });

    const result: VerifyResult = { chains: [], problems: [], warnings };
    for (const [k, { pilot, vehicle }] of [...chains].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const head = heads.get(k);
      const { summary, problem } = verifyChain(store, pilot, vehicle, head);
      result.chains.push(summary);
      if (problem) result.problems.push(problem);
      else if (head === undefined && summary.entries > 0 && exists) {
        warnings.push(`${chainName(pilot, vehicle)} has no head in ${headsFile}: deleting its last entries cannot be detected`);
      }
    }
    return result;
  } finally {
    store.close();
  }
}

function verifyChain(
  store: RecordStore,
  pilot: string,
  vehicle: string,
  head: ChainHead | undefined,
): { summary: ChainSummary; problem: RecordProblem | undefined } {
  const name = chainName(pilot, vehicle);
  const checkpoint = store.checkpoint(pilot, vehicle);
  const summary: ChainSummary = { pilot, vehicle, entries: 0, firstN: -1, lastN: -1, lastHash: GENESIS_HASH, head };
  const fail = (n: number, kind: ProblemKind, message: string) => ({ summary, problem: { pilot, vehicle, n, kind, message } });
  let expectedN = checkpoint ? checkpoint.throughN + 1 : 0;
  let prevHash = checkpoint ? checkpoint.lastHash : GENESIS_HASH;
  let prev: RecordEntry | undefined;
  let lastRetention: RetentionData | undefined;
  let hashAtHead: string | undefined;
  for (const row of store.chainEntries(pilot, vehicle)) {
    const entry = parseEntry(row.canonical);
    if (entry === undefined || sha256Hex(row.canonical) !== row.hash) {
      return fail(
        row.n,
        'altered',
        `${name}: entry n=${row.n} (${describe(entry)}) was altered: its stored content does not hash to its stored hash ${row.hash}. ` +
          'Compare it with a backup or an export of the record; the entries before it are intact.',
      );
    }
    if (entry.pilot !== pilot || entry.vehicle !== vehicle || entry.n !== row.n) {
      return fail(
        row.n,
        'inserted',
        `${name}: the entry stored as n=${row.n} (${describe(entry)}) says it is entry n=${entry.n} of vehicle "${entry.vehicle}" of pilot "${entry.pilot}": ` +
          'entries were inserted or renumbered here.',
      );
    }
    if (entry.n > expectedN) {
      const what = expectedN === entry.n - 1 ? `entry n=${expectedN} is` : `entries n=${expectedN}…${entry.n - 1} are`;
      return fail(
        expectedN,
        'deleted',
        `${name}: ${what} missing (deleted) between ${prev ? `n=${prev.n} (${describe(prev)})` : 'the start of the chain'} and n=${entry.n} (${describe(entry)})` +
          `${expectedN === 0 || prev ? '' : ', and no retention checkpoint covers them'}.`,
      );
    }
    if (entry.prevHash !== prevHash) {
      const message = prev
        ? `${name}: entry n=${entry.n} (${describe(entry)}) does not follow entry n=${prev.n}: its prevHash is not the hash of entry n=${prev.n}. ` +
          `Either entry n=${entry.n} was inserted or replaced, or entry n=${prev.n} was altered and given a new hash.`
        : `${name}: the first entry kept, n=${entry.n} (${describe(entry)}), does not follow the ${checkpoint ? 'retention checkpoint' : 'start of the chain'}: ` +
          `its prevHash is not ${checkpoint ? "the checkpoint's hash of the last entry removed" : 'the genesis hash (64 zeros)'}. The checkpoint or the entry was altered.`;
      return fail(entry.n, prev ? 'inserted' : 'checkpoint', message);
    }
    if (entry.kind === 'retention') lastRetention = entry.data as RetentionData;
    if (head && entry.n === head.n) hashAtHead = row.hash;
    if (summary.firstN < 0) summary.firstN = entry.n;
    summary.entries++;
    summary.lastN = entry.n;
    summary.lastHash = row.hash;
    prevHash = row.hash;
    prev = entry;
    expectedN = entry.n + 1;
  }
  if (
    checkpoint &&
    (lastRetention === undefined ||
      lastRetention.removedThroughN !== checkpoint.throughN ||
      lastRetention.lastRemovedHash !== checkpoint.lastHash)
  ) {
    return fail(
      checkpoint.throughN + 1,
      'checkpoint',
      `${name}: the retention checkpoint (entries up to n=${checkpoint.throughN} removed) is not the one the chain's newest retention entry signs off: ` +
        'entries were removed from the start of the chain outside retention, or the checkpoint was altered.',
    );
  }
  if (head) {
    if (summary.lastN < head.n) {
      const first = summary.lastN + 1;
      return fail(
        first,
        'deleted',
        `${name}: the last entries are missing (deleted): the chain ends at n=${summary.lastN}, but the heads file recorded n=${head.n} ` +
          `at ${new Date(head.atMs).toISOString()}. Entries n=${first}…${head.n} must be restored from a backup or an export.`,
      );
    }
    if (hashAtHead !== undefined && hashAtHead !== head.hash) {
      return fail(
        head.n,
        'rewritten',
        `${name}: entry n=${head.n} has hash ${hashAtHead}, but the heads file recorded ${head.hash} at ${new Date(head.atMs).toISOString()}: ` +
          `the chain was rewritten (entries altered and re-hashed) at or before n=${head.n}. Compare with a backup or an export.`,
      );
    }
  }
  return { summary, problem: undefined };
}
