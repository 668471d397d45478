/**
 * Alarms and their history in SQLite (better-sqlite3, WAL): `alarms` holds one row per alarm, open
 * or cleared, `alarm_changes` one row per change with an increasing changeId. Each change is written
 * in one transaction together with whatever the registered change sinks write (the webhook outbox
 * inserts its own row there), so a change is either stored and queued for every sink, or not at all.
 * The engine writes only on changes, never per reading.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Alarm, AlarmChange, AlarmChangeKind, AlarmRule, AlarmSeverity, AlarmState } from './alarm-change.js';

/** Called inside the transaction of each change; throwing rolls the change back. */
export interface AlarmChangeSink {
  enqueue(change: AlarmChange): void;
}

export interface AlarmHistoryQuery {
  fromMs: number;
  toMs: number;
  source?: string;
  rule?: AlarmRule;
  severity?: AlarmSeverity;
  /** The alarm's state after the change. */
  state?: AlarmState;
  /** Newest first, at most this many; default 1,000. */
  limit?: number;
}

/** An open alarm as loaded at start-up, with the cloud time it was raised. */
export interface StoredOpenAlarm {
  alarm: Alarm;
  raisedAtMs: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS alarms (
  id TEXT PRIMARY KEY,
  pilot TEXT NOT NULL,
  source TEXT NOT NULL,
  rule TEXT NOT NULL,
  severity TEXT NOT NULL,
  state TEXT NOT NULL,
  raised_at_ms INTEGER NOT NULL,
  last_seen_ts_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  body TEXT NOT NULL
);
-- At most one open alarm per (pilot, source, rule), whatever the engine does.
CREATE UNIQUE INDEX IF NOT EXISTS alarms_one_open ON alarms (pilot, source, rule) WHERE state != 'cleared';
CREATE INDEX IF NOT EXISTS alarms_pilot_state ON alarms (pilot, state);
CREATE TABLE IF NOT EXISTS alarm_changes (
  change_id INTEGER PRIMARY KEY AUTOINCREMENT,
  alarm_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  pilot TEXT NOT NULL,
  source TEXT NOT NULL,
  rule TEXT NOT NULL,
  severity TEXT NOT NULL,
  state TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alarm_changes_pilot_at ON alarm_changes (pilot, at_ms);
-- For pruning by age across pilots (alarms.keepHistoryDays): the oldest rows first, without a scan.
CREATE INDEX IF NOT EXISTS alarm_changes_at ON alarm_changes (at_ms);
`;

interface ChangeRow {
  change_id: number;
  kind: AlarmChangeKind;
  at_ms: number;
  body: string;
}

export class AlarmStore {
  /** For change sinks that keep their own tables in the same file and transactions. */
  readonly db: Database.Database;
  private readonly sinks: AlarmChangeSink[] = [];
  private readonly insertChange: Database.Statement;
  private readonly upsertAlarm: Database.Statement;
  private readonly pruneHistoryStmt: Database.Statement<[number, number]>;
  private readonly commitTx: (kind: AlarmChangeKind, atMs: number, alarm: Alarm, raisedAtMs: number) => AlarmChange;

  /** `file` is created with its directory when missing; ':memory:' for a store that dies with the process. */
  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a committed change survives a crash of the process (kill -9), only a
    // power loss may lose the last transactions (https://www.sqlite.org/pragma.html#pragma_synchronous).
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    this.insertChange = this.db.prepare(
      'INSERT INTO alarm_changes (alarm_id, kind, at_ms, pilot, source, rule, severity, state, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.upsertAlarm = this.db.prepare(
      `INSERT INTO alarms (id, pilot, source, rule, severity, state, raised_at_ms, last_seen_ts_ms, updated_at_ms, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET state = excluded.state, severity = excluded.severity,
         last_seen_ts_ms = excluded.last_seen_ts_ms, updated_at_ms = excluded.updated_at_ms, body = excluded.body`,
    );
    this.pruneHistoryStmt = this.db.prepare(
      `DELETE FROM alarm_changes WHERE change_id IN (
         SELECT c.change_id FROM alarm_changes c WHERE c.at_ms < ?
           AND NOT EXISTS (SELECT 1 FROM alarms a WHERE a.id = c.alarm_id AND a.state != 'cleared')
         ORDER BY c.at_ms LIMIT ?
       )`,
    );
    this.commitTx = this.db.transaction((kind: AlarmChangeKind, atMs: number, alarm: Alarm, raisedAtMs: number) => {
      const body = JSON.stringify(alarm);
      const { lastInsertRowid } = this.insertChange.run(
        alarm.id,
        kind,
        atMs,
        alarm.pilot,
        alarm.source,
        alarm.rule,
        alarm.severity,
        alarm.state,
        body,
      );
      this.upsertAlarm.run(
        alarm.id,
        alarm.pilot,
        alarm.source,
        alarm.rule,
        alarm.severity,
        alarm.state,
        raisedAtMs,
        alarm.lastSeenTsMs,
        atMs,
        body,
      );
      // A copy: the engine goes on changing its alarm objects after the change is committed.
      const change: AlarmChange = { changeId: Number(lastInsertRowid), kind, atMs, alarm: JSON.parse(body) as Alarm };
      for (const sink of this.sinks) sink.enqueue(change);
      return change;
    });
  }

  addChangeSink(sink: AlarmChangeSink): void {
    this.sinks.push(sink);
  }

  /** Stores one change of `alarm` (as it is after the change) and hands it to every sink, in one transaction. */
  commit(kind: AlarmChangeKind, atMs: number, alarm: Alarm, raisedAtMs: number): AlarmChange {
    return this.commitTx(kind, atMs, alarm, raisedAtMs);
  }

  /** Every alarm not cleared, of every pilot: what the engine puts back at start-up. */
  loadOpen(): StoredOpenAlarm[] {
    const rows = this.db.prepare("SELECT body, raised_at_ms FROM alarms WHERE state != 'cleared'").all() as {
      body: string;
      raised_at_ms: number;
    }[];
    return rows.map((r) => ({ alarm: JSON.parse(r.body) as Alarm, raisedAtMs: r.raised_at_ms }));
  }

  /** The newest source time any alarm of (pilot, source, rule) has seen, open or cleared, for the rules in `rules`. */
  lastSeen(rules: readonly AlarmRule[]): { pilot: string; source: string; rule: AlarmRule; lastSeenTsMs: number }[] {
    if (rules.length === 0) return [];
    return this.db
      .prepare(
        `SELECT pilot, source, rule, MAX(last_seen_ts_ms) AS lastSeenTsMs FROM alarms WHERE rule IN (${rules.map(() => '?').join(', ')}) GROUP BY pilot, source, rule`,
      )
      .all(...rules) as { pilot: string; source: string; rule: AlarmRule; lastSeenTsMs: number }[];
  }

  listOpen(pilot: string): Alarm[] {
    const rows = this.db
      .prepare("SELECT body FROM alarms WHERE pilot = ? AND state != 'cleared' ORDER BY raised_at_ms DESC")
      .all(pilot) as { body: string }[];
    return rows.map((r) => JSON.parse(r.body) as Alarm);
  }

  get(id: string): Alarm | undefined {
    const row = this.db.prepare('SELECT body FROM alarms WHERE id = ?').get(id) as { body: string } | undefined;
    return row && (JSON.parse(row.body) as Alarm);
  }

  /** Changes of a pilot's alarms from `fromMs` (inclusive) to `toMs` (exclusive), cloud time, newest first. */
  history(pilot: string, q: AlarmHistoryQuery): AlarmChange[] {
    const where = ['pilot = ?', 'at_ms >= ?', 'at_ms < ?'];
    const args: (string | number)[] = [pilot, q.fromMs, q.toMs];
    for (const key of ['source', 'rule', 'severity', 'state'] as const) {
      const v = q[key];
      if (v === undefined) continue;
      where.push(`${key} = ?`);
      args.push(v);
    }
    args.push(q.limit ?? 1_000);
    const rows = this.db
      .prepare(`SELECT change_id, kind, at_ms, body FROM alarm_changes WHERE ${where.join(' AND ')} ORDER BY change_id DESC LIMIT ?`)
      .all(...args) as ChangeRow[];
    return rows.map((r) => ({ changeId: r.change_id, kind: r.kind, atMs: r.at_ms, alarm: JSON.parse(r.body) as Alarm }));
  }

  /**
   * Each alarm of a pilot that changed from `fromMs` to `toMs` (both inclusive, cloud time), as it was
   * after its last change in that range, most recently changed first. Source, rule and severity pick
   * the alarms; `state` is that of the alarm after that last change. Read from the history, so
   * alarms pruned from the alarms table are still found.
   */
  alarmsChangedIn(pilot: string, q: AlarmHistoryQuery): Alarm[] {
    const where = ['pilot = ?', 'at_ms >= ?', 'at_ms <= ?'];
    const args: (string | number)[] = [pilot, q.fromMs, q.toMs];
    for (const key of ['source', 'rule', 'severity'] as const) {
      const v = q[key];
      if (v === undefined) continue;
      where.push(`${key} = ?`);
      args.push(v);
    }
    const state = q.state === undefined ? '' : 'AND state = ?';
    if (q.state !== undefined) args.push(q.state);
    args.push(q.limit ?? 1_000);
    const rows = this.db
      .prepare(
        `SELECT body FROM alarm_changes WHERE change_id IN (
           SELECT MAX(change_id) FROM alarm_changes WHERE ${where.join(' AND ')} GROUP BY alarm_id
         ) ${state} ORDER BY change_id DESC LIMIT ?`,
      )
      .all(...args) as { body: string }[];
    return rows.map((r) => JSON.parse(r.body) as Alarm);
  }

  /** Drops cleared alarms last changed before `beforeMs` from `alarms` (their changes stay in the history); returns how many. */
  pruneCleared(beforeMs: number): number {
    return this.db.prepare("DELETE FROM alarms WHERE state = 'cleared' AND updated_at_ms < ?").run(beforeMs).changes;
  }

  /**
   * Deletes at most `limit` changes made before `beforeMs`, the oldest first, except those of alarms
   * still open (an open alarm keeps its whole story); returns how many. One short transaction, so
   * a caller that repeats it between other work never holds the database for long.
   */
  pruneHistory(beforeMs: number, limit: number): number {
    return this.pruneHistoryStmt.run(beforeMs, limit).changes;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
