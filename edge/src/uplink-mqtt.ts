/**
 * Forwards the buffer to the cloud over MQTT 3.1.1: readings in seq order, grouped into Batch
 * messages on michi/v1/{pilot}/{gateway}/batch at QoS 1, up to maxInflightBatches unacknowledged.
 * The cloud sends the PUBACK only after InfluxDB accepted the batch, and only then are exactly that
 * batch's rows deleted. Nothing else is ever deleted.
 *
 * The buffer, not mqtt.js, is the store of unacknowledged batches: each connection attempt gets a
 * fresh client (reconnectPeriod 0, so mqtt.js neither reconnects nor resends on its own), and each
 * new connection starts reading the buffer from its start again, which is exactly what was not
 * acknowledged. A batch whose PUBACK was lost is therefore sent twice; the cloud stores readings by
 * identity (pilot, source, kind, timestamp), so the second copy overwrites the first.
 */
import { EventEmitter } from 'node:events';
import { connect as mqttConnect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { batchTopic, encodeBatch, v1, type Reading } from '@michi/proto';
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

export interface UplinkStats {
  state: UplinkState;
  inflightBatches: number;
  inflightReadings: number;
  /** The highest seq published on the current connection. */
  cursor: number;
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
  private cursor = 0;
  private readonly inflight = new Map<number, number[]>();
  /** When the oldest reading not yet peeked was committed (undefined: nothing known to wait). */
  private dataSince: number | undefined;
  private unsent = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private draining = false;

  constructor(opts: UplinkMqttOptions) {
    super();
    this.opts = opts;
    this.topic = batchTopic(opts.pilotId, opts.gatewayId);
    this.now = opts.now ?? Date.now;
    this.opts.metrics.probes.uplinkConnected = () => this.state === 'connected';
    this.opts.metrics.probes.uplinkInflightBatches = () => this.inflight.size;
  }

  start(): void {
    if (this.state === 'idle') this.connectOnce();
  }

  /** A reading was committed to the buffer. */
  notify(): void {
    this.unsent++;
    this.dataSince ??= this.now();
    if (this.state !== 'connected') return;
    if (this.unsent >= this.opts.batchMaxItems) this.pump();
    else this.flushTimer ??= setTimeout(() => this.pump(), Math.max(0, this.opts.batchMaxDelayMs - (this.now() - this.dataSince)));
  }

  stats(): UplinkStats {
    let inflightReadings = 0;
    for (const seqs of this.inflight.values()) inflightReadings += seqs.length;
    return { state: this.state, inflightBatches: this.inflight.size, inflightReadings, cursor: this.cursor };
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
      this.cursor = 0;
      this.inflight.clear();
      this.setState({ state: 'connected' });
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
    const unacked = this.stats().inflightReadings;
    if (unacked > 0) this.opts.metrics.resent.inc({ reason: 'reconnect' }, unacked);
    this.inflight.clear();
    this.cursor = 0;
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

  /** Publishes batches while there is room in flight and something to send. */
  private pump(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    try {
      this.fillInflight();
    } catch (err) {
      // The buffer could not be read (an I/O error): try again later rather than stop forwarding.
      this.opts.logger.error({ err }, 'reading the buffer failed; retrying');
      this.flushTimer = setTimeout(() => this.pump(), this.opts.reconnectMinMs);
    }
  }

  private fillInflight(): void {
    const { buffer, batchMaxItems, batchMaxBytes, batchMaxDelayMs, maxInflightBatches } = this.opts;
    while (this.state === 'connected' && !this.draining && this.inflight.size < maxInflightBatches) {
      const items = buffer.peek(this.cursor, batchMaxItems, batchMaxBytes - BATCH_HEADER_BYTES - PER_ITEM_OVERHEAD_BYTES * batchMaxItems);
      const last = items.at(-1);
      if (!last) {
        this.unsent = 0;
        this.dataSince = undefined;
        return;
      }
      // peek stops early only at the byte limit, so more rows after it mean the batch is full.
      const full = items.length >= batchMaxItems || buffer.peek(last.seq, 1).length > 0;
      if (!full && this.dataSince !== undefined) {
        const wait = batchMaxDelayMs - (this.now() - this.dataSince);
        if (wait > 0) {
          this.flushTimer = setTimeout(() => this.pump(), wait);
          return;
        }
      }
      this.publish(items);
      this.unsent = Math.max(0, this.unsent - items.length);
      if (!full) {
        this.unsent = 0;
        this.dataSince = undefined;
        return;
      }
    }
  }

  private publish(items: BufferedItem[]): void {
    const client = this.client;
    if (!client) return;
    const gen = this.generation;
    this.cursor = items.at(-1)!.seq;
    // Decoding costs ~1 µs a reading; the items were validated before they were buffered.
    const readings: Reading[] = [];
    const seqs: number[] = [];
    const corrupt: number[] = [];
    for (const item of items) {
      try {
        readings.push(v1.Reading.decode(item.bytes));
        seqs.push(item.seq);
      } catch {
        corrupt.push(item.seq);
      }
    }
    if (corrupt.length > 0) {
      // A row that does not decode can never be acknowledged; kept, it would be sent forever.
      this.opts.buffer.delete(corrupt);
      this.opts.metrics.dropped.inc({ reason: 'corrupt' }, corrupt.length);
      this.opts.logger.error({ seqs: corrupt }, 'dropped buffered rows that do not decode as michi.v1.Reading');
    }
    const firstSeq = seqs[0];
    if (firstSeq === undefined) return;
    const payload = encodeBatch({
      pilot_id: this.opts.pilotId,
      gateway_id: this.opts.gatewayId,
      first_seq: firstSeq,
      items: readings,
      sent_ts_ms: this.now(),
    });
    this.inflight.set(firstSeq, seqs);
    client.publish(this.topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), { qos: 1 }, (err) => {
      // An older connection's callbacks: its batches are sent again from the buffer.
      if (gen !== this.generation || this.state === 'closed') return;
      if (err) {
        this.opts.logger.warn({ err: err.message, firstSeq }, 'batch publish failed; it is sent again after reconnecting');
        return;
      }
      this.inflight.delete(firstSeq);
      const count = this.opts.buffer.delete(seqs);
      this.opts.metrics.forwarded.inc(count);
      this.opts.metrics.batchesAcked.inc();
      this.emit('acked', { firstSeq, count });
      this.pump();
    });
  }
}
