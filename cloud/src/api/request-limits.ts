/**
 * What one API caller may cost (api.limits; docs/api.md "Limits", docs/security.md finding 9): a
 * request rate per token (per client address for the anonymous viewer and for requests without a
 * valid token), a gate on the history queries running at once (per token and in total, with a
 * short queue), and the deadline and row cap of their InfluxDB requests. A refusal is 429
 * MICHI_ERR_RATE_LIMITED with Retry-After, counted in michi_cloud_api_refusals_total and logged
 * (once a minute per caller, so that a flood does not flood the log too; the audit log has every request).
 */
import type { Logger } from 'pino';
import { ErrorCodes } from '@michi/proto';
import { ApiError } from '../errors.js';
import type { InfluxQuery } from '../influx-query.js';
import type { CloudMetrics } from '../metrics.js';
import { TokenBucket, type RateLimit } from '../rate-limit.js';

export interface ApiLimits {
  rate: RateLimit;
  anonymousRate: RateLimit;
  maxQueriesPerToken: number;
  maxQueries: number;
  maxQueuedPerToken: number;
  queueTimeoutMs: number;
  queryTimeoutMs: number;
  maxRows: number;
}

/** Buckets kept at most; beyond it refilled ones are forgotten first (an address rotation costs no memory). */
const MAX_BUCKETS = 10_000;
/** History queries waiting in total, whatever the callers: the queue is no memory sink either. */
const MAX_QUEUED = 256;
const LOG_EVERY_MS = 60_000;

export type RefusalReason = 'rate_limited' | 'busy';

/** A token bucket per key (token id or client address). */
class KeyedRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly limit: RateLimit;

  constructor(limit: RateLimit) {
    this.limit = limit;
  }

  /** 0 when the request may go, else the milliseconds until it could. */
  take(key: string): number {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= MAX_BUCKETS) this.forget();
      this.buckets.set(key, (bucket = new TokenBucket(this.limit)));
    }
    return bucket.take() ? 0 : Math.max(1, bucket.waitMs());
  }

  private forget(): void {
    for (const [key, bucket] of this.buckets) if (bucket.full()) this.buckets.delete(key);
    // Still full of busy callers: the oldest go (they get a fresh bucket, at worst a burst more).
    for (const key of this.buckets.keys()) {
      if (this.buckets.size < MAX_BUCKETS) break;
      this.buckets.delete(key);
    }
  }
}

interface Waiter {
  key: string;
  start: () => void;
}

/** History queries running at once: at most maxPerKey per key and max in total; others wait in order. */
class QueryGate {
  private running = 0;
  private readonly runningByKey = new Map<string, number>();
  private readonly queue: Waiter[] = [];
  private readonly queuedByKey = new Map<string, number>();
  private readonly limits: ApiLimits;

  constructor(limits: ApiLimits) {
    this.limits = limits;
  }

  private canRun(key: string): boolean {
    return this.running < this.limits.maxQueries && (this.runningByKey.get(key) ?? 0) < this.limits.maxQueriesPerToken;
  }

  private begin(key: string): () => void {
    this.running++;
    this.runningByKey.set(key, (this.runningByKey.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      const n = (this.runningByKey.get(key) ?? 1) - 1;
      if (n === 0) this.runningByKey.delete(key);
      else this.runningByKey.set(key, n);
      this.next();
    };
  }

  private next(): void {
    for (let i = 0; i < this.queue.length;) {
      const w = this.queue[i]!;
      if (!this.canRun(w.key)) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      this.unqueue(w.key);
      w.start();
    }
  }

  private unqueue(key: string): void {
    const n = (this.queuedByKey.get(key) ?? 1) - 1;
    if (n === 0) this.queuedByKey.delete(key);
    else this.queuedByKey.set(key, n);
  }

  /** Resolves with the release function once `key` may run a query; null when it is refused (queue full, or waited too long). */
  acquire(key: string): Promise<(() => void) | null> {
    if (this.canRun(key)) return Promise.resolve(this.begin(key));
    const queued = this.queuedByKey.get(key) ?? 0;
    if (queued >= this.limits.maxQueuedPerToken || this.queue.length >= MAX_QUEUED || this.limits.queueTimeoutMs === 0) {
      return Promise.resolve(null);
    }
    return new Promise((resolve) => {
      const waiter: Waiter = {
        key,
        start: () => {
          clearTimeout(timer);
          resolve(this.begin(key));
        },
      };
      const timer = setTimeout(() => {
        const i = this.queue.indexOf(waiter);
        if (i < 0) return;
        this.queue.splice(i, 1);
        this.unqueue(key);
        resolve(null);
      }, this.limits.queueTimeoutMs);
      this.queue.push(waiter);
      this.queuedByKey.set(key, queued + 1);
    });
  }
}

export class ApiLimiter {
  readonly limits: ApiLimits;
  private readonly tokenRate: KeyedRateLimiter;
  private readonly addressRate: KeyedRateLimiter;
  private readonly gate: QueryGate;
  private readonly metrics: CloudMetrics;
  private readonly logger: Logger;
  private readonly lastLogged = new Map<string, number>();

  constructor(limits: ApiLimits, metrics: CloudMetrics, logger: Logger) {
    this.limits = limits;
    this.tokenRate = new KeyedRateLimiter(limits.rate);
    this.addressRate = new KeyedRateLimiter(limits.anonymousRate);
    this.gate = new QueryGate(limits);
    this.metrics = metrics;
    this.logger = logger.child({ component: 'api-limits' });
  }

  /**
   * Takes one request from the caller's bucket: `token` is the id of an authenticated token, or
   * undefined (anonymous viewer, missing or unknown token: the client address counts). Throws 429 when empty.
   */
  admit(token: string | undefined, address: string): void {
    const waitMs = token !== undefined ? this.tokenRate.take(token) : this.addressRate.take(address);
    if (waitMs === 0) return;
    const who = token !== undefined ? `token "${token}"` : `address ${address}`;
    const rate = token !== undefined ? this.limits.rate : this.limits.anonymousRate;
    throw this.refuse(
      'rate_limited',
      who,
      Math.ceil(waitMs / 1_000),
      `${who} is over its request rate (${rate.perSecond}/s, bursts of ${rate.burst}; api.limits)`,
    );
  }

  /**
   * Runs a history query once the gate lets `key` (token id or address) in, with InfluxDB bounded
   * by the deadline and row cap; 429 when the gate stays closed.
   */
  async query<T>(key: string, query: InfluxQuery, run: (bounded: InfluxQuery) => Promise<T>): Promise<T> {
    const release = await this.gate.acquire(key);
    if (!release) {
      throw this.refuse(
        'busy',
        key,
        1,
        `too many history queries at once (${this.limits.maxQueriesPerToken} per token, ${this.limits.maxQueries} in all; api.limits): retry later`,
      );
    }
    try {
      return await run(query.bounded(this.limits.queryTimeoutMs, this.limits.maxRows));
    } finally {
      release();
    }
  }

  private refuse(reason: RefusalReason, who: string, retryAfterS: number, message: string): ApiError {
    this.metrics.apiRefusals.inc({ reason });
    const now = Date.now();
    const logKey = `${reason} ${who}`;
    if ((this.lastLogged.get(logKey) ?? 0) + LOG_EVERY_MS <= now) {
      if (this.lastLogged.size >= MAX_BUCKETS) this.lastLogged.clear();
      this.lastLogged.set(logKey, now);
      this.logger.warn({ reason, who }, `API request refused: ${message} (logged once a minute per caller)`);
    }
    return new ApiError(429, ErrorCodes.RATE_LIMITED, message, { retryAfterS: Math.max(1, retryAfterS) });
  }
}
