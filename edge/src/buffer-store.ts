/**
 * The gateway's durable store of record: every reading acknowledged to a vehicle lives here until
 * the cloud acknowledges the batch holding it. Appends are group-committed (one SQLite transaction
 * per commitIntervalMs or commitMaxItems), and each append resolves only once its transaction is
 * committed, which is when the local broker may send the PUBACK. Deletions of acknowledged rows
 * ride along in the next group commit instead of costing a transaction each.
 *
 * A reading can be read (peek) as soon as it is appended, before its commit, so that the uplink
 * forwards it without waiting for the group commit: the commit interval bounds SD-card wear, and
 * must not add to the latency of the live path. If the cloud acknowledges a reading before its
 * commit, the append resolves then (the reading is in InfluxDB, more durable than this disk) and
 * the reading is never written here. A crash before the commit loses only readings whose
 * senders were not acknowledged; they resend, and the cloud overwrites the copy it may have.
 *
 * Bounded by payload bytes (buffer.maxBytes). When a reading does not fit, the buffer evicts the
 * oldest routine telemetry to make room, link samples first, then vehicle states and sensor
 * readings; events are never evicted, and rows in flight upstream are never evicted. A reading
 * that still does not fit is refused (BufferFullError), not acknowledged. docs/edge.md states it.
 *
 * `ReadingBuffer` is the contract every store implements (see buffer-store.contract.ts); the uplink
 * and the broker only use that interface.
 */
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { encodeReading, readingKind, type michi, type ReadingKind } from '@michi/proto';
import { BufferClosedError, BufferFullError } from './errors.js';

export interface BufferedItem {
  seq: number;
  /** One encoded michi.v1.Reading. */
  bytes: Uint8Array;
  /** When the agent appended it (ms since the epoch): the uplink reports how long it was held. */
  receivedMs: number;
}

export interface BufferStats {
  /** Committed readings not yet acknowledged by the cloud (appends waiting for their commit not included). */
  depth: number;
  /** Their payload bytes (what buffer.maxBytes bounds). */
  bytes: number;
  /** When the oldest of them was received (ms since the epoch), or null when empty. */
  oldestTs: number | null;
  /** Appends waiting for the next group commit (and not yet acknowledged by the cloud). */
  pending: number;
}

/** Which rows a peek looks at: `upTo` bounds the seq (inclusive); events only, or all but events. */
export interface PeekFilter {
  upTo?: number;
  events?: 'only' | 'exclude';
}

/** Why buffered readings were removed without the cloud's acknowledgement. */
export type DropReason = 'buffer_full' | 'corrupt';

export interface ReadingBuffer {
  /**
   * Resolves with the reading's seq once the group commit holding it is done. Makes room by the
   * eviction policy when needed; rejects with BufferFullError when even that cannot. `encoded`, when
   * given, is the reading's protobuf encoding (decodeReadingPayloadEncoded), stored instead of encoding it again.
   */
  append(reading: michi.v1.Reading.$Properties, encoded?: Uint8Array): Promise<number>;
  /**
   * Readings with seq > afterSeq in seq order, committed or still waiting for their commit: at most
   * maxItems, and at most maxBytes (but always one).
   */
  peek(afterSeq: number, maxItems: number, maxBytes?: number, filter?: PeekFilter): BufferedItem[];
  /** The highest seq peek can return (0 when nothing was ever appended). */
  lastSeq(): number;
  /**
   * Forgets these readings (the cloud has them); returns how many were there. A reading still
   * waiting for its commit is not written at all, and its append resolves now.
   */
  delete(seqs: readonly number[]): number;
  /** Sets the given hooks, keeping the others. */
  attach(hooks: BufferHooks): void;
  stats(): BufferStats;
  /** Commits whatever waits now. */
  flush(): Promise<void>;
  /** Commits what waits, then closes; later appends reject with BufferClosedError. */
  close(): Promise<void>;
}

export interface BufferHooks {
  /** Rows for which this answers true (in flight upstream) are never evicted. */
  pinned?: (seq: number) => boolean;
  /** Told about every reading removed without an acknowledgement (the metrics count them). */
  onDrop?: (reason: DropReason, kind: ReadingKind, count: number) => void;
  /** Told about every append as it happens, before its commit: peek returns it from now on. */
  onAppend?: (seq: number, kind: ReadingKind) => void;
}

export interface BufferStoreOptions {
  path: string;
  maxBytes: number;
  commitIntervalMs: number;
  commitMaxItems: number;
  logger?: Logger | undefined;
  now?: () => number;
}

/**
 * Eviction order and upstream order: link samples are the first to go when the buffer is full,
 * then states and sensor readings; events are never evicted and jump the queue upstream.
 */
export const PRIORITY: Readonly<Record<ReadingKind, number>> = { link: 0, state: 1, sensor: 1, event: 2 };
const EVENT_PRIORITY = 2;
const EVICTABLE_PRIORITIES = [0, 1] as const;
const SCHEMA_VERSION = 2;
/** An eviction frees at least this share of maxBytes, so that a full buffer is not scanned per reading. */
const EVICTION_SLACK = 0.01;
/** Deletions alone (no appends flowing, e.g. while a backlog drains) are committed at least this often. */
const DELETE_COMMIT_MS = 250;

interface Pending {
  seq: number;
  kind: ReadingKind;
  priority: number;
  bytes: Uint8Array;
  receivedMs: number;
  resolve: (seq: number) => void;
  reject: (err: unknown) => void;
  /** The cloud acknowledged it before its commit: resolved already, and never written. */
  acked: boolean;
}

interface Row {
  seq: number;
  payload: Buffer;
  received_ms: number;
}

export class BufferStore implements ReadingBuffer {
  private readonly db: Database.Database;
  private readonly opts: BufferStoreOptions;
  private readonly now: () => number;
  private readonly insert: Database.Statement<[number, string, number, number, Uint8Array]>;
  private readonly select: Record<'all' | 'only' | 'exclude', Database.Statement<[number, number, number], Row>>;
  private readonly remove: Database.Statement<[string], { size: number; priority: number }>;
  private readonly selectOldest: Database.Statement<[], { received_ms: number }>;
  private readonly selectVictims: Database.Statement<[number, number, number], { seq: number; size: number; kind: ReadingKind }>;
  private readonly saveHighWater: Database.Statement<[number]>;
  private hooks: BufferHooks = {};
  private pending: Pending[] = [];
  private readonly pendingBySeq = new Map<number, Pending>();
  /** Bytes of the pending appends not acknowledged yet (they count toward maxBytes). */
  private pendingBytes = 0;
  private pendingAcked = 0;
  /** A write transaction holds deletions (and evictions) not yet committed. */
  private inTransaction = false;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;
  private depth = 0;
  private bytes = 0;
  /** Committed rows per priority, so that eviction skips empty classes without a scan. */
  private readonly countByPriority = [0, 0, 0];
  private nextSeq: number;
  private committedSeq: number;
  private closed = false;

  constructor(opts: BufferStoreOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    // The readings are a pilot's vehicle positions: only the agent's user may read them, whatever
    // the umask. SQLite creates the -wal and -shm files with the database file's mode.
    mkdirSync(dirname(opts.path), { recursive: true, mode: 0o700 });
    closeSync(openSync(opts.path, 'a', 0o600));
    chmodSync(opts.path, 0o600);
    this.db = new Database(opts.path);
    // Smaller pages mean fewer bytes per commit: every commit rewrites at least the last, partly
    // filled leaf page and a few b-tree pages (measured at 1,000 readings/s: 4 KiB pages wrote
    // 2.6-3.9x the payload, 1 KiB pages 1.8-2.2x; docs/benchmarks.md). Only takes effect on a new file.
    this.db.pragma('page_size = 1024');
    // WAL lets a commit append to one file instead of rewriting pages in place. synchronous=NORMAL
    // skips the fsync per commit (it fsyncs at checkpoints): a committed reading survives kill -9 of
    // the agent, since it is in the OS page cache, and only a power cut or kernel crash can lose the
    // last commits. An fsync per commit would cost more than the whole CPU budget of a Pi-class
    // gateway at 1,000 readings/s, and the cloud dedupes any reading a vehicle sends again.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    // After a checkpoint the WAL is truncated back to this size instead of keeping its peak.
    this.db.pragma('journal_size_limit = 16777216');
    this.migrate();

    this.insert = this.db.prepare('INSERT INTO readings (seq, kind, priority, received_ms, payload) VALUES (?, ?, ?, ?, ?)');
    const sel = (where: string) =>
      this.db.prepare<[number, number, number], Row>(
        `SELECT seq, payload, received_ms FROM readings WHERE seq > ? AND seq <= ? ${where} ORDER BY seq LIMIT ?`,
      );
    this.select = {
      all: sel(''),
      only: sel(`AND priority = ${EVENT_PRIORITY}`),
      exclude: sel(`AND priority < ${EVENT_PRIORITY}`),
    };
    this.remove = this.db.prepare(
      'DELETE FROM readings WHERE seq IN (SELECT value FROM json_each(?)) RETURNING length(payload) AS size, priority',
    );
    this.selectOldest = this.db.prepare('SELECT received_ms FROM readings ORDER BY seq LIMIT 1');
    this.selectVictims = this.db.prepare(
      'SELECT seq, length(payload) AS size, kind FROM readings WHERE priority = ? AND seq > ? ORDER BY seq LIMIT ?',
    );
    this.saveHighWater = this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('high_water_seq', ?)");

    this.recount();
    const maxSeq = (this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM readings').get() as { s: number }).s;
    const highWater = (this.db.prepare("SELECT value FROM meta WHERE key = 'high_water_seq'").get() as { value: number } | undefined)
      ?.value;
    this.committedSeq = Math.max(maxSeq, highWater ?? 0);
    this.nextSeq = this.committedSeq + 1;
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(`${this.opts.path}: buffer schema version ${version} is newer than this agent's ${SCHEMA_VERSION}`);
    }
    // Seqs are assigned here, not by AUTOINCREMENT (whose sqlite_sequence row costs one more page
    // per commit); meta.high_water_seq, saved at close, keeps them from being reused after a restart.
    // The partial index holds only events, so it costs nothing for routine telemetry.
    const v2 = `
      CREATE TABLE IF NOT EXISTS readings (
        seq INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        priority INTEGER NOT NULL,
        received_ms INTEGER NOT NULL,
        payload BLOB NOT NULL
      );
      CREATE INDEX IF NOT EXISTS readings_events ON readings (seq) WHERE priority = ${EVENT_PRIORITY};
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);`;
    if (version === 1) {
      // Version 1 (the first agent) had source, ts_ms and size columns and AUTOINCREMENT.
      this.db.transaction(() => {
        this.db.exec('ALTER TABLE readings RENAME TO readings_v1');
        this.db.exec(v2);
        this.db.exec(`INSERT INTO readings (seq, kind, priority, received_ms, payload)
          SELECT seq, kind, CASE kind WHEN 'link' THEN 0 WHEN 'event' THEN ${EVENT_PRIORITY} ELSE 1 END, received_ms, payload FROM readings_v1`);
        this.db.exec(`INSERT OR REPLACE INTO meta (key, value) SELECT 'high_water_seq', COALESCE(MAX(seq), 0) FROM readings_v1`);
        this.db.exec('DROP TABLE readings_v1');
        this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
      })();
      return;
    }
    this.db.exec(`${v2}\nPRAGMA user_version = ${SCHEMA_VERSION};`);
  }

  attach(hooks: BufferHooks): void {
    this.hooks = { ...this.hooks, ...hooks };
  }

  append(reading: michi.v1.Reading.$Properties, encoded?: Uint8Array): Promise<number> {
    if (this.closed) return Promise.reject(new BufferClosedError());
    const kind = readingKind(reading);
    const priority = PRIORITY[kind];
    const bytes = encoded ?? encodeReading(reading);
    const used = this.bytes + this.pendingBytes;
    if (used + bytes.byteLength > this.opts.maxBytes) {
      const needed = used + bytes.byteLength - this.opts.maxBytes;
      try {
        if (!this.evict(needed)) return Promise.reject(new BufferFullError(used, this.opts.maxBytes, bytes.byteLength));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const seq = this.nextSeq++;
    const appended = new Promise<number>((resolve, reject) => {
      const p: Pending = { seq, kind, priority, bytes, receivedMs: this.now(), resolve, reject, acked: false };
      this.pending.push(p);
      this.pendingBySeq.set(seq, p);
      this.pendingBytes += bytes.byteLength;
    });
    this.hooks.onAppend?.(seq, kind);
    if (this.pending.length >= this.opts.commitMaxItems) this.commit();
    else this.schedule(this.opts.commitIntervalMs);
    return appended;
  }

  /**
   * Deletes committed, unpinned routine rows, link samples first, oldest first, until at least
   * `needed` bytes (and the slack) are free. Deletes nothing and answers false if that is not possible.
   */
  private evict(needed: number): boolean {
    const target = Math.max(needed, Math.floor(this.opts.maxBytes * EVICTION_SLACK));
    const victims: { seq: number; size: number; kind: ReadingKind }[] = [];
    let freed = 0;
    for (const priority of EVICTABLE_PRIORITIES) {
      let after = 0;
      while (freed < target && this.countByPriority[priority]! > 0) {
        const rows = this.selectVictims.all(priority, after, 1_000);
        if (rows.length === 0) break;
        for (const row of rows) {
          after = row.seq;
          if (this.hooks.pinned?.(row.seq)) continue;
          victims.push(row);
          freed += row.size;
          if (freed >= target) break;
        }
      }
      if (freed >= target) break;
    }
    if (freed < needed) return false;
    this.deleteRows(victims.map((v) => v.seq));
    const byKind = new Map<ReadingKind, number>();
    for (const v of victims) byKind.set(v.kind, (byKind.get(v.kind) ?? 0) + 1);
    for (const [kind, count] of byKind) this.hooks.onDrop?.('buffer_full', kind, count);
    this.opts.logger?.warn(
      { evicted: victims.length, bytes: freed, byKind: Object.fromEntries(byKind) },
      'buffer full: evicted the oldest routine telemetry',
    );
    return true;
  }

  private schedule(ms: number): void {
    const due = this.now() + ms;
    if (this.timer && this.timerDue <= due) return;
    clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => this.commit(), ms);
  }

  private begin(): void {
    if (this.inTransaction) return;
    this.db.exec('BEGIN IMMEDIATE');
    this.inTransaction = true;
  }

  private commit(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDue = Infinity;
    const lastSeq = this.pending.at(-1)?.seq;
    const batch = this.pendingAcked > 0 ? this.pending.filter((p) => !p.acked) : this.pending;
    const batchBytes = this.pendingBytes;
    this.pending = [];
    this.pendingBySeq.clear();
    this.pendingBytes = 0;
    this.pendingAcked = 0;
    if (batch.length === 0 && !this.inTransaction) {
      if (lastSeq !== undefined) this.committedSeq = lastSeq;
      return;
    }
    try {
      this.begin();
      for (const p of batch) this.insert.run(p.seq, p.kind, p.priority, p.receivedMs, p.bytes);
      this.db.exec('COMMIT');
      this.inTransaction = false;
      if (lastSeq !== undefined) this.committedSeq = lastSeq;
    } catch (err) {
      // Nothing of this transaction is on disk: every sender is refused, keeps its reading and
      // resends it; deletions it held come back and their readings are sent (and overwritten) again.
      this.opts.logger?.error({ err, readings: batch.length }, 'buffer commit failed');
      if (this.inTransaction) {
        try {
          this.db.exec('ROLLBACK');
        } catch {
          // SQLite may have rolled back already (e.g. SQLITE_FULL); the recount below is what matters.
        }
        this.inTransaction = false;
        this.recount();
      }
      // Those the cloud acknowledged were resolved already: they are in InfluxDB.
      for (const p of batch) p.reject(err);
      return;
    }
    this.depth += batch.length;
    this.bytes += batchBytes;
    for (const p of batch) {
      this.countByPriority[p.priority]!++;
      p.resolve(p.seq);
    }
  }

  /** The counters from the table itself: when the store opens, and after a failed write transaction. */
  private recount(): void {
    this.depth = 0;
    this.bytes = 0;
    this.countByPriority.fill(0);
    const totals = this.db
      .prepare<[], { priority: number; depth: number; bytes: number }>(
        'SELECT priority, COUNT(*) AS depth, COALESCE(SUM(length(payload)), 0) AS bytes FROM readings GROUP BY priority',
      )
      .all();
    for (const t of totals) {
      this.depth += t.depth;
      this.bytes += t.bytes;
      this.countByPriority[t.priority] = t.depth;
    }
  }

  peek(afterSeq: number, maxItems: number, maxBytes = Infinity, filter: PeekFilter = {}): BufferedItem[] {
    if (this.closed) return [];
    const out: BufferedItem[] = [];
    let total = 0;
    const upTo = filter.upTo ?? Number.MAX_SAFE_INTEGER;
    const fits = (size: number): boolean => {
      total += size;
      return out.length === 0 || total <= maxBytes;
    };
    // Every committed seq is below every pending one, so committed rows first, then pending, is seq order.
    // The counts per priority spare the query when no committed row could match, as in steady
    // state, where the cloud acknowledges most readings before their commit.
    const committed =
      filter.events === 'only'
        ? this.countByPriority[EVENT_PRIORITY]!
        : filter.events === 'exclude'
          ? this.depth - this.countByPriority[EVENT_PRIORITY]!
          : this.depth;
    if (committed > 0 && afterSeq < this.committedSeq) {
      for (const row of this.select[filter.events ?? 'all'].iterate(afterSeq, upTo, maxItems)) {
        if (!fits(row.payload.byteLength)) return out;
        out.push({ seq: row.seq, bytes: row.payload, receivedMs: row.received_ms });
      }
    }
    // Pending appends are in seq order: start at the first one after afterSeq.
    let lo = 0;
    for (let hi = this.pending.length; lo < hi;) {
      const mid = (lo + hi) >>> 1;
      if (this.pending[mid]!.seq <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.pending.length; i++) {
      const p = this.pending[i]!;
      if (out.length >= maxItems || p.seq > upTo) break;
      if (p.acked) continue;
      if (filter.events && (p.priority === EVENT_PRIORITY) !== (filter.events === 'only')) continue;
      if (!fits(p.bytes.byteLength)) break;
      out.push({ seq: p.seq, bytes: p.bytes, receivedMs: p.receivedMs });
    }
    return out;
  }

  lastSeq(): number {
    return this.nextSeq - 1;
  }

  delete(seqs: readonly number[]): number {
    if (seqs.length === 0 || this.closed) return 0;
    const committed: number[] = [];
    let count = 0;
    for (const seq of seqs) {
      const p = this.pendingBySeq.get(seq);
      if (!p) committed.push(seq);
      else if (!p.acked) {
        // Resolved now, not with the commit: a sender that waits for each PUBACK before the next
        // publish (mqtt.js does so for what it queued while offline; aedes reads a connection's
        // next packets only once the previous read's are acknowledged) gets one reading per
        // PUBACK, and the acknowledgement is usually sooner than the commit.
        p.acked = true;
        this.pendingBytes -= p.bytes.byteLength;
        this.pendingAcked++;
        p.resolve(seq);
        count++;
      }
    }
    if (committed.length === 0) return count;
    count += this.deleteRows(committed);
    this.schedule(DELETE_COMMIT_MS);
    return count;
  }

  /** Deletes inside the open write transaction; the next commit makes it durable. */
  private deleteRows(seqs: readonly number[]): number {
    this.begin();
    const rows = this.remove.all(JSON.stringify(seqs));
    for (const r of rows) {
      this.bytes -= r.size;
      this.countByPriority[r.priority]!--;
    }
    this.depth -= rows.length;
    return rows.length;
  }

  stats(): BufferStats {
    const oldest = this.closed ? undefined : this.selectOldest.get();
    return {
      depth: this.depth,
      bytes: this.bytes,
      oldestTs: oldest?.received_ms ?? null,
      pending: this.pending.length - this.pendingAcked,
    };
  }

  flush(): Promise<void> {
    this.commit();
    return Promise.resolve();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.commit();
    this.closed = true;
    try {
      this.saveHighWater.run(this.committedSeq);
    } catch (err) {
      this.opts.logger?.warn({ err }, 'could not save the buffer high-water seq');
    }
    this.db.close();
  }
}
