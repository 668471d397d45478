/**
 * The gRPC ingest for gateways (default port 50051): michi.v1.CloudIngestService/Upload, a bidi
 * stream of UploadRequest{batch}, answered by one UploadResponse per request, in request order,
 * only once InfluxDB accepted the batch's readings (ACCEPTED) or failed to (RETRY: send it again).
 * A request that can never be decoded is answered ACCEPTED with one rejection carrying its code, so
 * the gateway forgets it instead of resending it forever (the same rule as the MQTT path).
 *
 * Authentication is per stream, from metadata: `authorization: Bearer <gateway secret>` and
 * `x-michi-gateway: <gateway id>`, checked against the same digests as the MQTT login. Failures end
 * the call with UNAUTHENTICATED, a batch naming another pilot or gateway with PERMISSION_DENIED,
 * limits with RESOURCE_EXHAUSTED; the trailing metadata `michi-error-code` holds the MICHI_ERR_* code.
 *
 * Also served: the standard health service (grpc.health.v1.Health, for grpc_health_probe) and server
 * reflection (v1 and v1alpha, for grpcurl). TLS when a certificate is configured. The health status
 * ('' and michi.v1.CloudIngestService) is whatever setServing() last said: the cloud service makes it
 * follow whether InfluxDB takes writes (InfluxHealth), since without InfluxDB no upload is acknowledged;
 * with several InfluxDB servers, whether all of them do, and `influx/<server>` says which one does not.
 */
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import { ErrorCodes, MichiError, reflectionPackage, v1, type ErrorCode, type michi, type TlsMaterial } from '@michi/proto';
import type { BatchIngest, IngestOutcome } from './ingest-batch.js';
import {
  CLOUD_INGEST_SERVICE,
  ERROR_CODE_METADATA_KEY,
  GATEWAY_METADATA_KEY,
  batchBytesOf,
  uploadServerDefinition,
} from './ingest-grpc-client.js';
import type { CloudMetrics } from './metrics.js';
import type { GatewayIdentity, PilotDirectory } from './pilot-directory.js';
import { ConnectionLimiter, TokenBucket, type RateLimit } from './rate-limit.js';

export interface GrpcIngestOptions {
  host: string;
  port: number;
  tls?: TlsMaterial | undefined;
  /** Largest UploadRequest accepted; grpc-js refuses larger messages itself (RESOURCE_EXHAUSTED). */
  maxMessageBytes: number;
  maxInflightPerStream: number;
  maxStreams: number;
  maxStreamsPerGateway: number;
  uploadRate: RateLimit;
}

export interface GrpcIngestDeps {
  directory: PilotDirectory;
  ingest: BatchIngest;
  metrics: CloudMetrics;
  logger: Logger;
}

export interface GrpcIngestServer {
  readonly port: number;
  /**
   * Sets what the health service reports for '' and michi.v1.CloudIngestService, and for
   * `influx/<name>` of each InfluxDB server given (ignored once closing).
   */
  setServing(serving: boolean, servers?: Readonly<Record<string, 'up' | 'down'>>): void;
  close(): Promise<void>;
}

const TRANSPORT = 'grpc';
/** The health service's name of an InfluxDB server's status: `influx/default`, `influx/archive-east`. */
const INFLUX_SERVER_SERVICE = 'influx/';
type Response = michi.v1.UploadResponse.$Properties;

/** Reflection and the health service describe the .proto files; Upload itself uses the static codec. */

function first(md: grpc.Metadata, key: string): string | undefined {
  const v = md.get(key)[0];
  return typeof v === 'string' ? v : undefined;
}

function statusError(code: grpc.status, michiCode: ErrorCode, message: string): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_METADATA_KEY, michiCode);
  return { code, details: `${michiCode}: ${message}`, metadata };
}

export async function startGrpcIngest(opts: GrpcIngestOptions, deps: GrpcIngestDeps): Promise<GrpcIngestServer> {
  const { directory, ingest, metrics } = deps;
  const log = deps.logger.child({ component: 'grpc-ingest' });
  const streams = new ConnectionLimiter<object>(opts.maxStreams, opts.maxStreamsPerGateway);
  /** Ends every open stream on close(), after its pending acknowledgements. */
  const open = new Set<() => Promise<void>>();
  let closing = false;

  function refuse(reason: string, message: string, ctx: Record<string, unknown>): void {
    metrics.ingestRefusals.inc({ transport: TRANSPORT, reason });
    log.warn({ transport: TRANSPORT, reason, ...ctx }, message);
  }

  function upload(call: grpc.ServerDuplexStream<Buffer, Response>): void {
    const peer = call.getPeer();
    let ended = false;
    const fail = (code: grpc.status, michiCode: ErrorCode, message: string): void => {
      if (ended) return;
      ended = true;
      call.emit('error', statusError(code, michiCode, message));
    };
    if (closing) {
      fail(grpc.status.UNAVAILABLE, ErrorCodes.STORAGE, 'the cloud is shutting down');
      return;
    }

    const gatewayId = first(call.metadata, GATEWAY_METADATA_KEY);
    const auth = first(call.metadata, 'authorization');
    const token = auth !== undefined && /^bearer /i.test(auth) ? auth.slice(7).trim() : undefined;
    const login = directory.login(gatewayId, token);
    if (!login.ok) {
      metrics.failedLogins.inc({ reason: login.reason });
      // The gateway id helps an operator trace the sender; the token is never logged.
      refuse(login.reason, 'gateway login refused', { gateway: gatewayId, peer });
      fail(grpc.status.UNAUTHENTICATED, ErrorCodes.FORBIDDEN, `login refused: ${login.reason}`);
      return;
    }
    const gw: GatewayIdentity = login.identity;
    const ctx = { pilot: gw.pilot, gateway: gw.gateway, peer };
    if (!streams.openConnection()) {
      refuse('max_connections', `${opts.maxStreams} upload streams open; stream refused`, ctx);
      fail(grpc.status.RESOURCE_EXHAUSTED, ErrorCodes.RATE_LIMITED, 'too many upload streams');
      return;
    }
    const key = {};
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      streams.closeConnection();
      streams.release(gw.gateway, key);
      open.delete(shutdown);
    };
    call.on('close', release);
    call.on('finish', release);
    call.on('cancelled', () => {
      ended = true;
      release();
    });
    call.on('error', release);
    if (!streams.claim(gw.gateway, key)) {
      refuse('max_connections_per_gateway', `gateway already has ${opts.maxStreamsPerGateway} upload streams; stream refused`, ctx);
      fail(grpc.status.RESOURCE_EXHAUSTED, ErrorCodes.RATE_LIMITED, 'too many upload streams for this gateway');
      release();
      return;
    }

    const bucket = new TokenBucket(opts.uploadRate);
    let inflight = 0;
    let paused = false;
    /** Responses go out in request order: each waits for the one before. */
    let tail: Promise<void> = Promise.resolve();

    const respond = (outcome: IngestOutcome | Error, started: number): void => {
      if (ended) return;
      if (outcome instanceof Error) {
        log.error({ ...ctx, err: outcome }, 'batch ingest failed unexpectedly');
        metrics.batchesRejected.inc({ reason: 'internal' });
        fail(grpc.status.INTERNAL, ErrorCodes.STORAGE, 'internal error; send the batch again');
        return;
      }
      switch (outcome.status) {
        case 'accepted':
          metrics.batchesAccepted.inc({ transport: TRANSPORT });
          metrics.ackSeconds.observe({ transport: TRANSPORT }, (performance.now() - started) / 1_000);
          metrics.gatewayLastSeen.set({ pilot: gw.pilot, gateway: gw.gateway }, Date.now() / 1_000);
          call.write({
            first_seq: outcome.firstSeq,
            count: outcome.items,
            status: v1.AckStatus.ACK_STATUS_ACCEPTED,
            rejected: outcome.rejected,
          });
          return;
        case 'dropped':
          call.write({
            status: v1.AckStatus.ACK_STATUS_ACCEPTED,
            rejected: [{ index: 0, code: outcome.error.code, reason: `the whole request: ${outcome.error.message}` }],
            detail: `${outcome.error.code}: dropped, it can never be accepted: ${outcome.error.message}`,
          });
          return;
        case 'retry':
          call.write({
            first_seq: outcome.firstSeq,
            count: outcome.items,
            status: v1.AckStatus.ACK_STATUS_RETRY,
            detail: `${outcome.error.code}: ${outcome.error.message}`,
          });
          return;
        case 'refused':
          refuse(outcome.reason, 'upload refused; stream closed', ctx);
          fail(grpc.status.PERMISSION_DENIED, outcome.error.code, outcome.error.message);
          return;
      }
    };

    call.on('data', (request: Buffer) => {
      if (ended) return;
      if (!bucket.take()) {
        const r = opts.uploadRate;
        refuse('rate_limited', `upload rate over ${r.perSecond}/s (burst ${r.burst}); stream closed`, ctx);
        fail(grpc.status.RESOURCE_EXHAUSTED, ErrorCodes.RATE_LIMITED, 'upload rate limit exceeded');
        return;
      }
      const started = performance.now();
      inflight++;
      metrics.pendingAcks.inc({ transport: TRANSPORT });
      if (inflight >= opts.maxInflightPerStream && !paused) {
        paused = true;
        call.pause();
      }
      let result: Promise<IngestOutcome | Error>;
      try {
        const bytes = batchBytesOf(request);
        result = ingest.ingest(gw, bytes).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
      } catch (err) {
        // Not even an UploadRequest: the same typed rejection as an undecodable batch.
        const error = err instanceof MichiError ? err : new MichiError(ErrorCodes.DECODE, String(err));
        metrics.batchesRejected.inc({ reason: 'decode' });
        log.error(
          { ...ctx, code: error.code, err: error.message, bytes: request.length },
          'upload request dropped: it can never be decoded',
        );
        result = Promise.resolve({ status: 'dropped', reason: 'decode', error });
      }
      tail = tail.then(async () => {
        const outcome = await result;
        inflight--;
        metrics.pendingAcks.dec({ transport: TRANSPORT });
        respond(outcome, started);
        if (paused && inflight < opts.maxInflightPerStream && !ended) {
          paused = false;
          call.resume();
        }
      });
    });
    call.on('end', () => {
      void tail.then(() => {
        if (ended) return;
        ended = true;
        call.end();
      });
    });
    const shutdown = async (): Promise<void> => {
      await tail;
      fail(grpc.status.UNAVAILABLE, ErrorCodes.STORAGE, 'the cloud is shutting down; reconnect and send unacknowledged batches again');
    };
    open.add(shutdown);
  }

  const server = new grpc.Server({
    // A little above the batch limit, so that a batch just over it reaches decodeBatch, which
    // answers with a counted MICHI_ERR_TOO_LARGE; grpc-js itself refuses anything larger.
    'grpc.max_receive_message_length': opts.maxMessageBytes + 64 * 1024,
    'grpc.max_send_message_length': 4 * 1024 * 1024,
  });
  server.addService(uploadServerDefinition, { upload });
  const health = new HealthImplementation({ '': 'SERVING', [CLOUD_INGEST_SERVICE]: 'SERVING' });
  health.addToServer(server);
  // The compiled descriptors (see reflectionPackage); @grpc/reflection types its argument with its own
  // copy of @grpc/proto-loader, whose PackageDefinition has the same shape.
  new ReflectionService(reflectionPackage() as never, { services: [CLOUD_INGEST_SERVICE, 'grpc.health.v1.Health'] }).addToServer(server);

  const credentials = opts.tls
    ? grpc.ServerCredentials.createSsl(opts.tls.ca ?? null, [{ cert_chain: opts.tls.cert, private_key: opts.tls.key }], false)
    : grpc.ServerCredentials.createInsecure();
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${opts.port}`, credentials, (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  log.info({ host: opts.host, port, tls: opts.tls !== undefined }, 'gRPC ingest listening');

  let closed: Promise<void> | undefined;
  return {
    port,
    setServing(serving, servers = {}) {
      if (closing) return;
      const status = serving ? 'SERVING' : 'NOT_SERVING';
      health.setStatus('', status);
      health.setStatus(CLOUD_INGEST_SERVICE, status);
      for (const [name, up] of Object.entries(servers))
        health.setStatus(`${INFLUX_SERVER_SERVICE}${name}`, up === 'up' ? 'SERVING' : 'NOT_SERVING');
    },
    close() {
      closed ??= (async () => {
        closing = true;
        health.setStatus('', 'NOT_SERVING');
        health.setStatus(CLOUD_INGEST_SERVICE, 'NOT_SERVING');
        await Promise.all([...open].map((end) => end()));
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, 2_000);
          server.tryShutdown(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      })();
      return closed;
    },
  };
}
