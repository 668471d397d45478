/**
 * What both upstream transports share (uplink-mqtt.ts, uplink-grpc.ts): which buffered readings go
 * next, in which Batch, how many wait unacknowledged, and when to reconnect. A transport only opens
 * a connection, sends an encoded Batch and reports its acknowledgement; the cloud acknowledges a
 * batch only after InfluxDB accepted it, and only then are exactly that batch's rows deleted.
 *
 * Three streams share the connection, each reading the buffer with its own cursor in seq order:
 * - events (takeovers, emergency stops...) jump the queue: sent first, whenever there are any;
 * - live: routine readings committed after this connection came up, sent as they arrive;
 * - backlog: routine readings that were already buffered when the connection came up (an outage,
 *   a restart), sent oldest first at no more than backlogMaxReadingsPerS, in the room live leaves.
 * So after an outage the dashboard is current within a batch delay while history backfills. Each
 * stream keeps per-source order; a source's live readings overtake its backlog by design.
 *
 * How long live readings wait for company (uplink.batching):
 * - adaptive (the default) is self-clocking, as Nagle's algorithm and Kafka's producer are: while
 *   fewer than maxLiveBatchesInFlight live or event batches are in flight the uplink has room and
 *   what arrived is sent at the end of the current event-loop turn (readings of one socket read go
 *   together); once that many are in flight, readings gather until one of them is acknowledged, a
 *   batch fills, or the first of them has waited batchMaxDelayMs. A quiet fleet gets single-reading
 *   latency, a busy one full batches. The window (as Kafka's max.in.flight.requests) exists because
 *   the cloud acknowledges a batch only after its InfluxDB write: with one live batch at a time a
 *   burst's readings waited tens of ms behind that write (issue 15). The cloud writes what arrives
 *   while others are in flight in its next group commit and acknowledges each once written, so
 *   acknowledgements may come back in any order; each deletes exactly its own rows.
 *   Backlog batches in flight do not count: live readings must not wait behind history. Live
 *   batches also go at most every batchMinIntervalMs: against a cloud that acknowledges at once
 *   the uplink is always idle, and one batch per socket read cost the agent more CPU than the
 *   issue allows (each batch costs a publish, its PUBACK, and the PUBACKs to the vehicles that its
 *   acknowledgement releases). Under load that interval grows with the live rate of the last
 *   second, up to batchMaxDelayMs at busyReadingsPerS, so that batches stay as full as fixed ones;
 *   a burst above the recent rate goes as soon as twice the interval's worth of it waits.
 * - fixed: every partial batch waits batchMaxDelayMs from its first reading (the policy before
 *   issue 15; 50 ms of it was most of a reading's 64-67 ms to the live feed at 10 vehicles).
 *
 * The buffer is the store of unacknowledged batches: each connection attempt opens a fresh
 * connection, and each new connection starts reading the buffer from its start again, which is
 * exactly what was not acknowledged. A batch whose acknowledgement was lost is therefore sent twice;
 * the cloud stores readings by identity (pilot, source, kind, timestamp), so the second copy
 * overwrites the first.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { ReadingKind } from '@michi/proto';
import { uplinkBatch } from './batch-encoding.js';
import type { BufferedItem, ReadingBuffer } from './buffer-store.js';
import type { EdgeMetrics, ReconnectReason } from './metrics.js';
import type {
  UplinkEvents,
  UplinkLink,
  UplinkState,
  UplinkStateChange,
  UplinkStats,
  UplinkStream,
  UplinkTransport,
  UplinkRejection,
  UplinkVerdict,
} from './uplink-transport.js';

export interface UplinkSchedulerOptions {
  pilotId: string;
  gatewayId: string;
  batchMaxItems: number;
  batchMaxBytes: number;
  batchMaxDelayMs: number;
  maxInflightBatches: number;
  /** `deflate`: each Batch is sent as a zlib stream, which the cloud recognizes by its header. */
  compression: 'none' | 'deflate';
  /** The backlog drains at most this fast, so that live readings and the cloud keep up. */
  backlogMaxReadingsPerS: number;
  /** When a partial live batch goes (see the header); default adaptive. */
  batching?: 'adaptive' | 'fixed';
  /** Adaptive batching: live batches go at most this often unless full (default 0). */
  batchMinIntervalMs?: number;
  /**
   * Adaptive batching: the live readings per second at which the interval between live batches has
   * grown from batchMinIntervalMs to batchMaxDelayMs, in proportion (default 0: it does not grow).
   */
  busyReadingsPerS?: number;
  /**
   * Adaptive batching: live and event batches that may await their acknowledgement before new
   * live readings wait for one (default 1); at most maxInflightBatches.
   */
  maxLiveBatchesInFlight?: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  buffer: ReadingBuffer;
  metrics: EdgeMetrics;
  logger: Logger;
  /** For the backoff's jitter. */
  random?: () => number;
  now?: () => number;
}

interface Inflight {
  stream: UplinkStream;
  seqs: number[];
  sentAt: number;
}

/** The live rate is counted in RATE_SLOTS slots of RATE_SLOT_MS: over the last second. */
const RATE_SLOTS = 10;
const RATE_SLOT_MS = 100;
/** A live batch goes before its interval only with at least this many readings (see partialDueIn). */
const EARLY_MIN_ITEMS = 16;

/** Bytes of a Batch beyond its items' bytes: ids, first_seq, sent_ts_ms, and a few per item. */
const BATCH_HEADER_BYTES = 160;
const PER_ITEM_OVERHEAD_BYTES = 4;

export class UplinkScheduler extends EventEmitter<UplinkEvents> {
  private readonly opts: UplinkSchedulerOptions;
  private readonly transport: UplinkTransport;
  private readonly now: () => number;
  private state: UplinkState = 'idle';
  private link: UplinkLink | undefined;
  /** Bumped per connection attempt; callbacks of an older link are ignored. */
  private generation = 0;
  private attempts = 0;
  /**
   * The cloud's refusals and RETRY answers since the last acknowledgement. They end connections that
   * came up (gRPC checks the credentials per call; InfluxDB may be down behind a healthy cloud), yet
   * the backoff has to keep growing until the cloud takes batches again.
   */
  private setbacks = 0;
  private readonly cursors: Record<UplinkStream, number> = { event: 0, live: 0, backlog: 0 };
  private backlogUpTo = 0;
  private backlogDraining = false;
  /** Token bucket of the backlog's rate cap (readings). */
  private tokens = 0;
  private tokensAt = 0;
  private readonly inflight = new Map<number, Inflight>();
  private readonly inflightSeqs = new Set<number>();
  /** Live and event batches among `inflight`: the adaptive policy's idea of a busy uplink. */
  private liveInflight = 0;
  private readonly adaptive: boolean;
  private readonly liveWindow: number;
  private readonly busyRate: number;
  /** When the last live batch went (adaptive batching spaces them by the interval of partialDueIn()). */
  private lastLiveSentAt = -Infinity;
  /** Live readings appended per 100 ms slot, the last second of them (RATE_SLOTS), for liveRate(). */
  private readonly rateSlots = new Float64Array(RATE_SLOTS);
  private rateSlot = 0;
  private immediate: NodeJS.Immediate | undefined;
  /** Bound once: a label lookup per reading would cost more than the observation. */
  private readonly heldHop: ReturnType<EdgeMetrics['hopLatency']['labels']>;
  private readonly ackedHop: ReturnType<EdgeMetrics['hopLatency']['labels']>;
  /** When the oldest live reading not yet peeked was committed (undefined: nothing known to wait). */
  private dataSince: number | undefined;
  private unsent = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private flushDue = Infinity;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private draining = false;

  constructor(opts: UplinkSchedulerOptions, transport: UplinkTransport) {
    super();
    this.opts = opts;
    this.transport = transport;
    this.now = opts.now ?? Date.now;
    this.adaptive = (opts.batching ?? 'adaptive') === 'adaptive';
    this.liveWindow = Math.min(opts.maxLiveBatchesInFlight ?? 1, opts.maxInflightBatches);
    this.busyRate = opts.busyReadingsPerS ?? 0;
    this.heldHop = opts.metrics.hopLatency.labels('held');
    this.ackedHop = opts.metrics.hopLatency.labels('acked');
    this.opts.metrics.probes.uplinkConnected = () => this.state === 'connected';
    this.opts.metrics.probes.uplinkInflightBatches = () => this.inflight.size;
    this.opts.metrics.probes.uplinkBacklogDraining = () => this.backlogDraining;
    // A batch in flight may reach InfluxDB any moment: evicting its rows would count as dropped
    // what the cloud has.
    // Told of each reading as it is appended, not when committed: the group commit bounds disk
    // wear and must not delay the live path (the buffer lets the uplink read uncommitted readings).
    this.opts.buffer.attach({ pinned: (seq) => this.inflightSeqs.has(seq), onAppend: (seq, kind) => this.notify(seq, kind) });
  }

  start(): void {
    if (this.state === 'idle') this.connectOnce();
  }

  /**
   * A reading was appended to the buffer. Events go at once; others as the batching policy says
   * (the header), never later than batchMaxDelayMs after the first of them.
   */
  notify(_seq?: number, kind?: ReadingKind): void {
    if (this.state !== 'connected') return;
    if (kind === 'event') return this.pump();
    this.unsent++;
    const now = this.now();
    if (this.busyRate > 0) this.rateSlots[this.advanceRate(now) % RATE_SLOTS]!++;
    this.dataSince ??= now;
    if (this.unsent >= this.opts.batchMaxItems) return this.pump();
    const dueIn = this.partialDueIn();
    if (dueIn <= 0) this.pumpAfterThisTurn();
    else this.wakeIn(dueIn);
  }

  /**
   * Milliseconds until the partial live batch that started gathering at dataSince may go (0 or
   * less: now). Fixed: batchMaxDelayMs after its first reading. Adaptive: as soon as the live window
   * has room and batchMinIntervalMs passed since the last live batch went, at the latest then.
   */
  private partialDueIn(): number {
    const now = this.now();
    const latest = this.opts.batchMaxDelayMs - (now - (this.dataSince ?? now));
    if (!this.adaptive || this.liveInflight >= this.liveWindow) return latest;
    const minInterval = this.opts.batchMinIntervalMs ?? 0;
    if (this.busyRate <= 0) return Math.min(latest, this.lastLiveSentAt + minInterval - now);
    // Under load the interval grows, so that batches stay as full as fixed 50 ms ones and the
    // agent's CPU with them (each batch costs about the same whatever it holds). A burst need not
    // wait: once twice as many readings wait as the interval gathers at the recent rate, the batch
    // goes (twice, so that a steady rate, whose count arrives in clumps, keeps to the interval).
    const rate = this.liveRate(now);
    const interval = minInterval + (Math.max(minInterval, this.opts.batchMaxDelayMs) - minInterval) * Math.min(1, rate / this.busyRate);
    if (this.unsent >= Math.max(EARLY_MIN_ITEMS, (2 * rate * interval) / 1000)) return 0;
    return Math.min(latest, this.lastLiveSentAt + interval - now);
  }

  /** Moves the rate window to `now`, clearing the slots it passed; answers the current slot. */
  private advanceRate(now: number): number {
    const slot = Math.floor(now / RATE_SLOT_MS);
    if (slot !== this.rateSlot) {
      for (let s = Math.max(this.rateSlot + 1, slot - RATE_SLOTS + 1); s <= slot; s++) this.rateSlots[s % RATE_SLOTS] = 0;
      this.rateSlot = slot;
    }
    return slot;
  }

  /** Live readings appended per second, over the last second. */
  private liveRate(now: number): number {
    this.advanceRate(now);
    let n = 0;
    for (const c of this.rateSlots) n += c;
    return n;
  }

  /**
   * setImmediate rather than a pump per reading: a socket read hands several publishes to the
   * broker in one turn, and they are worth one batch, not one each (setTimeout(0) would add ~1 ms).
   */
  private pumpAfterThisTurn(): void {
    this.immediate ??= setImmediate(() => {
      this.immediate = undefined;
      this.pump();
    });
  }

  stats(): UplinkStats {
    return {
      state: this.state,
      inflightBatches: this.inflight.size,
      inflightReadings: this.inflightSeqs.size,
      cursors: { ...this.cursors },
      backlogUpTo: this.backlogUpTo,
      backlogDraining: this.backlogDraining,
    };
  }

  /** Runs pump() in `ms` unless it is due sooner already. */
  private wakeIn(ms: number): void {
    const due = this.now() + Math.max(0, ms);
    if (this.flushTimer && this.flushDue <= due) return;
    clearTimeout(this.flushTimer);
    this.flushDue = due;
    this.flushTimer = setTimeout(() => this.pump(), Math.max(0, ms));
  }

  /**
   * Stops sending, waits up to drainMs for the batches in flight to be acknowledged (so that a
   * restart need not send them again), then disconnects. What is unacknowledged stays in the buffer.
   */
  async close(drainMs = 2_000): Promise<void> {
    if (this.state === 'closed') return;
    this.draining = true;
    clearTimeout(this.flushTimer);
    clearTimeout(this.reconnectTimer);
    clearImmediate(this.immediate);
    this.immediate = undefined;
    if (this.state === 'connected' && this.inflight.size > 0) await this.waitForAcks(drainMs);
    this.setState({ state: 'closed' });
    this.generation++;
    const link = this.link;
    this.link = undefined;
    await link?.end();
  }

  private waitForAcks(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.off('acked', check);
        this.off('state', done);
        resolve();
      };
      const check = () => {
        if (this.inflight.size === 0) done();
      };
      const timer = setTimeout(done, ms);
      this.on('acked', check);
      this.on('state', done);
    });
  }

  private setState(change: UplinkStateChange): void {
    this.state = change.state;
    const log = this.opts.logger;
    const target = this.transport.target;
    if (change.state === 'disconnected') log.warn({ target, ...change }, 'uplink disconnected');
    else if (change.state === 'connecting') log.debug({ target, attempt: this.attempts }, 'uplink connecting');
    else log.info({ target }, `uplink ${change.state}`);
    this.emit('state', change);
  }

  private connectOnce(): void {
    if (this.draining) return;
    const gen = ++this.generation;
    this.setState({ state: 'connecting' });
    this.link = this.transport.open({
      up: () => {
        if (gen === this.generation) this.onUp();
      },
      down: (error, verdict) => {
        if (gen === this.generation) this.onDown(error, verdict);
      },
    });
  }

  private onUp(): void {
    this.attempts = 0;
    this.clearInflight();
    // Everything buffered now is backlog; what arrives from here on is live.
    this.backlogUpTo = this.opts.buffer.lastSeq();
    this.cursors.event = 0;
    this.cursors.backlog = 0;
    this.cursors.live = this.backlogUpTo;
    this.backlogDraining = this.opts.buffer.peek(0, 1, Infinity, { events: 'exclude', upTo: this.backlogUpTo }).length > 0;
    this.tokens = 0;
    this.tokensAt = this.now();
    this.dataSince = undefined;
    this.unsent = 0;
    this.setState({ state: 'connected' });
    if (this.backlogDraining) {
      this.opts.logger.info(
        { upToSeq: this.backlogUpTo, depth: this.opts.buffer.stats().depth, maxReadingsPerS: this.opts.backlogMaxReadingsPerS },
        'uplink sending the backlog behind live readings',
      );
    }
    this.pump();
  }

  private onDown(error: Error | undefined, verdict: UplinkVerdict | undefined): void {
    const wasConnected = this.state === 'connected';
    const link = this.link;
    this.link = undefined;
    this.generation++;
    void link?.end().catch((err: unknown) => this.opts.logger.debug({ err }, 'closing the uplink connection failed'));
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const unacked = this.inflightSeqs.size;
    if (unacked > 0) this.opts.metrics.resent.inc({ reason: 'reconnect' }, unacked);
    this.clearInflight();
    this.backlogDraining = false;
    this.dataSince = undefined;
    const reason: ReconnectReason = verdict ?? (wasConnected ? 'connection_lost' : 'connect_failed');
    if (this.draining) {
      this.setState({ state: 'disconnected', reason, error: error?.message });
      return;
    }
    this.opts.metrics.reconnects.inc({ reason });
    const retryInMs = this.backoff(verdict ? this.setbacks++ : this.attempts++);
    if (!verdict) this.setbacks = 0;
    this.setState({ state: 'disconnected', reason, error: error?.message, retryInMs });
    if (verdict === 'refused') {
      this.opts.logger.error(
        { target: this.transport.target, error: error?.message, retryInMs },
        'the cloud refused this gateway: check uplink.username and the secret named by uplink.passwordEnv',
      );
    }
    this.reconnectTimer = setTimeout(() => this.connectOnce(), retryInMs);
  }

  /** Exponential from reconnectMinMs to reconnectMaxMs, with "equal jitter": half fixed, half random. */
  private backoff(attempt: number): number {
    const { reconnectMinMs, reconnectMaxMs } = this.opts;
    const ceiling = Math.min(reconnectMaxMs, reconnectMinMs * 2 ** Math.min(attempt, 30));
    return Math.round(ceiling / 2 + (ceiling / 2) * (this.opts.random ?? Math.random)());
  }

  private clearInflight(): void {
    this.inflight.clear();
    this.inflightSeqs.clear();
    this.liveInflight = 0;
  }

  /** Publishes batches while there is room in flight and something to send. */
  private pump(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.flushDue = Infinity;
    try {
      this.fillInflight();
    } catch (err) {
      // The buffer could not be read (an I/O error): try again later rather than stop forwarding.
      this.opts.logger.error({ err }, 'reading the buffer failed; retrying');
      this.wakeIn(this.opts.reconnectMinMs);
    }
  }

  private fillInflight(): void {
    const { buffer, batchMaxItems, maxInflightBatches } = this.opts;
    const maxBytes = this.opts.batchMaxBytes - BATCH_HEADER_BYTES - PER_ITEM_OVERHEAD_BYTES * batchMaxItems;
    while (this.state === 'connected' && !this.draining && this.inflight.size < maxInflightBatches) {
      // 1. Events jump the queue, backlog or not, without waiting for company.
      const events = buffer.peek(this.cursors.event, batchMaxItems, maxBytes, { events: 'only' });
      if (events.length > 0) {
        this.publish(events, 'event');
        continue;
      }

      // 2. Live readings, in batches of batchMaxItems or after batchMaxDelayMs.
      const live = buffer.peek(this.cursors.live, batchMaxItems, maxBytes, { events: 'exclude' });
      const lastLive = live.at(-1);
      if (lastLive) {
        // peek stops early only at the byte limit, so more rows after it mean the batch is full.
        const full = live.length >= batchMaxItems || buffer.peek(lastLive.seq, 1, Infinity, { events: 'exclude' }).length > 0;
        const wait = full || this.dataSince === undefined ? 0 : this.partialDueIn();
        if (wait <= 0) {
          this.publish(live, 'live');
          this.unsent = Math.max(0, this.unsent - live.length);
          if (!full) {
            this.unsent = 0;
            this.dataSince = undefined;
          }
          continue;
        }
        this.wakeIn(wait);
      } else {
        this.unsent = 0;
        this.dataSince = undefined;
      }

      // 3. The backlog, at a capped rate, never taking the live window's slots in flight.
      if (!this.sendBacklog()) return;
    }
  }

  /**
   * Sends one backlog batch if the rate and the room in flight allow; false when it did not. The
   * backlog leaves the live window free (and always has one slot), so history never makes live
   * readings wait for an acknowledgement.
   */
  private sendBacklog(): boolean {
    if (!this.backlogDraining) return false;
    const { buffer, batchMaxItems, maxInflightBatches, backlogMaxReadingsPerS: rate } = this.opts;
    let backlogInflight = 0;
    for (const b of this.inflight.values()) if (b.stream === 'backlog') backlogInflight++;
    if (backlogInflight >= Math.max(1, maxInflightBatches - this.liveWindow)) return false;
    const now = this.now();
    this.tokens = Math.min(batchMaxItems, this.tokens + ((now - this.tokensAt) * rate) / 1000);
    this.tokensAt = now;
    // At least a tenth of a second's worth per batch, so that a slow rate still makes real batches.
    const want = Math.min(batchMaxItems, Math.max(1, Math.round(rate / 10)));
    if (this.tokens < want) {
      this.wakeIn(((want - this.tokens) * 1000) / rate);
      return false;
    }
    const maxBytes = this.opts.batchMaxBytes - BATCH_HEADER_BYTES - PER_ITEM_OVERHEAD_BYTES * batchMaxItems;
    const items = buffer.peek(this.cursors.backlog, Math.floor(this.tokens), maxBytes, { events: 'exclude', upTo: this.backlogUpTo });
    if (items.length === 0) {
      this.backlogDraining = false;
      this.opts.logger.info({ upToSeq: this.backlogUpTo }, 'uplink backlog sent');
      return false;
    }
    this.tokens -= items.length;
    this.publish(items, 'backlog');
    return true;
  }

  private publish(items: BufferedItem[], stream: UplinkStream): void {
    const link = this.link;
    if (!link) return;
    const gen = this.generation;
    this.cursors[stream] = items.at(-1)!.seq;
    const sentAt = this.now();
    const { body, rawBytes, seqs, heldMs, corrupt } = uplinkBatch(
      { pilot_id: this.opts.pilotId, gateway_id: this.opts.gatewayId, sent_ts_ms: sentAt },
      items,
      this.opts.compression,
    );
    // A row damaged on disk can never be acknowledged; kept, it would be sent forever.
    if (corrupt.length > 0) {
      this.opts.buffer.delete(corrupt);
      this.opts.metrics.dropped.inc({ reason: 'corrupt', kind: 'unknown' }, corrupt.length);
      this.opts.logger.error({ seqs: corrupt }, 'dropped buffered rows that are not a michi.v1.Reading');
    }
    const firstSeq = seqs[0];
    if (firstSeq === undefined) return;
    this.opts.metrics.uplinkBytes.inc({ stage: 'batch' }, rawBytes);
    this.opts.metrics.uplinkBytes.inc({ stage: 'sent' }, body.byteLength);
    this.inflight.set(firstSeq, { stream, seqs, sentAt });
    for (const seq of seqs) this.inflightSeqs.add(seq);
    if (stream !== 'backlog') this.liveInflight++;
    if (stream === 'live') this.lastLiveSentAt = sentAt;
    this.opts.metrics.batchesSent.inc({ stream });
    // Backlog readings were held through an outage by design: only the live path's wait is timed.
    if (stream !== 'backlog') for (const ms of heldMs) this.heldHop.observe(ms / 1000);
    link.send(body, (err, rejected) => {
      // An older connection's callbacks: its batches are sent again from the buffer.
      if (gen !== this.generation || this.state === 'closed') return;
      if (err) {
        this.opts.logger.warn({ err: err.message, firstSeq }, 'batch not acknowledged; it is sent again after reconnecting');
        return;
      }
      this.inflight.delete(firstSeq);
      for (const seq of seqs) this.inflightSeqs.delete(seq);
      if (stream !== 'backlog') {
        this.liveInflight--;
        this.ackedHop.observe((this.now() - sentAt) / 1000);
      }
      this.setbacks = 0;
      if (rejected?.length) this.countRejected(firstSeq, stream, rejected);
      const count = this.opts.buffer.delete(seqs);
      this.opts.metrics.forwarded.inc(count);
      this.opts.metrics.batchesAcked.inc();
      this.emit('acked', { firstSeq, count });
      this.pump();
    });
  }

  /**
   * Readings validated before buffering that the cloud still refused (its rules differ: a source
   * timestamp outside its window, MICHI_ERR_CLOCK_SKEW). Acknowledged, so they leave the buffer.
   */
  private countRejected(firstSeq: number, stream: UplinkStream, rejected: readonly UplinkRejection[]): void {
    for (const r of rejected) this.opts.metrics.uplinkRejected.inc({ code: r.code });
    this.opts.logger.warn(
      { firstSeq, stream, rejected: rejected.slice(0, 10), count: rejected.length },
      'the cloud refused readings of a batch',
    );
  }
}
