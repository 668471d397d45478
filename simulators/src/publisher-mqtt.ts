/**
 * Publishes simulated readings to the local MQTT brokers of edge agents, as vehicles do: QoS 1,
 * protobuf (or JSON) bodies on michi/v1/{pilot}/{gateway}/{source}/{kind}. With a gateway's device
 * key each source has its own connection, username its id and password derived from the key
 * (@michi/proto devicePassword), as an edge requires; without one, a few shared anonymous
 * connections per gateway carry the whole fleet (a broker that does not authenticate, a benchmark).
 * Counts what it sent, what the broker acknowledged and what failed, by reason.
 */
import type net from 'node:net';
import { devicePassword, encodeReadingPayload, type PayloadFormat } from '@michi/proto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { SimErrorCodes, SimulatorError } from './errors.js';
import type { SimReading } from './fleet.js';
import { InFlight } from './in-flight.js';

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
  /**
   * Optional: does the work of publish() that needs no connection (encoding) ahead of it; the
   * simulator calls it before a reading's instant comes, so that a burst costs only the sends.
   */
  prepare?(reading: SimReading): void;
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
  /** Client ids are `<prefix>-<pilot>-<gateway>` (and `-<n>` beyond the first connection), or `<prefix>-<pilot>-<source>`. */
  clientIdPrefix?: string;
  /**
   * Gateway id → its device key. Sources of such a gateway connect each on their own, with their
   * id and password; the edge refuses anything else.
   */
  deviceKeys?: ReadonlyMap<string, string>;
  /** Sources connected at open() (gateway id → source ids), so that refused credentials fail fast; others connect on their first reading. */
  sources?: ReadonlyMap<string, readonly string[]>;
  /**
   * Connections per gateway (default 1). Real vehicles each have their own; a broker acknowledges
   * one connection's publishes in order, so a big fleet on one connection is slower than in life.
   * A source always uses the same connection, so its readings stay in order. Gateways with a
   * device key (deviceKeys) ignore it: there each source has its own connection.
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
  /** Per-source connections, for gateways with a device key; each resolves once connected. */
  private readonly devices = new Map<string, MqttClient>();
  /**
   * Publishes to a device connection made on first use, held until its CONNACK. Handed to mqtt.js
   * before that, they would sit in its offline store, which it replays one at a time after
   * connecting: a replay into an edge then crawled at one reading per PUBACK (~20/s per device).
   */
  private readonly beforeConnect = new Map<MqttClient, (() => void)[]>();
  private readonly format: PayloadFormat;
  /** Payloads encoded by prepare(); weak, so that a reading never published leaves nothing behind. */
  private readonly prepared = new WeakMap<SimReading, Uint8Array>();
  private readonly logger: Logger;
  private sent = 0;
  private acked = 0;
  private readonly outstanding = new InFlight();
  /** Set once drain gave up: late acks of readings already counted as failed are ignored. */
  private writtenOff = false;
  private readonly failures = new Map<string, number>();

  private constructor(
    clients: ReadonlyMap<string, readonly MqttClient[]>,
    private readonly opts: MqttPublisherOptions,
  ) {
    this.clients = clients;
    this.format = opts.format ?? 'protobuf';
    this.logger = opts.logger;
  }

  /**
   * Connects to every gateway's broker (with device keys: every source in `sources`); rejects, and
   * closes what did connect, if any cannot be reached or is refused.
   */
  static async open(opts: MqttPublisherOptions): Promise<MqttPublisher> {
    const prefix = opts.clientIdPrefix ?? 'sim';
    const timeoutMs = opts.connectTimeoutMs ?? 10_000;
    const clients = new Map<string, MqttClient[]>();
    const per = Math.max(1, opts.connectionsPerGateway ?? 1);
    const shared = [...opts.gatewayUrls]
      .filter(([gatewayId]) => !opts.deviceKeys?.has(gatewayId))
      .flatMap(([gatewayId, url]) => Array.from({ length: per }, (_, i) => [gatewayId, url, i] as const));
    const publisher = new MqttPublisher(clients, opts);
    const attempts = shared.map(async ([gatewayId, url, i]) => {
      const client = publisher.connect(gatewayId, url, `${prefix}-${opts.pilotId}-${gatewayId}${i > 0 ? `-${i}` : ''}`);
      if (!clients.has(gatewayId)) clients.set(gatewayId, []);
      clients.get(gatewayId)![i] = client;
      await waitConnected(client, url, gatewayId, timeoutMs);
    });
    for (const [gatewayId, sources] of opts.sources ?? []) {
      if (!opts.deviceKeys?.has(gatewayId)) continue;
      const url = opts.gatewayUrls.get(gatewayId);
      for (const source of sources) {
        const client = publisher.deviceClient(gatewayId, source);
        if (client && url) attempts.push(waitConnected(client, url, gatewayId, timeoutMs, source));
      }
    }
    const results = await Promise.allSettled(attempts);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) {
      await publisher.close();
      throw failure.reason;
    }
    return publisher;
  }

  get inFlight(): number {
    return this.outstanding.count;
  }

  publish(reading: SimReading): void {
    const payload = this.prepared.get(reading) ?? encodeReadingPayload(reading.kind, reading.body, this.format);
    this.prepared.delete(reading);
    this.publishRaw(reading, payload);
  }

  prepare(reading: SimReading): void {
    this.prepared.set(reading, encodeReadingPayload(reading.kind, reading.body, this.format));
  }

  publishRaw(reading: SimReading, bytes: Uint8Array): void {
    const client = this.deviceClient(reading.gatewayId, reading.sourceId) ?? this.sharedClient(reading);
    if (!client) throw new SimulatorError(SimErrorCodes.PILOT, `no broker connection for gateway "${reading.gatewayId}"`);
    this.sent++;
    this.outstanding.add();
    const send = (): void => {
      client.publish(reading.topic, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { qos: 1 }, (err) => {
        if (this.writtenOff) return;
        if (err) {
          this.fail('publish_error');
          this.logger.warn({ err, gateway: reading.gatewayId, source: reading.sourceId, kind: reading.kind }, 'publish failed');
        } else {
          this.acked++;
        }
        this.outstanding.settle();
      });
    };
    const waiting = this.beforeConnect.get(client);
    if (waiting) waiting.push(send);
    else send();
  }

  private sharedClient(reading: SimReading): MqttClient | undefined {
    const pool = this.clients.get(reading.gatewayId);
    let lane = this.lanes.get(reading.sourceId);
    if (lane === undefined && pool) {
      lane = this.lanes.size % pool.length;
      this.lanes.set(reading.sourceId, lane);
    }
    return pool?.[lane ?? 0];
  }

  /** The source's own connection when its gateway has a device key (made on first use; mqtt.js queues until CONNACK). */
  private deviceClient(gatewayId: string, source: string): MqttClient | undefined {
    const key = this.opts.deviceKeys?.get(gatewayId);
    if (key === undefined) return undefined;
    let client = this.devices.get(source);
    if (!client) {
      const url = this.opts.gatewayUrls.get(gatewayId);
      if (url === undefined) return undefined;
      // An edge takes a device's client id only as <device id> or <device id>.<suffix> (docs/protocol.md).
      // The process id in the suffix: two simulators of one pilot (make run's and one a person
      // starts beside it) must not take each other's connections (a broker drops the older
      // session of a client id), which made both reconnect every two seconds.
      const suffix = `${this.opts.clientIdPrefix ?? 'sim'}-${process.pid}`.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
      const made = this.connect(gatewayId, url, `${source}.${suffix}`, {
        username: source,
        password: devicePassword(key, source),
      });
      client = made;
      this.devices.set(source, made);
      if (!made.connected) {
        const waiting: (() => void)[] = [];
        this.beforeConnect.set(made, waiting);
        made.once('connect', () => {
          this.beforeConnect.delete(made);
          for (const send of waiting) send();
        });
      }
    }
    return client;
  }

  private connect(gatewayId: string, url: string, clientId: string, login: { username?: string; password?: string } = {}): MqttClient {
    const logger = this.logger.child({ gateway: gatewayId, ...(login.username ? { source: login.username } : {}) });
    const client = (this.opts.connect ?? mqtt.connect)(url, {
      clientId,
      protocolVersion: 4, // MQTT 3.1.1: aedes does not speak 5
      clean: true,
      reconnectPeriod: 1_000,
      connectTimeout: this.opts.connectTimeoutMs ?? 10_000,
      ...login,
    });
    // From the start: mqtt.js keeps emitting 'error' on each failed reconnect, and an 'error'
    // without a listener would crash the process.
    client.on('error', (err) => logger.warn({ err, url }, 'mqtt client error'));
    client.once('connect', () => {
      client.on('offline', () => logger.warn({ url }, 'broker connection lost; reconnecting'));
      client.on('connect', () => {
        setNoDelay(client);
        logger.info({ url }, 'reconnected');
      });
      setNoDelay(client);
      logger.debug({ url }, 'connected');
    });
    return client;
  }

  waitForCapacity(max: number): Promise<void> {
    return this.outstanding.below(max);
  }

  async drain(timeoutMs: number): Promise<void> {
    const left = await this.outstanding.drain(timeoutMs);
    if (left > 0) {
      this.logger.warn({ unacked: left, timeoutMs }, 'readings still unacknowledged at the end; counted as failed');
      this.failures.set('unacked_at_end', (this.failures.get('unacked_at_end') ?? 0) + left);
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
    await Promise.all([...[...this.clients.values()].flat(), ...this.devices.values()].map((c) => c?.endAsync(true)));
  }

  private failedCount(): number {
    let n = 0;
    for (const v of this.failures.values()) n += v;
    return n;
  }

  private fail(reason: string): void {
    this.failures.set(reason, (this.failures.get(reason) ?? 0) + 1);
  }
}

function waitConnected(client: MqttClient, url: string, gatewayId: string, timeoutMs: number, source?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (reason: string, cause?: unknown): void => {
      cleanup();
      // An edge refuses a connection without per-device credentials (CONNACK 4 or 5).
      const hint = /Bad username or password|Not authorized/i.test(reason)
        ? source
          ? ` (is the device key of gateway "${gatewayId}" the edge's local.deviceKeyEnv, and "${source}" not revoked?)`
          : " (an edge agent wants per-device credentials: give the gateway's device key, michi-sim --device-key-env)"
        : '';
      reject(
        new SimulatorError(
          SimErrorCodes.CONNECT,
          `cannot connect ${source ? `"${source}" ` : ''}to the broker of gateway "${gatewayId}" at ${url}: ${reason}${hint}`,
          { gateway: gatewayId, url, ...(source ? { source } : {}) },
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

/** Neither mqtt.js nor aedes disables Nagle: with it on, a hop costs ~15 ms p50 (measured on loopback). */
function setNoDelay(client: MqttClient): void {
  const stream = client.stream as Partial<net.Socket> | undefined;
  stream?.setNoDelay?.(true);
}
