/**
 * Whether InfluxDB is taking writes, for the health reports that are pushed rather than asked
 * (the gRPC health service; HTTP /api/v1/health pings on each request instead). Two sources:
 * every /write the InfluxWriter makes (answered → up; unanswered, 5xx, 401/403/404 → down; a 400
 * is InfluxDB refusing one batch's lines, not being down), and a /ping every `intervalMs` when no
 * write settled meanwhile, so an idle cloud notices an outage and a failing one the recovery.
 * A SIGSTOPped InfluxDB accepts connections and answers nothing: the ping's deadline catches that.
 */
import type { Logger } from 'pino';
import type { StorageError } from './errors.js';
import type { InfluxHttp } from './influx-http.js';

export interface InfluxHealthOptions {
  /** How often to /ping when no write settled meanwhile. */
  intervalMs: number;
}

export type InfluxHealthListener = (up: boolean) => void;

export class InfluxHealth {
  private readonly http: InfluxHttp;
  private readonly opts: InfluxHealthOptions;
  private readonly log: Logger | undefined;
  private readonly listeners = new Set<InfluxHealthListener>();
  private state = true;
  private lastSettled = 0;
  private timer: NodeJS.Timeout | undefined;
  private pinging = false;
  private closed = false;

  constructor(http: InfluxHttp, opts: InfluxHealthOptions, deps: { logger?: Logger | undefined } = {}) {
    this.http = http;
    this.opts = opts;
    this.log = deps.logger;
  }

  /** Whether InfluxDB took the last write or answered the last ping. */
  get up(): boolean {
    return this.state;
  }

  /** Subscribes to changes; returns the unsubscribe function. */
  onChange(listener: InfluxHealthListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The outcome of one /write request (InfluxWriter calls this): undefined when it got 204. */
  writeSettled(err: StorageError | undefined): void {
    this.lastSettled = performance.now();
    this.set(err === undefined || err.reason === 'invalid', err?.message);
  }

  /** Pings once now, then every intervalMs while no write settles. */
  async start(): Promise<void> {
    await this.check();
    this.schedule();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.listeners.clear();
  }

  /** One /ping: up when InfluxDB answered 204 within the ping deadline. */
  async check(): Promise<boolean> {
    if (this.pinging) return this.state;
    this.pinging = true;
    try {
      await this.http.ping();
      this.set(true);
    } catch (err) {
      this.set(false, (err as Error).message);
    } finally {
      this.pinging = false;
    }
    return this.state;
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      // Writes flowing say enough; ping only when none settled within the interval.
      const quiet = performance.now() - this.lastSettled >= this.opts.intervalMs;
      void (quiet ? this.check() : Promise.resolve()).then(() => this.schedule());
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  private set(up: boolean, reason?: string): void {
    if (this.closed || up === this.state) return;
    this.state = up;
    if (up) this.log?.info('InfluxDB takes writes again');
    else this.log?.warn({ reason }, 'InfluxDB does not take writes');
    for (const listener of this.listeners) listener(up);
  }
}
