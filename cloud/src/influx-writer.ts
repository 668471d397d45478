/**
 * Group commit to InfluxDB: concurrent `write(lines)` / `writeBody(body, lines)` calls are gathered
 * into one /write request (up to maxBatchLines, or after flushIntervalMs), and each caller is
 * resolved only when the request that carried its lines got 204. That is what lets ingest acknowledge an edge batch only once it is
 * in InfluxDB (the official client's promises do not say that).
 *
 * Fuller requests under load: while a request is in flight, the next one leaves when it is full or
 * when its oldest caller has waited flushIntervalMs, not as soon as a request returns. InfluxDB
 * spends markedly less CPU per point on 5,000-line requests than on the ~2,400-line ones that
 * "send whatever is queued" produced (docs/benchmarks.md, Ingest).
 *
 * Bounded: past maxPendingLines, writes are refused at once (StorageError 'overloaded'), so a slow
 * InfluxDB turns into unacknowledged batches at the edges, never into unbounded memory here.
 */
import type { Logger } from 'pino';
import { StorageError, type StorageFailure } from './errors.js';
import { type InfluxHttp, influxErrorText } from './influx-http.js';
import type { CloudMetrics } from './metrics.js';

/** Told the outcome of every /write request (undefined: 204), e.g. InfluxHealth. */
export interface WriteObserver {
  writeSettled(err: StorageError | undefined): void;
}

export interface InfluxWriterOptions {
  maxBatchLines: number;
  flushIntervalMs: number;
  maxPendingLines: number;
  maxConcurrentWrites: number;
}

interface PendingWrite {
  /** Lines joined by '\n', UTF-8, without a trailing newline. */
  body: Buffer;
  lines: number;
  /** performance.now() when it was queued. */
  queuedAt: number;
  resolve: () => void;
  reject: (err: StorageError) => void;
}

export class InfluxWriter {
  private readonly http: InfluxHttp;
  private readonly opts: InfluxWriterOptions;
  private readonly metrics: CloudMetrics | undefined;
  private readonly log: Logger | undefined;
  private readonly observer: WriteObserver | undefined;
  private queue: PendingWrite[] = [];
  private queuedLines = 0;
  private inFlightLines = 0;
  private inFlight = 0;
  /** What this writer has added to the pending-lines gauge. */
  private reportedLines = 0;
  private timer: NodeJS.Timeout | undefined;
  /** performance.now() when a request last returned: under load, the next partial one lingers from then. */
  private slotFreedAt = 0;
  private closed = false;
  private readonly idle = new Set<() => void>();

  constructor(
    http: InfluxHttp,
    opts: InfluxWriterOptions,
    deps: { metrics?: CloudMetrics | undefined; logger?: Logger | undefined; observer?: WriteObserver | undefined } = {},
  ) {
    this.http = http;
    this.opts = opts;
    this.metrics = deps.metrics;
    this.log = deps.logger;
    this.observer = deps.observer;
  }

  /** Lines accepted by write() and not yet settled. */
  get pendingLines(): number {
    return this.queuedLines + this.inFlightLines;
  }

  /** Resolves once InfluxDB answered 204 to the request carrying these lines; rejects with StorageError. */
  write(lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    return this.writeBody(Buffer.from(lines.join('\n')), lines.length);
  }

  /**
   * write() for lines already joined by '\n' into one UTF-8 buffer (no trailing newline), as
   * ingest builds them: no array of line strings to keep or join again.
   */
  writeBody(body: Buffer, lines: number): Promise<void> {
    if (lines === 0) return Promise.resolve();
    if (this.closed) return Promise.reject(this.refuse('closed', 'the InfluxDB writer is closed', lines));
    if (this.pendingLines + lines > this.opts.maxPendingLines) {
      return Promise.reject(
        this.refuse(
          'overloaded',
          `InfluxDB writer overloaded: ${this.pendingLines} lines pending, limit ${this.opts.maxPendingLines}`,
          lines,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ body, lines, queuedAt: performance.now(), resolve, reject });
      this.queuedLines += lines;
      this.updateGauge();
      if (this.queuedLines >= this.opts.maxBatchLines) this.sendDue();
      else this.timer ??= setTimeout(() => this.flush(), this.opts.flushIntervalMs);
    });
  }

  /** Sends what is pending, waits for every request in flight, and refuses later writes. */
  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    while (this.inFlight > 0 || this.queue.length > 0) {
      await new Promise<void>((resolve) => this.idle.add(resolve));
      this.flush();
    }
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.queue.length > 0 && this.inFlight < this.opts.maxConcurrentWrites) {
      const group = this.takeGroup();
      void this.send(group);
    }
  }

  /** Whole callers in arrival order, up to maxBatchLines (a single caller larger than that goes alone). */
  private takeGroup(): PendingWrite[] {
    let lines = 0;
    let n = 0;
    while (n < this.queue.length) {
      const next = this.queue[n]!.lines;
      if (n > 0 && lines + next > this.opts.maxBatchLines) break;
      lines += next;
      n++;
    }
    const group = this.queue.slice(0, n);
    this.queue = this.queue.slice(n);
    this.queuedLines -= lines;
    return group;
  }

  private async send(group: PendingWrite[]): Promise<void> {
    const lines = group.reduce((sum, w) => sum + w.lines, 0);
    this.inFlight++;
    this.inFlightLines += lines;
    try {
      const err = await this.post(joinBodies(group), lines);
      if (!err) {
        for (const w of group) w.resolve();
      } else if (err.permanent && group.length > 1) {
        // One caller's bad line must not fail the others: InfluxDB stored the rest of a partial
        // write already, so sending each caller's lines alone again only overwrites, and finds the culprit.
        for (const w of group) {
          const own = await this.post(w.body, w.lines);
          if (own) w.reject(own);
          else w.resolve();
        }
      } else {
        for (const w of group) w.reject(err);
      }
    } finally {
      this.inFlight--;
      this.inFlightLines -= lines;
      this.updateGauge();
      this.slotFreedAt = performance.now();
      // Under load the queue filled while this request was out.
      if (this.queue.length > 0) this.sendDue();
      if (this.inFlight === 0) {
        for (const wake of this.idle) wake();
        this.idle.clear();
      }
    }
  }

  /**
   * Sends what is due, as far as the concurrency allows: full requests; and a partial one when
   * nothing is in flight (InfluxDB is idle, waiting would only add latency), or once it has lingered
   * flushIntervalMs, counted from when its oldest caller arrived or a request last returned,
   * whichever is later. Under load the callers of a partial request have usually waited longer than
   * that for a free slot already; sending them the moment one frees made requests of ~2,400 lines.
   */
  private sendDue(): void {
    while (this.queue.length > 0 && this.inFlight < this.opts.maxConcurrentWrites) {
      const waited = performance.now() - Math.max(this.queue[0]!.queuedAt, this.slotFreedAt);
      const due = this.closed || this.inFlight === 0 || this.queuedLines >= this.opts.maxBatchLines || waited >= this.opts.flushIntervalMs;
      if (!due) {
        this.timer ??= setTimeout(() => this.flush(), Math.max(0, this.opts.flushIntervalMs - waited));
        return;
      }
      void this.send(this.takeGroup());
    }
  }

  /** One /write request; returns the error instead of throwing, so callers settle each waiter once. */
  private async post(body: Buffer | Buffer[], lines: number): Promise<StorageError | undefined> {
    const started = performance.now();
    let err: StorageError | undefined;
    try {
      const res = await this.http.request('POST', 'write', { db: this.http.endpoint.database, precision: 'ms' }, body);
      if (res.status !== 204) {
        const text = influxErrorText(res.body);
        const reason: StorageFailure = res.status === 400 ? 'invalid' : res.status >= 500 ? 'server_error' : 'refused';
        err = new StorageError(`InfluxDB refused a write of ${lines} lines with ${res.status}: ${text}`, {
          reason,
          status: res.status,
          body: text,
          lines,
        });
      }
    } catch (cause) {
      const message = (cause as Error).message;
      err = new StorageError(
        `InfluxDB did not take a write of ${lines} lines: ${message}`,
        { reason: 'unreachable', status: 0, body: message, lines },
        { cause },
      );
    }
    const seconds = (performance.now() - started) / 1_000;
    this.metrics?.writeSeconds.observe({ outcome: err ? 'error' : 'ok' }, seconds);
    this.metrics?.writeRequestLines.observe(lines);
    this.observer?.writeSettled(err);
    if (err) {
      this.metrics?.writeFailures.inc({ reason: err.reason });
      this.log?.warn(
        { code: err.code, reason: err.reason, status: err.status, influxError: err.body, lines, partial: err.partial },
        'InfluxDB write failed',
      );
    }
    return err;
  }

  private refuse(reason: StorageFailure, message: string, lines: number): StorageError {
    this.metrics?.writeFailures.inc({ reason });
    return new StorageError(message, { reason, status: 0, body: message, lines });
  }

  /** By difference: with pilots on several InfluxDB servers, one writer each adds to the same gauge. */
  private updateGauge(): void {
    this.metrics?.pendingLines.inc(this.pendingLines - this.reportedLines);
    this.reportedLines = this.pendingLines;
  }
}

const NEWLINE = Buffer.from('\n');

/** The callers' bodies as the chunks of one request body, '\n' between them (sent without joining them into a copy). */
function joinBodies(group: readonly PendingWrite[]): Buffer | Buffer[] {
  if (group.length === 1) return group[0]!.body;
  const parts: Buffer[] = [];
  for (const w of group) {
    if (parts.length > 0) parts.push(NEWLINE);
    parts.push(w.body);
  }
  return parts;
}
