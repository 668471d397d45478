/**
 * The gateway-local gRPC ingest (default port 50052, `local.grpc`): michi.v1.EdgeIngestService/
 * Publish, a bidi stream of PublishRequest{request_id, readings}, answered by one PublishResponse per
 * request, in request order, once its accepted readings are on disk (the same group commit as MQTT).
 * Readings that can never be accepted are listed in `rejected` by index, with their code, and are
 * not stored; the rest of the request is. When the buffer cannot store a valid reading (full of
 * events, disk error) the response says ACK_STATUS_RETRY: send the request again later (readings
 * stored from it are overwritten upstream, a reading's identity being its key).
 *
 * Identity: metadata `x-michi-source: <id>` and `x-michi-password: <password>` authenticate the
 * sender as an MQTT username and password do (device-auth.ts); a stream without them, or with wrong
 * ones, ends at once with UNAUTHENTICATED (a revoked device: PERMISSION_DENIED). Every reading of a
 * stream must be its sender's own (else rejected as source_mismatch). A request that does
 * not decode is answered ACCEPTED with count 0 and one rejection (MICHI_ERR_DECODE), so that the
 * sender forgets it. Also served: the standard health service and server reflection.
 */
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import {
  EDGE_INGEST_SERVICE,
  ERROR_CODE_METADATA_KEY,
  ErrorCodes,
  PASSWORD_METADATA_KEY,
  SOURCE_METADATA_KEY,
  isMichiError,
  publishServerDefinition,
  readingKind,
  reflectionPackage,
  v1,
  validateBody,
  type michi,
  type ReadingKind,
} from '@michi/proto';
import { AUTH_REFUSAL_CODES, BufferFullError, REJECT_REASON_CODES, type RejectReason } from './errors.js';
import { countRejection } from './metrics.js';
import { REFUSAL_MESSAGES } from './device-auth.js';
import type { LocalIngestOptions } from './local-ingest.js';

export interface GrpcIngestOptions extends LocalIngestOptions {
  maxMessageBytes: number;
  devices: ReadonlySet<string>;
}

export interface GrpcIngest {
  readonly port: number;
  close(): Promise<void>;
}

type Response = michi.v1.PublishResponse.$Properties;
type Rejection = michi.v1.Rejection.$Properties;

/** The server's view of the contract in @michi/proto: requests stay bytes until handle() decodes them. */
const publishServiceDefinition: grpc.ServiceDefinition = publishServerDefinition;

export async function startGrpcIngest(opts: GrpcIngestOptions): Promise<GrpcIngest> {
  const { buffer, metrics, devices } = opts;
  const receiveHop = metrics.hopLatency.labels('receive');
  const log = opts.logger;

  function reject(rejected: Rejection[], index: number, reason: RejectReason, message: string): void {
    countRejection(metrics, reason);
    rejected.push({ index, code: REJECT_REASON_CODES[reason], reason: message });
  }

  /** Checks and stores one request's readings; resolves with its response once they are on disk. */
  async function handle(bytes: Buffer, sender: string): Promise<Response> {
    let request: michi.v1.PublishRequest;
    try {
      request = v1.PublishRequest.decode(bytes);
    } catch (err) {
      countRejection(metrics, 'decode');
      const rejected = [{ index: 0, code: ErrorCodes.DECODE, reason: `not a PublishRequest: ${(err as Error).message}` }];
      return { request_id: 0, accepted: 0, status: v1.AckStatus.ACK_STATUS_ACCEPTED, rejected };
    }
    const rejected: Rejection[] = [];
    const appends: Promise<void>[] = [];
    let accepted = 0;
    let retry: string | undefined;
    request.readings.forEach((reading: michi.v1.Reading.$Properties, index) => {
      let kind: ReadingKind;
      try {
        kind = readingKind(reading);
        validateBody(kind, reading[kind] as never);
      } catch (err) {
        return reject(rejected, index, 'invalid', isMichiError(err) ? err.message : String(err));
      }
      const source = (reading[kind] as { source_id: string }).source_id;
      if (!devices.has(source)) {
        return reject(rejected, index, 'unknown_source', `"${source}" is not a vehicle or sensor of gateway "${opts.gatewayId}"`);
      }
      if (sender !== source) {
        return reject(rejected, index, 'source_mismatch', `sender "${sender}" may publish only its own readings, got one of "${source}"`);
      }
      if (opts.processing) {
        const verdict = opts.processing.process(reading, kind, source, Date.now());
        // A source clock ahead of the gateway's is skew, not a negative hop.
        receiveHop.observe(Math.max(0, -verdict.offsetMs) / 1000);
        if (!verdict.keep) {
          metrics.filtered.inc({ reason: verdict.reason!, kind });
          accepted++;
          return;
        }
      }
      appends.push(
        buffer.append(reading).then(
          () => {
            accepted++;
            metrics.receivedOne(kind);
          },
          (err: unknown) => {
            const reason: RejectReason = err instanceof BufferFullError ? 'buffer_full' : 'store_error';
            countRejection(metrics, reason);
            retry ??= `${REJECT_REASON_CODES[reason]}: ${(err as Error).message}`;
          },
        ),
      );
    });
    await Promise.all(appends);
    const status = retry ? v1.AckStatus.ACK_STATUS_RETRY : v1.AckStatus.ACK_STATUS_ACCEPTED;
    return { request_id: request.request_id, accepted, status, rejected, detail: retry ?? '' };
  }

  function publish(call: grpc.ServerDuplexStream<Buffer, Response>): void {
    const text = (key: string): string | undefined => {
      const v = call.metadata.get(key)[0];
      return typeof v === 'string' ? v : undefined;
    };
    const source = text(SOURCE_METADATA_KEY);
    const refusal = opts.auth.check(source, text(PASSWORD_METADATA_KEY), { transport: 'grpc', peer: call.getPeer() });
    if (refusal) {
      const code = AUTH_REFUSAL_CODES[refusal];
      const metadata = new grpc.Metadata();
      metadata.set(ERROR_CODE_METADATA_KEY, code);
      const status = refusal === 'revoked' ? grpc.status.PERMISSION_DENIED : grpc.status.UNAUTHENTICATED;
      call.emit('error', { code: status, details: `${code}: ${REFUSAL_MESSAGES[refusal]}`, metadata });
      return;
    }
    // Responses leave in request order, whatever order their group commits finish in.
    let previous: Promise<unknown> = Promise.resolve();
    let pending = 0;
    let inputEnded = false;
    const maybeEnd = () => {
      if (inputEnded && pending === 0) call.end();
    };
    call.on('data', (bytes: Buffer) => {
      pending++;
      const response = handle(bytes, source!);
      previous = Promise.all([previous, response]).then(([, r]) => {
        if (!call.cancelled && !call.destroyed) call.write(r);
        pending--;
        maybeEnd();
      });
      previous.catch((err: unknown) => log.error({ err }, 'unexpected error answering a PublishRequest'));
    });
    call.on('end', () => {
      inputEnded = true;
      maybeEnd();
    });
    call.on('error', (err) => log.debug({ err: err.message }, 'gRPC publish stream error'));
  }

  const server = new grpc.Server({ 'grpc.max_receive_message_length': opts.maxMessageBytes });
  server.addService(publishServiceDefinition, { publish });
  const health = new HealthImplementation({ '': 'SERVING', [EDGE_INGEST_SERVICE]: 'SERVING' });
  health.addToServer(server);
  // The compiled descriptors (see reflectionPackage); @grpc/reflection types its argument with its own
  // copy of @grpc/proto-loader, whose PackageDefinition has the same shape.
  new ReflectionService(reflectionPackage() as never, { services: [EDGE_INGEST_SERVICE, 'grpc.health.v1.Health'] }).addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `${opts.host}:${opts.port}`,
      opts.tls
        ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: opts.tls.cert, private_key: opts.tls.key }])
        : grpc.ServerCredentials.createInsecure(),
      (err, p) => (err ? reject(err) : resolve(p)),
    ),
  );
  log.info({ host: opts.host, port, tls: Boolean(opts.tls) }, 'local gRPC ingest listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        health.setStatus('', 'NOT_SERVING');
        health.setStatus(EDGE_INGEST_SERVICE, 'NOT_SERVING');
        const timer = setTimeout(() => server.forceShutdown(), 2_000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
