/**
 * The operating-state record in SQLite (better-sqlite3, WAL, synchronous FULL): `record_entries`
 * holds each vehicle's chain (entry n, its canonical JSON exactly as hashed, its hash),
 * `record_checkpoints` where each chain starts after retention removed its oldest entries, and
 * `record_modes` the mode runs the recorder derives mode changes from (mode-timeline.ts), so that a
 * restart neither forgets nor repeats a change. Entries are only ever appended, each batch's in one
 * transaction; retention removes a prefix and appends a retention entry in the same transaction.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError } from '@michi/proto';
import type { ModeRun } from './mode-timeline.js';
import { GENESIS_HASH, chainEntry, entryIdentity, type EntryDraft, type RecordEntry, type RetentionData } from './record-entry.js';

/** An entry as stored: the canonical text is what was hashed; `entry` is parsed from it. */
export interface StoredEntry {
  entry: RecordEntry;
  canonical: string;
  hash: string;
}

export interface ChainTip {
  pilot: string;
  vehicle: string;
  /** n of the last entry; -1 for none. */
  n: number;
  hash: string;
}

export interface Checkpoint {
  pilot: string;
  vehicle: string;
  throughN: number;
  lastHash: string;
  removedCount: number;
  atMs: number;
}

export interface EntryQuery {
  pilot: string;
  vehicle?: string | undefined;
  /** Source time, inclusive. */
  fromMs?: number;
  toMs?: number;
  limit?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS record_entries (
  pilot TEXT NOT NULL,
  vehicle TEXT NOT NULL,
  n INTEGER NOT NULL,
  kind TEXT NOT NULL,
  source_ts_ms INTEGER NOT NULL,
  recv_ms INTEGER NOT NULL,
  identity TEXT NOT NULL,
  body TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (pilot, vehicle, n)
) WITHOUT ROWID;
-- A resent batch appends nothing: the same reading has the same identity.
CREATE UNIQUE INDEX IF NOT EXISTS record_entries_identity ON record_entries (pilot, vehicle, identity);
CREATE INDEX IF NOT EXISTS record_entries_source_ts ON record_entries (pilot, source_ts_ms);
CREATE TABLE IF NOT EXISTS record_checkpoints (
  pilot TEXT NOT NULL,
  vehicle TEXT NOT NULL,
  through_n INTEGER NOT NULL,
  last_hash TEXT NOT NULL,
  removed_count INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  PRIMARY KEY (pilot, vehicle)
);
CREATE TABLE IF NOT EXISTS record_modes (
  pilot TEXT NOT NULL,
  vehicle TEXT NOT NULL,
  runs TEXT NOT NULL,
  PRIMARY KEY (pilot, vehicle)
);
`;

const key = (pilot: string, vehicle: string): string => `${pilot}\u0000${vehicle}`;

interface EntryRow {
  body: string;
  hash: string;
}

export class RecordStore {
  readonly db: Database.Database;
  private readonly tips = new Map<string, ChainTip>();
  private readonly insertEntry: Database.Statement;
  private readonly upsertModes: Database.Statement;
  private readonly appendTx: (drafts: readonly EntryDraft[], modes: readonly VehicleModes[]) => StoredEntry[];

  /** `file` is created with its directory when missing. */
  constructor(file: string, opts: { readonly?: boolean } = {}) {
    if (!opts.readonly) mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file, { readonly: opts.readonly === true, fileMustExist: opts.readonly === true });
    if (!opts.readonly) {
      this.db.pragma('journal_mode = WAL');
      // FULL: each commit is on disk (fsync of the WAL) before ingest goes on; the record is evidence,
      // and entries are rare (changes and events, not readings), so the fsync costs little.
      this.db.pragma('synchronous = FULL');
      this.db.exec(SCHEMA);
    }
    this.insertEntry = this.db.prepare(
      `INSERT INTO record_entries (pilot, vehicle, n, kind, source_ts_ms, recv_ms, identity, body, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (pilot, vehicle, identity) DO NOTHING`,
    );
    this.upsertModes = this.db.prepare(
      'INSERT INTO record_modes (pilot, vehicle, runs) VALUES (?, ?, ?) ON CONFLICT (pilot, vehicle) DO UPDATE SET runs = excluded.runs',
    );
    this.loadTips();
    this.appendTx = this.db.transaction((drafts: readonly EntryDraft[], modes: readonly VehicleModes[]) => {
      const appended: StoredEntry[] = [];
      const moved = new Map<string, ChainTip>();
      for (const d of drafts) {
        const k = key(d.pilot, d.vehicle);
        const tip = moved.get(k) ?? this.tips.get(k) ?? { pilot: d.pilot, vehicle: d.vehicle, n: -1, hash: GENESIS_HASH };
        const stored = chainEntry(d, tip.n + 1, tip.hash);
        const { changes } = this.insertEntry.run(
          d.pilot,
          d.vehicle,
          stored.entry.n,
          d.kind,
          d.sourceTsMs,
          d.recvMs,
          entryIdentity(d),
          stored.canonical,
          stored.hash,
        );
        if (changes === 0) continue;
        moved.set(k, { pilot: d.pilot, vehicle: d.vehicle, n: stored.entry.n, hash: stored.hash });
        appended.push(stored);
      }
      for (const m of modes) this.upsertModes.run(m.pilot, m.vehicle, JSON.stringify(m.runs));
      // The tips move only once the transaction commits: on a throw they still name the stored chain.
      return Object.assign(appended, { moved });
    });
  }

  /** The record as it is, for reading (verify, export); a file that is not one is the configuration's fault. */
  static openReadonly(file: string): RecordStore {
    try {
      return new RecordStore(file, { readonly: true });
    } catch (err) {
      throw new ConfigError(`records.dbFile: ${file} is not a record database michi can read: ${(err as Error).message}`, { file });
    }
  }

  /**
   * Appends the entries not stored yet (by identity) and saves the mode runs, in one transaction;
   * returns those appended. An entry numbered like one stored (another process appended to the same
   * file: one cloud per records.dbFile) throws; the tips are then read again, so a retry chains on.
   */
  append(drafts: readonly EntryDraft[], modes: readonly VehicleModes[] = []): StoredEntry[] {
    let appended: StoredEntry[] & { moved: Map<string, ChainTip> };
    try {
      appended = this.appendTx(drafts, modes) as StoredEntry[] & { moved: Map<string, ChainTip> };
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') this.loadTips();
      throw err;
    }
    for (const [k, tip] of appended.moved) this.tips.set(k, tip);
    return [...appended];
  }

  private loadTips(): void {
    for (const tip of this.db
      .prepare(
        `SELECT e.pilot, e.vehicle, e.n, e.hash FROM record_entries e
           JOIN (SELECT pilot, vehicle, MAX(n) AS n FROM record_entries GROUP BY pilot, vehicle) m
             ON e.pilot = m.pilot AND e.vehicle = m.vehicle AND e.n = m.n`,
      )
      .all() as ChainTip[]) {
      this.tips.set(key(tip.pilot, tip.vehicle), tip);
    }
  }

  loadModes(): VehicleModes[] {
    const rows = this.db.prepare('SELECT pilot, vehicle, runs FROM record_modes').all() as {
      pilot: string;
      vehicle: string;
      runs: string;
    }[];
    return rows.map((r) => ({ pilot: r.pilot, vehicle: r.vehicle, runs: JSON.parse(r.runs) as ModeRun[] }));
  }

  /** Every (pilot, vehicle) with entries or a checkpoint. */
  chains(): { pilot: string; vehicle: string }[] {
    return this.db
      .prepare(
        'SELECT DISTINCT pilot, vehicle FROM record_entries UNION SELECT pilot, vehicle FROM record_checkpoints ORDER BY pilot, vehicle',
      )
      .all() as { pilot: string; vehicle: string }[];
  }

  /** A chain's entries in order of n, as stored (not checked: the verifier does that). */
  *chainEntries(pilot: string, vehicle: string): Generator<{ n: number; canonical: string; hash: string }> {
    const stmt = this.db.prepare('SELECT n, body, hash FROM record_entries WHERE pilot = ? AND vehicle = ? ORDER BY n');
    for (const row of stmt.iterate(pilot, vehicle) as IterableIterator<EntryRow & { n: number }>) {
      yield { n: row.n, canonical: row.body, hash: row.hash };
    }
  }

  checkpoint(pilot: string, vehicle: string): Checkpoint | undefined {
    const row = this.db
      .prepare(
        'SELECT pilot, vehicle, through_n AS throughN, last_hash AS lastHash, removed_count AS removedCount, at_ms AS atMs FROM record_checkpoints WHERE pilot = ? AND vehicle = ?',
      )
      .get(pilot, vehicle) as Checkpoint | undefined;
    return row;
  }

  /** A pilot's entries by source time, per vehicle in chain order. */
  entries(q: EntryQuery): StoredEntry[] {
    const where = ['pilot = ?', 'source_ts_ms >= ?', 'source_ts_ms <= ?'];
    const args: (string | number)[] = [q.pilot, q.fromMs ?? 0, q.toMs ?? Number.MAX_SAFE_INTEGER];
    if (q.vehicle !== undefined) {
      where.push('vehicle = ?');
      args.push(q.vehicle);
    }
    args.push(q.limit ?? 10_000);
    const rows = this.db
      .prepare(`SELECT body, hash FROM record_entries WHERE ${where.join(' AND ')} ORDER BY vehicle, n LIMIT ?`)
      .all(...args) as EntryRow[];
    return rows.map((r) => ({ entry: JSON.parse(r.body) as RecordEntry, canonical: r.body, hash: r.hash }));
  }

  /**
   * Removes from the start of each chain the entries received before `cutoffMs` and appends a
   * retention entry naming the last one removed, in one transaction per chain. Returns the retention entries.
   */
  applyRetention(cutoffMs: number, nowMs: number): StoredEntry[] {
    const out: StoredEntry[] = [];
    const prefix = this.db.prepare('SELECT n, recv_ms AS recvMs, hash FROM record_entries WHERE pilot = ? AND vehicle = ? ORDER BY n');
    const remove = this.db.prepare('DELETE FROM record_entries WHERE pilot = ? AND vehicle = ? AND n <= ?');
    const saveCheckpoint = this.db.prepare(
      `INSERT INTO record_checkpoints (pilot, vehicle, through_n, last_hash, removed_count, at_ms) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (pilot, vehicle) DO UPDATE SET through_n = excluded.through_n, last_hash = excluded.last_hash,
         removed_count = record_checkpoints.removed_count + excluded.removed_count, at_ms = excluded.at_ms`,
    );
    for (const { pilot, vehicle } of this.chains()) {
      let last: { n: number; hash: string } | undefined;
      let count = 0;
      for (const row of prefix.iterate(pilot, vehicle) as IterableIterator<{ n: number; recvMs: number; hash: string }>) {
        if (row.recvMs >= cutoffMs) break;
        last = row;
        count++;
      }
      if (last === undefined) continue;
      const through = last;
      const removed = this.db.transaction(() => {
        remove.run(pilot, vehicle, through.n);
        saveCheckpoint.run(pilot, vehicle, through.n, through.hash, count, nowMs);
        const data: RetentionData = { removedCount: count, removedThroughN: through.n, lastRemovedHash: through.hash, cutoffMs };
        return this.appendTx(
          [
            {
              pilot,
              vehicle,
              kind: 'retention',
              sourceTsMs: nowMs,
              recvMs: nowMs,
              gateway: null,
              reading: null,
              position: null,
              late: false,
              data,
            },
          ],
          [],
        ) as StoredEntry[] & { moved: Map<string, ChainTip> };
      })();
      for (const [k, tip] of removed.moved) this.tips.set(k, tip);
      out.push(...removed);
    }
    return out;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

export interface VehicleModes {
  pilot: string;
  vehicle: string;
  runs: ModeRun[];
}
