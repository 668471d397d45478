/**
 * A token bucket per connection: `burst` tokens at start, refilled at `perSecond`; each message
 * takes one. Lazy refill on take(), so an idle connection costs nothing and no timers run.
 */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly limit: RateLimit;
  private readonly now: () => number;

  constructor(limit: RateLimit, now: () => number = () => performance.now()) {
    this.limit = limit;
    this.now = now;
    this.tokens = limit.burst;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.limit.burst, this.tokens + ((t - this.last) / 1_000) * this.limit.perSecond);
    this.last = t;
  }

  /** Takes one token; false when the bucket is empty (the caller is over its rate). */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until the next token (0 when one is there): what a Retry-After says. */
  waitMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : ((1 - this.tokens) / this.limit.perSecond) * 1_000;
  }

  /** Refilled to its burst: forgetting this bucket changes nothing for its caller. */
  full(): boolean {
    this.refill();
    return this.tokens >= this.limit.burst;
  }
}

/** Counts live connections in total and per key (gateway id), refusing beyond the limits. */
export class ConnectionLimiter<C> {
  private readonly byKey = new Map<string, Set<C>>();
  private total = 0;
  private readonly maxTotal: number;
  private readonly maxPerKey: number;

  constructor(maxTotal: number, maxPerKey: number) {
    this.maxTotal = maxTotal;
    this.maxPerKey = maxPerKey;
  }

  /** Whether one more unauthenticated connection may be opened; call release() later whatever happens. */
  openConnection(): boolean {
    if (this.total >= this.maxTotal) return false;
    this.total++;
    return true;
  }

  closeConnection(): void {
    this.total = Math.max(0, this.total - 1);
  }

  /** Registers `conn` under `key`; false (not registered) when the key already has maxPerKey. */
  claim(key: string, conn: C): boolean {
    let set = this.byKey.get(key);
    if (!set) this.byKey.set(key, (set = new Set()));
    if (set.has(conn)) return true;
    if (set.size >= this.maxPerKey) return false;
    set.add(conn);
    return true;
  }

  release(key: string, conn: C): void {
    const set = this.byKey.get(key);
    if (!set) return;
    set.delete(conn);
    if (set.size === 0) this.byKey.delete(key);
  }

  count(key: string): number {
    return this.byKey.get(key)?.size ?? 0;
  }
}
