/**
 * Publishes simulated readings to the local MQTT brokers of edge agents, as vehicles do: one
 * connection per gateway, QoS 1, protobuf (or JSON) bodies on michi/v1/{pilot}/{gateway}/{source}/{kind}.
 * Counts what it sent, what the broker acknowledged and what failed, by reason.
 */
import type net from 'node:net';
import { encodeReadingPayload, type PayloadFormat } from '@michi/proto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { SimErrorCodes, SimulatorError } from './errors.js';
import type { SimReading } from './fleet.js';

export interface PublishStats {
  sent: number;
  acked: number;
  /**
   * Readings the receiver acknowledged as refused for good. Only a gRPC receiver says so: MQTT
   * 3.1.1 has no negative acknowledgement, and an edge acknowledges and drops a bad reading.
   */
  rejected: number;
  failed: number;
  /** Failures by reason: `publish_error` (the client reported one), `unacked_at_end` (no PUBACK before the drain timeout). */
  failedByReason: Record<string, number>;
}

/** Where readings go. The MQTT publisher is one; a gRPC publisher will be another. */
export interface ReadingPublisher {
  publish(reading: SimReading): void;
  /** Publishes `payload` as the body of `reading` (a malformed one, to test a receiver). */
  publishRaw(reading: SimReading, payload: Uint8Array): void;
  /** Readings sent and neither acknowledged nor failed yet. */
  readonly inFlight: number;
  /** Resolves once fewer than `max` readings are in flight. */
  waitForCapacity(max: number): Promise<void>;
  /** Waits up to timeoutMs for every reading in flight to be acknowledged; what is left counts as failed. */
  drain(timeoutMs: number): Promise<void>;
  stats(): PublishStats;
  close(): Promise<void>;
}

export type MqttConnect = (url: string, opts: IClientOptions) => MqttClient;

export interface MqttPublisherOptions {
  pilotId: string;
  /** The broker URL of each gateway the fleet publishes to. */
  gatewayUrls: ReadonlyMap<string, string>;
  format?: PayloadFormat;
  /** Client ids are `<prefix>-<pilot>-<gateway>` (and `-<n>` beyond the first connection). */
  clientIdPrefix?: string;
  /**
   * Connections per gateway (default 1). Real vehicles each have their own; a broker acknowledges
   * one connection's publishes in order, so a big fleet on one connection is slower than in life.
   * A source always uses the same connection, so its readings stay in order.
   */
  connectionsPerGateway?: number;
  connectTimeoutMs?: number;
  logger: Logger;
  connect?: MqttConnect;
}

export class MqttPublisher implements ReadingPublisher {
  private readonly clients: ReadonlyMap<string, readonly MqttClient[]>;
  /** Connection index per source. */
  private readonly lanes = new Map<string, number>();
  private readonly format: PayloadFormat;
  private readonly logger: Logger;
  private sent = 0;
  private acked = 0;
  private pending = 0;
  /** Set once drain gave up: late acks of readings already counted as failed are ignored. */
  private writtenOff = false;
  private readonly failures = new Map<string, number>();
  private waiters: (() => void)[] = [];

  private constructor(clients: ReadonlyMap<string, readonly MqttClient[]>, format: PayloadFormat, logger: Logger) {
    this.clients = clients;
    this.format = format;
    this.logger = logger;
  }

  /** Connects to every gateway's broker; rejects (and closes what did connect) if any cannot be reached. */
  static async open(opts: MqttPublisherOptions): Promise<MqttPublisher> {
    const connect = opts.connect ?? mqtt.connect;
    const prefix = opts.clientIdPrefix ?? 'sim';
    const timeoutMs = opts.connectTimeoutMs ?? 10_000;
    const clients = new Map<string, MqttClient[]>();
    const per = Math.max(1, opts.connectionsPerGateway ?? 1);
    const lanes = [...opts.gatewayUrls].flatMap(([gatewayId, url]) => Array.from({ length: per }, (_, i) => [gatewayId, url, i] as const));
    const attempts = lanes.map(async ([gatewayId, url, i]) => {
      const logger = opts.logger.child({ gateway: gatewayId });
      const client = connect(url, {
        clientId: `${prefix}-${opts.pilotId}-${gatewayId}${i > 0 ? `-${i}` : ''}`,
        protocolVersion: 4, // MQTT 3.1.1: aedes does not speak 5
        clean: true,
        reconnectPeriod: 1_000,
        connectTimeout: timeoutMs,
      });
      if (!clients.has(gatewayId)) clients.set(gatewayId, []);
      clients.get(gatewayId)![i] = client;
      // From the start: mqtt.js keeps emitting 'error' on each failed reconnect, and an 'error'
      // without a listener would crash the process.
      client.on('error', (err) => logger.warn({ err, url }, 'mqtt client error'));
      await waitConnected(client, url, gatewayId, timeoutMs);
      client.on('offline', () => logger.warn({ url }, 'broker connection lost; reconnecting'));
      client.on('connect', () => {
        setNoDelay(client);
        logger.info({ url }, 'reconnected');
      });
      setNoDelay(client);
      logger.debug({ url }, 'connected');
    });
    const results = await Promise.allSettled(attempts);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) {
      await Promise.all([...clients.values()].flat().map((c) => c.endAsync(true)));
      throw failure.reason;
    }
    return new MqttPublisher(clients, opts.format ?? 'protobuf', opts.logger);
  }

  get inFlight(): number {
    return this.pending;
  }

  publish(reading: SimReading): void {
    this.publishRaw(reading, encodeReadingPayload(reading.kind, reading.body, this.format));
  }

  publishRaw(reading: SimReading, bytes: Uint8Array): void {
    const pool = this.clients.get(reading.gatewayId);
    let lane = this.lanes.get(reading.sourceId);
    if (lane === undefined && pool) {
      lane = this.lanes.size % pool.length;
      this.lanes.set(reading.sourceId, lane);
    }
    const client = pool?.[lane ?? 0];
    if (!client) throw new SimulatorError(SimErrorCodes.PILOT, `no broker connection for gateway "${reading.gatewayId}"`);
    this.sent++;
    this.pending++;
    client.publish(reading.topic, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { qos: 1 }, (err) => {
      if (this.writtenOff) return;
      this.pending--;
      if (err) {
        this.fail('publish_error');
        this.logger.warn({ err, gateway: reading.gatewayId, source: reading.sourceId, kind: reading.kind }, 'publish failed');
      } else {
        this.acked++;
      }
      this.wake();
    });
  }

  waitForCapacity(max: number): Promise<void> {
    if (this.inFlight < max) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.inFlight < max) resolve();
        else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight > 0 && Date.now() < deadline) {
      await Promise.race([this.waitForCapacity(1), sleep(Math.min(100, deadline - Date.now()))]);
    }
    const left = this.inFlight;
    if (left > 0) {
      this.logger.warn({ unacked: left, timeoutMs }, 'readings still unacknowledged at the end; counted as failed');
      this.failures.set('unacked_at_end', (this.failures.get('unacked_at_end') ?? 0) + left);
      this.pending = 0;
      this.writtenOff = true;
    }
  }

  stats(): PublishStats {
    const failed = this.failedCount();
    return {
      sent: this.sent,
      acked: this.acked,
      rejected: 0,
      failed,
      failedByReason: Object.fromEntries(this.failures),
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].flat().map((c) => c.endAsync(true)));
  }

  private failedCount(): number {
    let n = 0;
    for (const v of this.failures.values()) n += v;
    return n;
  }

  private fail(reason: string): void {
    this.failures.set(reason, (this.failures.get(reason) ?? 0) + 1);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

function waitConnected(client: MqttClient, url: string, gatewayId: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (reason: string, cause?: unknown): void => {
      cleanup();
      reject(
        new SimulatorError(
          SimErrorCodes.CONNECT,
          `cannot connect to the broker of gateway "${gatewayId}" at ${url}: ${reason}`,
          { gateway: gatewayId, url },
          { cause },
        ),
      );
    };
    const onConnect = (): void => {
      cleanup();
      resolve();
    };
    const onError = (err: Error): void => fail(err.message, err);
    const timer = setTimeout(() => fail(`no CONNACK within ${timeoutMs} ms`), timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      client.off('connect', onConnect);
      client.off('error', onError);
    };
    client.on('connect', onConnect);
    client.on('error', onError);
  });
}

/** Neither mqtt.js nor aedes disables Nagle: with it on, a hop costs ~15 ms p50 (DESIGN.md). */
function setNoDelay(client: MqttClient): void {
  const stream = client.stream as Partial<net.Socket> | undefined;
  stream?.setNoDelay?.(true);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
