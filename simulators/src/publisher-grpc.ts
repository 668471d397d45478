/**
 * Publishes simulated readings to the gateway-local gRPC ingest of edge agents:
 * michi.v1.EdgeIngestService/Publish (proto/schema/michi/v1/ingest.proto), one bidirectional stream
 * per gateway. Readings are grouped into PublishRequests (up to `batchMaxItems`, or whatever
 * arrived within `lingerMs`); the edge answers each with a PublishResponse once it is on disk:
 * ACCEPTED (what is not in `rejected` is stored; rejected items never will be) or RETRY (nothing
 * stored: the request is sent again after a pause). Unlike MQTT 3.1.1, gRPC says what was refused,
 * so `rejected` counts here. With a gateway's device key each source has its own stream on the
 * gateway's channel, authenticated by x-michi-source and x-michi-password (@michi/proto
 * devicePassword), as an edge requires.
 */
import * as grpc from '@grpc/grpc-js';
import { deviceMetadataEntries, devicePassword, makeReading, michi, publishClientDefinition, type Reading } from '@michi/proto';
import type { Logger } from 'pino';
import { InFlight } from './in-flight.js';
import { SimErrorCodes, SimulatorError } from './errors.js';
import type { SimReading } from './fleet.js';
import type { PublishStats, ReadingPublisher } from './publisher-mqtt.js';

export interface GrpcPublisherOptions {
  /** host:port of each gateway's gRPC ingest. */
  gatewayAddrs: ReadonlyMap<string, string>;
  batchMaxItems?: number;
  lingerMs?: number;
  /** Pause before sending a request again that was answered RETRY, ms. */
  retryMs?: number;
  /** Metadata sent on each stream. */
  metadata?: Record<string, string>;
  /** Gateway id → its device key: each source of such a gateway gets its own authenticated stream. */
  deviceKeys?: ReadonlyMap<string, string>;
  logger: Logger;
}

interface Pending {
  items: Reading[];
  attempts: number;
}

interface GatewayStream {
  gateway: string;
  call: grpc.ClientDuplexStream<michi.v1.PublishRequest, michi.v1.PublishResponse>;
  client: grpc.Client;
  queue: Reading[];
  timer: NodeJS.Timeout | undefined;
  inflight: Map<number, Pending>;
  ended: boolean;
  /** Why the stream ended (grpc_<status>), for what is sent to it afterwards. */
  endReason?: string;
}

const { path, requestSerialize, responseDeserialize } = publishClientDefinition.Publish;

export class GrpcPublisher implements ReadingPublisher {
  private sent = 0;
  private acked = 0;
  private rejectedN = 0;
  private readonly outstanding = new InFlight();
  private readonly failures = new Map<string, number>();
  private nextId = 1;
  /** By gateway id, or by gateway/source for gateways with a device key. */
  private readonly streams = new Map<string, GatewayStream>();
  private readonly channels = new Map<string, grpc.Client>();

  private constructor(private readonly opts: GrpcPublisherOptions) {}

  /** Opens a stream to every gateway; rejects if a channel does not become ready within connectTimeoutMs. */
  static async open(opts: GrpcPublisherOptions & { connectTimeoutMs?: number }): Promise<GrpcPublisher> {
    const pub = new GrpcPublisher(opts);
    try {
      for (const [gateway, addr] of opts.gatewayAddrs) {
        const client = new grpc.Client(addr, grpc.credentials.createInsecure());
        await new Promise<void>((resolve, reject) =>
          client.waitForReady(Date.now() + (opts.connectTimeoutMs ?? 10_000), (err) =>
            err
              ? reject(
                  new SimulatorError(
                    SimErrorCodes.CONNECT,
                    `cannot reach the gRPC ingest of gateway "${gateway}" at ${addr}: ${err.message}`,
                    { gateway, addr },
                    { cause: err },
                  ),
                )
              : resolve(),
          ),
        ).catch((err: unknown) => {
          client.close();
          throw err;
        });
        pub.channels.set(gateway, client);
        if (!opts.deviceKeys?.has(gateway)) pub.openStream(gateway, client);
      }
    } catch (err) {
      await pub.close();
      throw err;
    }
    return pub;
  }

  get inFlight(): number {
    return this.outstanding.count;
  }

  publish(reading: SimReading): void {
    const s = this.streamOf(reading);
    if (!s) throw new SimulatorError(SimErrorCodes.PILOT, `no gRPC stream for gateway "${reading.gatewayId}"`);
    this.sent++;
    this.outstanding.add();
    s.queue.push(makeReading(reading.kind, reading.body));
    if (s.queue.length >= (this.opts.batchMaxItems ?? 100)) this.flush(s);
    else s.timer ??= setTimeout(() => this.flush(s), this.opts.lingerMs ?? 5);
  }

  /** A PublishRequest carries decoded readings: a malformed body cannot travel in one. */
  publishRaw(): void {
    this.sent++;
    this.fail('malformed_not_sendable', 1);
  }

  waitForCapacity(max: number): Promise<void> {
    if (this.outstanding.count < max) return Promise.resolve();
    for (const s of this.streams.values()) this.flush(s);
    return this.outstanding.below(max);
  }

  async drain(timeoutMs: number): Promise<void> {
    for (const s of this.streams.values()) this.flush(s);
    const left = await this.outstanding.drain(timeoutMs);
    if (left > 0) {
      this.fail('unacked_at_end', left);
      for (const s of this.streams.values()) s.inflight.clear();
    }
  }

  stats(): PublishStats {
    let failed = 0;
    for (const n of this.failures.values()) failed += n;
    return { sent: this.sent, acked: this.acked, rejected: this.rejectedN, failed, failedByReason: Object.fromEntries(this.failures) };
  }

  async close(): Promise<void> {
    for (const s of this.streams.values()) {
      clearTimeout(s.timer);
      if (!s.ended) s.call.end();
    }
    for (const c of this.channels.values()) c.close();
    this.streams.clear();
    this.channels.clear();
  }

  /** The stream a reading goes on: its gateway's, or with a device key its source's own (opened on first use). */
  private streamOf(reading: SimReading): GatewayStream | undefined {
    const key = this.opts.deviceKeys?.get(reading.gatewayId);
    if (key === undefined) return this.streams.get(reading.gatewayId);
    const id = `${reading.gatewayId}/${reading.sourceId}`;
    const channel = this.channels.get(reading.gatewayId);
    if (!this.streams.has(id) && channel) {
      this.openStream(
        reading.gatewayId,
        channel,
        id,
        reading.sourceId,
        deviceMetadataEntries(reading.sourceId, devicePassword(key, reading.sourceId)),
      );
    }
    return this.streams.get(id);
  }

  private openStream(gateway: string, client: grpc.Client, id = gateway, source?: string, login: [string, string][] = []): void {
    const metadata = new grpc.Metadata();
    for (const [k, v] of [...Object.entries(this.opts.metadata ?? {}), ...login]) metadata.set(k, v);
    const call = client.makeBidiStreamRequest(path, requestSerialize, responseDeserialize, metadata);
    const s: GatewayStream = { gateway, call, client, queue: [], timer: undefined, inflight: new Map(), ended: false };
    call.on('data', (res: michi.v1.PublishResponse) => this.onResponse(s, res));
    call.on('error', (err: grpc.ServiceError) => {
      s.ended = true;
      s.endReason = `grpc_${grpc.status[err.code] ?? err.code}`;
      // Whatever was in flight on this stream is lost to us: count it, do not hang.
      let n = 0;
      for (const p of s.inflight.values()) n += p.items.length;
      s.inflight.clear();
      if (n > 0) {
        this.fail(s.endReason, n);
        this.outstanding.settle(n);
      }
      this.opts.logger.warn({ err: err.message, gateway, ...(source ? { source } : {}) }, 'gRPC publish stream failed');
    });
    this.streams.set(id, s);
  }

  private flush(s: GatewayStream): void {
    clearTimeout(s.timer);
    s.timer = undefined;
    if (s.queue.length === 0) return;
    const items = s.queue.splice(0);
    this.send(s, { items, attempts: 0 });
  }

  private send(s: GatewayStream, p: Pending): void {
    if (s.ended) {
      this.fail(s.endReason ?? 'stream_closed', p.items.length);
      this.outstanding.settle(p.items.length);
      return;
    }
    const id = this.nextId++;
    s.inflight.set(id, p);
    s.call.write(michi.v1.PublishRequest.create({ request_id: id, readings: p.items }));
  }

  private onResponse(s: GatewayStream, res: michi.v1.PublishResponse): void {
    const id = Number(res.request_id);
    const p = s.inflight.get(id);
    if (!p) return;
    s.inflight.delete(id);
    if (res.status === michi.v1.AckStatus.ACK_STATUS_RETRY) {
      p.attempts++;
      setTimeout(() => this.send(s, p), (this.opts.retryMs ?? 200) * Math.min(10, p.attempts));
      return;
    }
    const rejected = res.rejected?.length ?? 0;
    this.rejectedN += rejected;
    this.acked += p.items.length - rejected;
    this.outstanding.settle(p.items.length);
  }

  private fail(reason: string, n: number): void {
    this.failures.set(reason, (this.failures.get(reason) ?? 0) + n);
  }
}
