/**
 * Forwards the buffer to the cloud over MQTT 3.1.1: readings grouped into Batch messages on
 * michi/v1/{pilot}/{gateway}/batch at QoS 1, up to maxInflightBatches unacknowledged. The cloud
 * sends the PUBACK only after InfluxDB accepted the batch, and only then are exactly that batch's
 * rows deleted.
 *
 * Three streams share the connection, each reading the buffer with its own cursor in seq order:
 * - events (takeovers, emergency stops...) jump the queue: sent first, whenever there are any;
 * - live: routine readings committed after this connection came up, sent as they arrive;
 * - backlog: routine readings that were already buffered when the connection came up (an outage,
 *   a restart), sent oldest first at no more than backlogMaxReadingsPerS, in the room live leaves.
 * So after an outage the dashboard is current within a batch delay while history backfills. Each
 * stream keeps per-source order; a source's live readings overtake its backlog by design.
 *
 * The buffer, not mqtt.js, is the store of unacknowledged batches: each connection attempt gets a
 * fresh client (reconnectPeriod 0, so mqtt.js neither reconnects nor resends on its own), and each
 * new connection starts reading the buffer from its start again, which is exactly what was not
 * acknowledged. A batch whose PUBACK was lost is therefore sent twice; the cloud stores readings by
 * identity (pilot, source, kind, timestamp), so the second copy overwrites the first.
 */
import { EventEmitter } from 'node:events';
import { deflateSync } from 'node:zlib';
import { connect as mqttConnect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { batchTopic, type ReadingKind } from '@michi/proto';
import { encodeBatchOfEncoded, isWellFormedReading } from './batch-encoding.js';
import type { BufferedItem, ReadingBuffer } from './buffer-store.js';
import type { EdgeMetrics, ReconnectReason } from './metrics.js';

export type UplinkState = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'closed';

export interface UplinkStateChange {
  state: UplinkState;
  /** For `disconnected`: what ended the attempt, the error if any, and when the next one starts. */
  reason?: ReconnectReason;
  error?: string;
  retryInMs?: number;
}

export interface UplinkEvents {
  state: [UplinkStateChange];
  acked: [{ firstSeq: number; count: number }];
}

export interface UplinkMqttOptions {
  url: string;
  username: string;
  password?: string | undefined;
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
  reconnectMinMs: number;
  reconnectMaxMs: number;
  connectTimeoutMs: number;
  keepaliveS: number;
  buffer: ReadingBuffer;
  metrics: EdgeMetrics;
  logger: Logger;
  connect?: (url: string, opts: IClientOptions) => MqttClient;
  /** For the backoff's jitter. */
  random?: () => number;
  now?: () => number;
}

export type UplinkStream = 'event' | 'live' | 'backlog';
export const UPLINK_STREAMS: readonly UplinkStream[] = ['event', 'live', 'backlog'];

export interface UplinkStats {
  state: UplinkState;
  inflightBatches: number;
  inflightReadings: number;
  /** The highest seq published on the current connection, per stream. */
  cursors: Record<UplinkStream, number>;
  /** The highest seq buffered when the connection came up: the backlog ends there. */
  backlogUpTo: number;
  /** Whether the backlog of this connection is still being sent. */
  backlogDraining: boolean;
}

interface Inflight {
  stream: UplinkStream;
  seqs: number[];
}

/** Bytes of a Batch beyond its items' bytes: ids, first_seq, sent_ts_ms, and a few per item. */
const BATCH_HEADER_BYTES = 160;
const PER_ITEM_OVERHEAD_BYTES = 4;

export class UplinkMqtt extends EventEmitter<UplinkEvents> {
  private readonly opts: UplinkMqttOptions;
  private readonly topic: string;
  private readonly now: () => number;
  private state: UplinkState = 'idle';
  private client: MqttClient | undefined;
  /** Bumped per connection attempt; callbacks of an older client are ignored. */
  private generation = 0;
  private attempts = 0;
  private lastError: Error | undefined;
  private refused = false;
  private readonly cursors: Record<UplinkStream, number> = { event: 0, live: 0, backlog: 0 };
  private backlogUpTo = 0;
  private backlogDraining = false;
  /** Token bucket of the backlog's rate cap (readings). */
  private tokens = 0;
  private tokensAt = 0;
  private readonly inflight = new Map<number, Inflight>();
  private readonly inflightSeqs = new Set<number>();
  /** When the oldest live reading not yet peeked was committed (undefined: nothing known to wait). */
  private dataSince: number | undefined;
  private unsent = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private flushDue = Infinity;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private draining = false;

  constructor(opts: UplinkMqttOptions) {
    super();
    this.opts = opts;
    this.topic = batchTopic(opts.pilotId, opts.gatewayId);
    this.now = opts.now ?? Date.now;
    this.opts.metrics.probes.uplinkConnected = () => this.state === 'connected';
    this.opts.metrics.probes.uplinkInflightBatches = () => this.inflight.size;
    this.opts.metrics.probes.uplinkBacklogDraining = () => this.backlogDraining;
    // A batch in flight may reach InfluxDB any moment: evicting its rows would count as dropped
    // what the cloud has.
    this.opts.buffer.attach({ pinned: (seq) => this.inflightSeqs.has(seq) });
  }

  start(): void {
    if (this.state === 'idle') this.connectOnce();
  }

  /** A reading was committed to the buffer. Events go at once; others wait up to batchMaxDelayMs for company. */
  notify(_seq?: number, kind?: ReadingKind): void {
    if (this.state !== 'connected') return;
    if (kind === 'event') return this.pump();
    this.unsent++;
    this.dataSince ??= this.now();
    if (this.unsent >= this.opts.batchMaxItems) this.pump();
    else this.wakeIn(this.opts.batchMaxDelayMs - (this.now() - this.dataSince));
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
    if (this.state === 'connected' && this.inflight.size > 0) await this.waitForAcks(drainMs);
    this.setState({ state: 'closed' });
    this.generation++;
    const client = this.client;
    this.client = undefined;
    if (client) await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
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
    if (change.state === 'disconnected') log.warn(change, 'uplink disconnected');
    else if (change.state === 'connecting') log.debug({ url: this.opts.url, attempt: this.attempts }, 'uplink connecting');
    else log.info({ url: this.opts.url }, `uplink ${change.state}`);
    this.emit('state', change);
  }

  private connectOnce(): void {
    if (this.draining) return;
    const gen = ++this.generation;
    this.lastError = undefined;
    this.refused = false;
    this.setState({ state: 'connecting' });
    const connect = this.opts.connect ?? mqttConnect;
    const client = connect(this.opts.url, {
      clientId: `edge-${this.opts.gatewayId}`,
      username: this.opts.username,
      password: this.opts.password,
      protocolVersion: 4,
      clean: false,
      reconnectPeriod: 0,
      connectTimeout: this.opts.connectTimeoutMs,
      keepalive: this.opts.keepaliveS,
      resubscribe: false,
    });
    this.client = client;
    // DESIGN.md: Nagle's algorithm costs 15-43 ms per hop, and mqtt.js does not disable it.
    (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
    client.on('connect', () => {
      if (gen !== this.generation) return;
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
    });
    client.on('error', (err: Error & { code?: unknown }) => {
      this.lastError = err;
      // A CONNACK refusal (bad credentials, not authorized) carries its return code as a number.
      if (typeof err.code === 'number') this.refused = true;
    });
    client.on('close', () => {
      if (gen === this.generation) this.onDown();
    });
  }

  private onDown(): void {
    const wasConnected = this.state === 'connected';
    const client = this.client;
    this.client = undefined;
    this.generation++;
    client?.end(true);
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const unacked = this.inflightSeqs.size;
    if (unacked > 0) this.opts.metrics.resent.inc({ reason: 'reconnect' }, unacked);
    this.clearInflight();
    this.backlogDraining = false;
    this.dataSince = undefined;
    const reason: ReconnectReason = wasConnected ? 'connection_lost' : this.refused ? 'refused' : 'connect_failed';
    if (this.draining) {
      this.setState({ state: 'disconnected', reason, error: this.lastError?.message });
      return;
    }
    this.opts.metrics.reconnects.inc({ reason });
    const retryInMs = this.backoff(this.attempts++);
    this.setState({ state: 'disconnected', reason, error: this.lastError?.message, retryInMs });
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
    const { buffer, batchMaxItems, batchMaxDelayMs, maxInflightBatches } = this.opts;
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
        const wait = full || this.dataSince === undefined ? 0 : batchMaxDelayMs - (this.now() - this.dataSince);
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

      // 3. The backlog, at a capped rate, never taking the last slot in flight from live readings.
      if (!this.sendBacklog()) return;
    }
  }

  /** Sends one backlog batch if the rate and the room in flight allow; false when it did not. */
  private sendBacklog(): boolean {
    if (!this.backlogDraining) return false;
    const { buffer, batchMaxItems, maxInflightBatches, backlogMaxReadingsPerS: rate } = this.opts;
    let backlogInflight = 0;
    for (const b of this.inflight.values()) if (b.stream === 'backlog') backlogInflight++;
    if (backlogInflight >= Math.max(1, maxInflightBatches - 1)) return false;
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
    const client = this.client;
    if (!client) return;
    const gen = this.generation;
    this.cursors[stream] = items.at(-1)!.seq;
    // The rows are encoded Readings, validated before they were buffered: they go into the Batch as
    // they are. A row damaged on disk can never be acknowledged; kept, it would be sent forever.
    const encoded: Uint8Array[] = [];
    const seqs: number[] = [];
    const corrupt: number[] = [];
    for (const item of items) {
      if (isWellFormedReading(item.bytes)) {
        encoded.push(item.bytes);
        seqs.push(item.seq);
      } else {
        corrupt.push(item.seq);
      }
    }
    if (corrupt.length > 0) {
      this.opts.buffer.delete(corrupt);
      this.opts.metrics.dropped.inc({ reason: 'corrupt', kind: 'unknown' }, corrupt.length);
      this.opts.logger.error({ seqs: corrupt }, 'dropped buffered rows that are not a michi.v1.Reading');
    }
    const firstSeq = seqs[0];
    if (firstSeq === undefined) return;
    const payload = encodeBatchOfEncoded(
      { pilot_id: this.opts.pilotId, gateway_id: this.opts.gatewayId, first_seq: firstSeq, sent_ts_ms: this.now() },
      encoded,
    );
    const raw = payload.byteLength;
    // Level 1: most of the gain (readings repeat ids, cells and enums) for a fraction of the CPU.
    const body = this.opts.compression === 'deflate' ? deflateSync(payload, { level: 1 }) : payload;
    this.opts.metrics.uplinkBytes.inc({ stage: 'batch' }, raw);
    this.opts.metrics.uplinkBytes.inc({ stage: 'sent' }, body.byteLength);
    this.inflight.set(firstSeq, { stream, seqs });
    for (const seq of seqs) this.inflightSeqs.add(seq);
    this.opts.metrics.batchesSent.inc({ stream });
    client.publish(this.topic, Buffer.from(body.buffer, body.byteOffset, body.byteLength), { qos: 1 }, (err) => {
      // An older connection's callbacks: its batches are sent again from the buffer.
      if (gen !== this.generation || this.state === 'closed') return;
      if (err) {
        this.opts.logger.warn({ err: err.message, firstSeq }, 'batch publish failed; it is sent again after reconnecting');
        return;
      }
      this.inflight.delete(firstSeq);
      for (const seq of seqs) this.inflightSeqs.delete(seq);
      const count = this.opts.buffer.delete(seqs);
      this.opts.metrics.forwarded.inc(count);
      this.opts.metrics.batchesAcked.inc();
      this.emit('acked', { firstSeq, count });
      this.pump();
    });
  }
}
