/**
 * Signed alarm webhooks from a durable outbox. The alarm store calls `enqueue` inside the SQLite
 * transaction that commits a change, so a change is in the outbox exactly when it is in the store,
 * whatever is killed when. One loop per webhook then POSTs its rows strictly in changeId order
 * (head of line: a row goes out only once the one before it was delivered or given up), retrying
 * with capped exponential backoff; delivered rows are kept a while for inspection, then pruned.
 * Delivery is at least once: a POST in flight at a kill is sent again, with the same
 * `x-michi-delivery` id, so receivers can drop the repeat (docs/alarms.md, "Webhooks").
 */
import { createHmac } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { AlarmChange } from './alarm-change.js';
import { webhookWants, type ResolvedWebhook } from './webhook-config.js';
import type { CloudMetrics } from '../metrics.js';

/** Why a POST did not deliver, as the `result` label; `refused` is final, the others are retried. */
type DeliveryFailure = 'refused' | 'server_error' | 'throttled' | 'timeout' | 'unreachable';

export interface WebhookOutboxDeps {
  logger: Logger;
  metrics?: Pick<CloudMetrics, 'webhookDeliveries' | 'webhookOutboxPending'>;
  /** How long delivered and given-up rows stay in the table (default one day). */
  keepDoneMs?: number;
  /** How often rows older than keepDoneMs are deleted (default ten minutes). */
  pruneEveryMs?: number;
}

interface OutboxRow {
  change_id: number;
  kind: string;
  body: string;
  attempts: number;
  next_attempt_ms: number;
}

type Attempt =
  { ok: true; status: number } | { ok: false; failure: DeliveryFailure; status: number; detail: string; retryAfterMs?: number };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS webhook_outbox (
  webhook TEXT NOT NULL,
  change_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  -- the JSON body exactly as it is sent and signed
  body TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL,
  -- NULL while pending; 'delivered' (2xx) or 'refused' (given up)
  outcome TEXT,
  done_ms INTEGER,
  last_status INTEGER,
  last_error TEXT,
  PRIMARY KEY (webhook, change_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS webhook_outbox_pending ON webhook_outbox (webhook, change_id) WHERE outcome IS NULL;
CREATE INDEX IF NOT EXISTS webhook_outbox_done ON webhook_outbox (done_ms) WHERE outcome IS NOT NULL;
`;

/** A receiver asking to wait longer than this (Retry-After) is retried after this. */
const MAX_RETRY_AFTER_MS = 3_600_000;
/** How much of a refusal's body is logged and kept in the row. */
const REFUSAL_TEXT_CHARS = 200;

export class WebhookOutbox {
  private readonly webhooks: readonly ResolvedWebhook[];
  private readonly deps: WebhookOutboxDeps;
  private readonly insert: Statement<[string, number, string, string, number]>;
  private readonly head: Statement<[string], OutboxRow>;
  private readonly pendingCount: Statement<[string], { n: number }>;
  private readonly markDone: Statement<[string, number, number, string, string, number]>;
  private readonly markRetry: Statement<[number, number, string, string, number]>;
  private readonly prune: Statement<[number]>;
  private readonly wakers = new Map<string, () => void>();
  private readonly aborter = new AbortController();
  private loops: Promise<void>[] = [];
  private pruneTimer: NodeJS.Timeout | undefined;
  private started = false;

  constructor(db: Database, webhooks: readonly ResolvedWebhook[], deps: WebhookOutboxDeps) {
    this.webhooks = webhooks;
    this.deps = deps;
    db.exec(SCHEMA);
    this.insert = db.prepare(
      'INSERT OR IGNORE INTO webhook_outbox (webhook, change_id, kind, body, created_ms, next_attempt_ms) VALUES (?, ?, ?, ?, ?, 0)',
    );
    this.head = db.prepare(
      'SELECT change_id, kind, body, attempts, next_attempt_ms FROM webhook_outbox WHERE webhook = ? AND outcome IS NULL ORDER BY change_id LIMIT 1',
    );
    this.pendingCount = db.prepare('SELECT COUNT(*) AS n FROM webhook_outbox WHERE webhook = ? AND outcome IS NULL');
    this.markDone = db.prepare(
      'UPDATE webhook_outbox SET outcome = ?, last_status = ?, done_ms = ?, last_error = ?, attempts = attempts + 1 WHERE webhook = ? AND change_id = ?',
    );
    this.markRetry = db.prepare(
      'UPDATE webhook_outbox SET next_attempt_ms = ?, last_status = ?, last_error = ?, attempts = attempts + 1 WHERE webhook = ? AND change_id = ?',
    );
    this.prune = db.prepare('DELETE FROM webhook_outbox WHERE outcome IS NOT NULL AND done_ms < ?');
  }

  /**
   * Adds one row per webhook that wants this change. Synchronous and without I/O but SQLite's,
   * because the store calls it inside the transaction that commits the change; a rollback removes
   * the rows with it. Enqueueing a change twice is harmless.
   */
  enqueue(change: AlarmChange): void {
    const wanting = this.webhooks.filter((w) => webhookWants(w, change));
    if (wanting.length === 0) return;
    // Serialized once: every receiver gets, and every signature covers, these exact bytes.
    const body = JSON.stringify(change);
    const now = Date.now();
    for (const w of wanting) this.insert.run(w.id, change.changeId, change.kind, body, now);
    // The loops look only after the caller's transaction has returned (this runs synchronously inside it).
    for (const w of wanting) this.wakers.get(w.id)?.();
  }

  /** Starts delivering what the table holds (rows left by a previous run first) and what is enqueued. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.pruneDone();
    this.pruneTimer = setInterval(() => this.pruneDone(), this.deps.pruneEveryMs ?? 600_000);
    this.pruneTimer.unref();
    this.loops = this.webhooks.map((w) =>
      this.deliverLoop(w).catch((err: unknown) => {
        // SQLite failing under the loop (disk, a closed database): nothing more can be sent; say so loudly.
        this.deps.logger.error({ err, webhook: w.id }, 'webhook delivery stopped');
      }),
    );
  }

  /** Stops delivery: aborts a POST in flight (its row stays pending and is sent again by the next start) and waits for the loops. */
  async close(): Promise<void> {
    clearInterval(this.pruneTimer);
    this.aborter.abort();
    for (const wake of this.wakers.values()) wake();
    await Promise.all(this.loops);
  }

  private get closed(): boolean {
    return this.aborter.signal.aborted;
  }

  private async deliverLoop(webhook: ResolvedWebhook): Promise<void> {
    const log = this.deps.logger.child({ webhook: webhook.id });
    const pending = this.deps.metrics?.webhookOutboxPending.labels({ webhook: webhook.id });
    while (!this.closed) {
      pending?.set(this.pendingCount.get(webhook.id)!.n);
      const row = this.head.get(webhook.id);
      const waitMs = row === undefined ? Infinity : row.next_attempt_ms - Date.now();
      if (waitMs > 0) {
        await this.sleep(webhook.id, waitMs);
        continue;
      }
      const attempt = await this.post(webhook, row!);
      if (this.closed && !attempt.ok && attempt.failure === 'unreachable') break; // aborted by close(): not an attempt
      this.record(webhook, row!, attempt, log);
    }
  }

  private record(webhook: ResolvedWebhook, row: OutboxRow, attempt: Attempt, log: Logger): void {
    const now = Date.now();
    const counter = this.deps.metrics?.webhookDeliveries;
    const delivery = `${webhook.id}-${row.change_id}`;
    if (attempt.ok) {
      this.markDone.run('delivered', attempt.status, now, '', webhook.id, row.change_id);
      counter?.inc({ webhook: webhook.id, result: 'delivered' });
      if (row.attempts > 0) log.info({ delivery, attempts: row.attempts + 1 }, 'webhook delivered after retries');
      return;
    }
    counter?.inc({ webhook: webhook.id, result: attempt.failure });
    if (attempt.failure === 'refused') {
      this.markDone.run('refused', attempt.status, now, attempt.detail, webhook.id, row.change_id);
      log.warn(
        { delivery, status: attempt.status, detail: attempt.detail, url: safeUrl(webhook.url) },
        'webhook receiver refused the notification; given up, the next ones follow',
      );
      return;
    }
    const backoff = backoffMs(webhook, row.attempts + 1);
    const delay = attempt.retryAfterMs === undefined ? backoff : Math.min(attempt.retryAfterMs, MAX_RETRY_AFTER_MS);
    this.markRetry.run(now + delay, attempt.status, attempt.detail, webhook.id, row.change_id);
    log.info(
      { delivery, reason: attempt.failure, status: attempt.status, detail: attempt.detail, attempts: row.attempts + 1, retryInMs: delay },
      'webhook delivery failed; will retry',
    );
  }

  /** One POST; never throws. */
  private async post(webhook: ResolvedWebhook, row: OutboxRow): Promise<Attempt> {
    const timeout = AbortSignal.timeout(webhook.timeoutMs);
    try {
      const res = await fetch(webhook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'michi',
          'x-michi-signature': `sha256=${createHmac('sha256', webhook.secret).update(row.body, 'utf8').digest('hex')}`,
          'x-michi-delivery': `${webhook.id}-${row.change_id}`,
          'x-michi-event': `alarm.${row.kind}`,
        },
        body: row.body,
        // A redirect is refused like a 4xx: following it would send the alarm somewhere not configured.
        redirect: 'manual',
        signal: AbortSignal.any([timeout, this.aborter.signal]),
      });
      const status = res.status;
      // The start of a refusal's body, for the log: receivers usually say there why they refuse.
      const said = status >= 400 && status < 500 ? await bodyStart(res) : '';
      await res.body?.cancel().catch(() => undefined);
      if (status >= 200 && status < 300) return { ok: true, status };
      const detail = said === '' ? `HTTP ${status}` : `HTTP ${status}: ${said}`;
      if (status === 408 || status === 429)
        return { ok: false, failure: 'throttled', status, detail, ...retryAfter(res.headers.get('retry-after')) };
      if (status >= 500) return { ok: false, failure: 'server_error', status, detail, ...retryAfter(res.headers.get('retry-after')) };
      return { ok: false, failure: 'refused', status, detail };
    } catch (err) {
      if (timeout.aborted) return { ok: false, failure: 'timeout', status: 0, detail: `no answer within ${webhook.timeoutMs} ms` };
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      return { ok: false, failure: 'unreachable', status: 0, detail: cause?.code ?? cause?.message ?? (err as Error).message };
    }
  }

  /** Waits `ms` (Infinity: until woken), or until enqueue or close wakes this webhook's loop. */
  private sleep(webhook: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(done, Math.min(ms, 2_147_483_647)) : undefined;
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakers.set(webhook, () => {
        this.wakers.delete(webhook);
        done();
      });
    });
  }

  private pruneDone(): void {
    const { changes } = this.prune.run(Date.now() - (this.deps.keepDoneMs ?? 86_400_000));
    if (changes > 0) this.deps.logger.debug({ rows: changes }, 'pruned delivered webhook notifications');
  }
}

/** Exponential with jitter: about initialBackoffMs × 2^(attempt-1), capped, between 50% and 100% of it. */
function backoffMs(webhook: Pick<ResolvedWebhook, 'initialBackoffMs' | 'maxBackoffMs'>, attempt: number): number {
  const ceiling = Math.min(webhook.maxBackoffMs, webhook.initialBackoffMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** Up to REFUSAL_TEXT_CHARS of the response body's first chunk, as text on one line; '' when it has none or fails. */
async function bodyStart(res: Response): Promise<string> {
  try {
    const reader = res.body?.getReader();
    const chunk = reader && (await reader.read()).value;
    await reader?.cancel();
    return chunk ? Buffer.from(chunk).toString('utf8').slice(0, REFUSAL_TEXT_CHARS).replace(/\s+/g, ' ').trim() : '';
  } catch {
    return '';
  }
}

/** Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. */
function retryAfter(value: string | null): { retryAfterMs?: number } {
  if (value === null) return {};
  if (/^\d+$/.test(value.trim())) return { retryAfterMs: Number(value.trim()) * 1_000 };
  const at = Date.parse(value);
  return Number.isNaN(at) ? {} : { retryAfterMs: Math.max(0, at - Date.now()) };
}

/** The URL without credentials or query (either may hold a token), for logs. */
function safeUrl(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}
