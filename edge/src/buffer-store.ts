/**
 * The gateway's durable store of record: every reading acknowledged to a vehicle lives here until
 * the cloud acknowledges the batch holding it. Appends are group-committed (one SQLite transaction
 * per commitIntervalMs or commitMaxItems), and each append resolves only once its transaction is
 * committed, which is when the local broker may send the PUBACK.
 *
 * `ReadingBuffer` is the contract every store implements (see buffer-store.contract.ts); the uplink
 * and the broker only use that interface.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { encodeReading, readingBody, readingKind, type michi, type ReadingKind } from '@michi/proto';
import { BufferClosedError, BufferFullError } from './errors.js';

export interface BufferedItem {
  seq: number;
  /** One encoded michi.v1.Reading. */
  bytes: Uint8Array;
}

export interface BufferStats {
  /** Committed readings not yet acknowledged by the cloud. */
  depth: number;
  /** Their payload bytes (what buffer.maxBytes bounds). */
  bytes: number;
  /** When the oldest of them was received (ms since the epoch), or null when empty. */
  oldestTs: number | null;
  /** Appends waiting for the next group commit. */
  pending: number;
}

export interface ReadingBuffer {
  /** Resolves with the reading's seq once the group commit holding it is done; rejects with BufferFullError when full. */
  append(reading: michi.v1.Reading.$Properties): Promise<number>;
  /** Committed readings with seq > afterSeq in seq order: at most maxItems, and at most maxBytes (but always one). */
  peek(afterSeq: number, maxItems: number, maxBytes?: number): BufferedItem[];
  /** Forgets these readings (the cloud has them); returns how many were there. */
  delete(seqs: readonly number[]): number;
  stats(): BufferStats;
  /** Commits whatever waits now. */
  flush(): Promise<void>;
  /** Commits what waits, then closes; later appends reject with BufferClosedError. */
  close(): Promise<void>;
}

export interface BufferStoreOptions {
  path: string;
  maxBytes: number;
  commitIntervalMs: number;
  commitMaxItems: number;
  logger?: Logger | undefined;
  now?: () => number;
}

/** Events first when a backlog drains (issue 3); readings of one priority keep their seq order. */
const PRIORITY: Record<ReadingKind, number> = { event: 1, state: 0, link: 0, sensor: 0 };
const SCHEMA_VERSION = 1;

interface Pending {
  kind: ReadingKind;
  source: string;
  tsMs: number;
  bytes: Uint8Array;
  resolve: (seq: number) => void;
  reject: (err: unknown) => void;
}

export class BufferStore implements ReadingBuffer {
  private readonly db: Database.Database;
  private readonly opts: BufferStoreOptions;
  private readonly now: () => number;
  private readonly insertMany: (items: Pending[], receivedMs: number) => number[];
  private readonly selectAfter: Database.Statement<[number, number], { seq: number; payload: Buffer }>;
  private readonly deleteMany: (seqs: readonly number[]) => { count: number; bytes: number };
  private readonly selectOldest: Database.Statement<[], { received_ms: number }>;
  private pending: Pending[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private depth = 0;
  private bytes = 0;
  private closed = false;

  constructor(opts: BufferStoreOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    mkdirSync(dirname(opts.path), { recursive: true });
    this.db = new Database(opts.path);
    // WAL lets a commit append to one file instead of rewriting pages in place. synchronous=NORMAL
    // skips the fsync per commit (it fsyncs at checkpoints): a committed reading survives kill -9 of
    // the agent, since it is in the OS page cache, and only a power cut or kernel crash can lose the
    // last commits. An fsync per commit would cost more than the whole CPU budget of a Pi-class
    // gateway at 1,000 readings/s, and the cloud dedupes any reading a vehicle sends again.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    // After a checkpoint the WAL is truncated back to this size instead of keeping its peak.
    this.db.pragma('journal_size_limit = 67108864');
    this.migrate();

    const insert = this.db.prepare<[string, string, number, number, number, number, Uint8Array]>(
      'INSERT INTO readings (kind, source, priority, ts_ms, received_ms, size, payload) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.insertMany = this.db.transaction((items: Pending[], receivedMs: number) =>
      items.map((p) =>
        Number(insert.run(p.kind, p.source, PRIORITY[p.kind], p.tsMs, receivedMs, p.bytes.byteLength, p.bytes).lastInsertRowid),
      ),
    );
    this.selectAfter = this.db.prepare('SELECT seq, payload FROM readings WHERE seq > ? ORDER BY seq LIMIT ?');
    const remove = this.db.prepare<[string], { size: number }>(
      'DELETE FROM readings WHERE seq IN (SELECT value FROM json_each(?)) RETURNING size',
    );
    this.deleteMany = (seqs) => {
      const rows = remove.all(JSON.stringify(seqs));
      return { count: rows.length, bytes: rows.reduce((sum, r) => sum + r.size, 0) };
    };
    this.selectOldest = this.db.prepare('SELECT received_ms FROM readings ORDER BY seq LIMIT 1');
    const totals = this.db.prepare('SELECT COUNT(*) AS depth, COALESCE(SUM(size), 0) AS bytes FROM readings').get() as {
      depth: number;
      bytes: number;
    };
    this.depth = totals.depth;
    this.bytes = totals.bytes;
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(`${this.opts.path}: buffer schema version ${version} is newer than this agent's ${SCHEMA_VERSION}`);
    }
    // AUTOINCREMENT: a seq is never reused, even after the newest rows were deleted, because
    // (gateway, first_seq) names a batch upstream.
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS readings (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        source TEXT NOT NULL,
        priority INTEGER NOT NULL,
        ts_ms INTEGER NOT NULL,
        received_ms INTEGER NOT NULL,
        size INTEGER NOT NULL,
        payload BLOB NOT NULL
      );
      PRAGMA user_version = ${SCHEMA_VERSION};
    `);
  }

  append(reading: michi.v1.Reading.$Properties): Promise<number> {
    if (this.closed) return Promise.reject(new BufferClosedError());
    const kind = readingKind(reading);
    const body = readingBody(reading);
    const bytes = encodeReading(reading);
    const used = this.bytes + this.pendingBytes;
    if (used + bytes.byteLength > this.opts.maxBytes) {
      return Promise.reject(new BufferFullError(used, this.opts.maxBytes, bytes.byteLength));
    }
    return new Promise<number>((resolve, reject) => {
      this.pending.push({ kind, source: body.source_id, tsMs: Number(body.ts_ms), bytes, resolve, reject });
      this.pendingBytes += bytes.byteLength;
      if (this.pending.length >= this.opts.commitMaxItems) this.commit();
      else this.timer ??= setTimeout(() => this.commit(), this.opts.commitIntervalMs);
    });
  }

  private commit(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    const batchBytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    if (batch.length === 0) return;
    let seqs: number[];
    try {
      seqs = this.insertMany(batch, this.now());
    } catch (err) {
      // Nothing of this transaction is on disk: every sender is refused, keeps its reading and resends it.
      this.opts.logger?.error({ err, readings: batch.length }, 'buffer commit failed');
      for (const p of batch) p.reject(err);
      return;
    }
    this.depth += batch.length;
    this.bytes += batchBytes;
    batch.forEach((p, i) => p.resolve(seqs[i]!));
  }

  peek(afterSeq: number, maxItems: number, maxBytes = Infinity): BufferedItem[] {
    const out: BufferedItem[] = [];
    let total = 0;
    for (const row of this.selectAfter.iterate(afterSeq, maxItems)) {
      total += row.payload.byteLength;
      if (out.length > 0 && total > maxBytes) break;
      out.push({ seq: row.seq, bytes: row.payload });
    }
    return out;
  }

  delete(seqs: readonly number[]): number {
    if (seqs.length === 0) return 0;
    const { count, bytes } = this.deleteMany(seqs);
    this.depth -= count;
    this.bytes -= bytes;
    return count;
  }

  stats(): BufferStats {
    const oldest = this.closed ? undefined : this.selectOldest.get();
    return { depth: this.depth, bytes: this.bytes, oldestTs: oldest?.received_ms ?? null, pending: this.pending.length };
  }

  flush(): Promise<void> {
    this.commit();
    return Promise.resolve();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.commit();
    this.closed = true;
    this.db.close();
  }
}
