/**
 * The shape of a grpc-js MethodDefinition for a bidirectional stream, and the byte helpers its
 * serializers share, so that the ingest wire modules (cloud-ingest-wire.ts, edge-ingest-wire.ts)
 * hand grpc-js plain objects without this package importing grpc-js.
 */

/** What one side serializes (Req, Res) and what the other side deserializes it into (OutReq, OutRes). */
export interface BidiMethod<Req, Res, OutReq, OutRes> {
  path: string;
  requestStream: true;
  responseStream: true;
  requestSerialize: (value: Req) => Buffer;
  requestDeserialize: (bytes: Buffer) => OutReq;
  responseSerialize: (value: Res) => Buffer;
  responseDeserialize: (bytes: Buffer) => OutRes;
  originalName: string;
}

/** The method at `path` (`originalName` is its camel-cased name) with these serializers, streaming both ways. */
export function bidiMethod<Req, Res, OutReq, OutRes>(
  path: string,
  originalName: string,
  serializers: Omit<BidiMethod<Req, Res, OutReq, OutRes>, 'path' | 'requestStream' | 'responseStream' | 'originalName'>,
): BidiMethod<Req, Res, OutReq, OutRes> {
  return { path, requestStream: true, responseStream: true, ...serializers, originalName };
}

/** Bytes passed through unchanged: the side that decodes them does so itself. */
export const identity = (b: Buffer): Buffer => b;

/** A Buffer over the same memory, since grpc-js wants Buffers and protobufjs may return plain Uint8Arrays. */
export const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
