/**
 * The gRPC transport of the uplink (uplink.mode grpc): one michi.v1.CloudIngestService/Upload bidi
 * stream per connection, plaintext or TLS (uplink.grpc.tls, with the CA of uplink.tls.caFile), the
 * gateway authenticated by its metadata (`authorization: Bearer <secret>`, `x-michi-gateway`). Each
 * UploadRequest carries one Batch; the cloud answers each with one UploadResponse, in request
 * order, once InfluxDB accepted the readings. uplink-scheduler.ts decides what to send.
 *
 * Loaded only in this mode (edge-agent.ts imports it dynamically): @grpc/grpc-js costs memory the
 * MQTT mode does not need.
 *
 * - The stream counts as up once the channel is READY. The cloud checks the credentials when the
 *   call starts and ends it with UNAUTHENTICATED (PERMISSION_DENIED: a batch for another gateway),
 *   which is reported as a refusal, like MQTT's refused CONNACK.
 * - ACK_STATUS_RETRY (InfluxDB did not take the batch) ends the stream, reported as `retry`: the
 *   scheduler reconnects after its backoff, which keeps growing while the cloud answers RETRY, and
 *   sends everything unacknowledged again, in order, from the buffer.
 * - Each attempt has its own channel and subchannel pool, so that grpc-js's own reconnection
 *   backoff never stacks on the scheduler's.
 */
import * as grpc from '@grpc/grpc-js';
import { gatewayMetadataEntries, uploadClientDefinition, uploadRequest, type UploadAck } from '@michi/proto';
import { UplinkScheduler, type UplinkSchedulerOptions } from './uplink-scheduler.js';
import type { UplinkLink, UplinkLinkEvents, UplinkTransport, UplinkVerdict } from './uplink-transport.js';

export interface GrpcUplinkOptions {
  /** host:port of the cloud's gRPC ingest. */
  address: string;
  tls: boolean;
  /** The CAs that the cloud's certificate must chain to; default: grpc-js's bundled roots. */
  ca?: Buffer | undefined;
  /** The gateway id the cloud authenticates (uplink.username). */
  username: string;
  password: string;
  connectTimeoutMs: number;
  keepaliveS: number;
}

export type UplinkGrpcOptions = UplinkSchedulerOptions & GrpcUplinkOptions;

/** The gRPC uplink: the shared scheduler over a gRPC transport. */
export class UplinkGrpc extends UplinkScheduler {
  constructor(opts: UplinkGrpcOptions) {
    super(opts, grpcTransport(opts));
  }
}

type UploadCall = grpc.ClientDuplexStream<Uint8Array, UploadAck>;
type UploadClient = grpc.Client & { upload(metadata: grpc.Metadata): UploadCall };

const UploadClient = grpc.makeGenericClientConstructor(uploadClientDefinition, 'CloudIngestService') as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => UploadClient;

/** Ends the stream: authentication and authorization failures are refusals, the rest network trouble. */
const REFUSED = new Set<grpc.status>([grpc.status.UNAUTHENTICATED, grpc.status.PERMISSION_DENIED]);

function grpcTransport(opts: GrpcUplinkOptions): UplinkTransport {
  const credentials = opts.tls ? grpc.credentials.createSsl(opts.ca ?? null) : grpc.credentials.createInsecure();
  const metadata = new grpc.Metadata();
  for (const [key, value] of gatewayMetadataEntries(opts.username, opts.password)) metadata.set(key, value);
  const channelOptions: grpc.ClientOptions = {
    'grpc.use_local_subchannel_pool': 1,
    // A Batch is at most uplink.batchMaxBytes (4 MiB); acknowledgements are small.
    'grpc.max_send_message_length': 8 * 1024 * 1024,
    ...(opts.keepaliveS > 0 ? { 'grpc.keepalive_time_ms': opts.keepaliveS * 1_000, 'grpc.keepalive_timeout_ms': 20_000 } : {}),
  };
  return {
    target: `${opts.tls ? 'grpcs' : 'grpc'}://${opts.address}`,
    open(events: UplinkLinkEvents): UplinkLink {
      const client = new UploadClient(opts.address, credentials, channelOptions);
      /** Acknowledgement callbacks of the batches sent, oldest first: the cloud answers in request order. */
      const pending: Parameters<UplinkLink['send']>[1][] = [];
      let over = false;
      let up = false;
      const timer = setTimeout(
        () => down(new Error(`no connection to ${opts.address} within ${opts.connectTimeoutMs} ms`)),
        opts.connectTimeoutMs,
      );
      const finish = () => {
        over = true;
        clearTimeout(timer);
        call.cancel();
        client.close();
      };
      const down = (err: Error, verdict?: UplinkVerdict) => {
        if (over) return;
        finish();
        events.down(err, verdict);
      };

      // Without waitForReady the call fails as soon as the connection does, with its cause
      // ("No connection established. Last error: connect ECONNREFUSED ...").
      const call = client.upload(metadata);
      call.on('data', (ack: UploadAck) => {
        const acked = pending.shift();
        if (!acked) return down(new Error('the cloud acknowledged a batch that was not sent'));
        if (ack.status !== 'ACK_STATUS_ACCEPTED') return down(new Error(`the cloud asked to send again: ${ack.detail}`), 'retry');
        acked(undefined, ack.rejected);
      });
      call.on('error', (err: grpc.ServiceError) => down(err, REFUSED.has(err.code) ? 'refused' : undefined));
      call.on('status', (status: grpc.StatusObject) => {
        if (status.code === grpc.status.OK) down(new Error('the cloud ended the upload stream'));
      });

      const watch = (): void => {
        if (over) return;
        const channel = client.getChannel();
        const state = channel.getConnectivityState(true);
        if (state === grpc.connectivityState.READY) {
          up = true;
          clearTimeout(timer);
          events.up();
          return;
        }
        if (state === grpc.connectivityState.SHUTDOWN) return;
        channel.watchConnectivityState(state, Infinity, watch);
      };
      watch();

      return {
        send(batch, acked) {
          if (over || !up) return;
          pending.push(acked);
          call.write(uploadRequest(batch));
        },
        async end() {
          if (over) return;
          finish();
        },
      };
    },
  };
}
