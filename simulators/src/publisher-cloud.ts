/**
 * Publishes readings straight to the cloud, as an edge agent's uplink does: per gateway one MQTT
 * connection authenticated with the gateway's id and secret, readings grouped into michi.v1.Batch
 * messages on michi/v1/{pilot}/{gateway}/batch, QoS 1. The cloud acknowledges a batch only after
 * InfluxDB accepted it, so an acknowledged reading here is a stored one.
 */
import type net from 'node:net';
import { batchTopic, encodeBatch, makeReading, type Reading } from '@michi/proto';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { SimErrorCodes, SimulatorError } from './errors.js';
import type { SimReading } from './fleet.js';
import { InFlight } from './in-flight.js';
import type { PublishStats, ReadingPublisher } from './publisher-mqtt.js';

export interface CloudPublisherOptions {
  pilotId: string;
  /** The cloud's MQTT broker, e.g. mqtt://127.0.0.1:1883. */
  url: string;
  /** Secret of each gateway the readings come through (username = gateway id). */
  secrets: ReadonlyMap<string, string>;
  /** Readings per batch at most (default 500). */
  batchMaxItems?: number;
  /** How long a batch waits for more readings, ms (default 20). */
  lingerMs?: number;
  connectTimeoutMs?: number;
  logger: Logger;
}

interface GatewayLink {
  client: MqttClient;
  topic: string;
  items: Reading[];
  timer: NodeJS.Timeout | undefined;
}

export class CloudPublisher implements ReadingPublisher {
  private sent = 0;
  private acked = 0;
  private readonly outstanding = new InFlight();
  private failedN = 0;
  /** first_seq of the next batch: increasing across batches and runs (microseconds at start). */
  private nextSeq = Date.now() * 1000;

  private constructor(
    private readonly opts: CloudPublisherOptions,
    private readonly links: ReadonlyMap<string, GatewayLink>,
  ) {}

  static async open(opts: CloudPublisherOptions): Promise<CloudPublisher> {
    const links = new Map<string, GatewayLink>();
    try {
      for (const [gateway, secret] of opts.secrets) {
        const client = await mqtt
          .connectAsync(opts.url, {
            // The cloud takes a gateway's client id only as edge-<gateway> or edge-<gateway>.<suffix>.
            clientId: `edge-${gateway}.sim-replay`,
            username: gateway,
            password: secret,
            protocolVersion: 4,
            clean: true,
            reconnectPeriod: 1_000,
            connectTimeout: opts.connectTimeoutMs ?? 10_000,
          })
          .catch((err: Error) => {
            throw new SimulatorError(
              SimErrorCodes.CONNECT,
              `cannot connect to the cloud at ${opts.url} as gateway "${gateway}": ${err.message}`,
              { gateway },
              { cause: err },
            );
          });
        client.on('error', (err) => opts.logger.warn({ err, gateway }, 'cloud mqtt client error'));
        (client.stream as Partial<net.Socket>).setNoDelay?.(true);
        links.set(gateway, { client, topic: batchTopic(opts.pilotId, gateway), items: [], timer: undefined });
      }
    } catch (err) {
      await Promise.all([...links.values()].map((l) => l.client.endAsync(true)));
      throw err;
    }
    return new CloudPublisher(opts, links);
  }

  get inFlight(): number {
    return this.outstanding.count;
  }

  publish(reading: SimReading): void {
    const link = this.links.get(reading.gatewayId);
    if (!link)
      throw new SimulatorError(SimErrorCodes.PILOT, `no secret for gateway "${reading.gatewayId}"`, { gateway: reading.gatewayId });
    this.sent++;
    this.outstanding.add();
    link.items.push(makeReading(reading.kind, reading.body));
    if (link.items.length >= (this.opts.batchMaxItems ?? 500)) this.flush(reading.gatewayId, link);
    else link.timer ??= setTimeout(() => this.flush(reading.gatewayId, link), this.opts.lingerMs ?? 20);
  }

  /** A batch carries decoded readings only: a malformed body cannot travel in one, so it is counted as failed. */
  publishRaw(): void {
    this.sent++;
    this.failedN++;
  }

  waitForCapacity(max: number): Promise<void> {
    if (this.outstanding.count < max) return Promise.resolve();
    for (const [gw, link] of this.links) if (link.items.length > 0) this.flush(gw, link);
    return this.outstanding.below(max);
  }

  async drain(timeoutMs: number): Promise<void> {
    for (const [gw, link] of this.links) if (link.items.length > 0) this.flush(gw, link);
    this.failedN += await this.outstanding.drain(timeoutMs);
  }

  stats(): PublishStats {
    return {
      sent: this.sent,
      acked: this.acked,
      rejected: 0,
      failed: this.failedN,
      failedByReason: this.failedN > 0 ? { unacked_or_malformed: this.failedN } : {},
    };
  }

  async close(): Promise<void> {
    for (const link of this.links.values()) clearTimeout(link.timer);
    await Promise.all([...this.links.values()].map((l) => l.client.endAsync(true)));
  }

  private flush(gateway: string, link: GatewayLink): void {
    clearTimeout(link.timer);
    link.timer = undefined;
    const items = link.items.splice(0);
    if (items.length === 0) return;
    const firstSeq = this.nextSeq;
    this.nextSeq += items.length;
    const payload = encodeBatch({ pilot_id: this.opts.pilotId, gateway_id: gateway, first_seq: firstSeq, items, sent_ts_ms: Date.now() });
    link.client.publish(link.topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), { qos: 1 }, (err) => {
      if (err) {
        this.failedN += items.length;
        this.opts.logger.warn({ err, gateway }, 'batch publish failed');
      } else {
        this.acked += items.length;
      }
      this.outstanding.settle(items.length);
    });
  }
}
