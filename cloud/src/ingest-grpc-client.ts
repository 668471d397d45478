/**
 * The wire side of michi.v1.CloudIngestService/Upload, shared by the server (ingest-grpc.ts) and
 * by clients (gateways, tests, benchmarks). It uses the generated protobuf code as custom
 * serializers instead of @grpc/proto-loader's dynamic objects: the server receives each
 * UploadRequest as bytes and decodes it with the same validating codec as the MQTT path.
 */
import * as grpc from '@grpc/grpc-js';
import { ErrorCodes, PayloadError, v1, type michi } from '@michi/proto';

export const UPLOAD_PATH = '/michi.v1.CloudIngestService/Upload';
export const CLOUD_INGEST_SERVICE = 'michi.v1.CloudIngestService';
/** Metadata keys a gateway authenticates with: `authorization: Bearer <secret>`, `x-michi-gateway: <id>`. */
export const GATEWAY_METADATA_KEY = 'x-michi-gateway';
/** Trailing metadata of a call the cloud ended with an error: the MICHI_ERR_* code (docs/errors.md). */
export const ERROR_CODE_METADATA_KEY = 'michi-error-code';

/** An UploadResponse as plain values: status as its enum name, 64-bit integers as numbers. */
export interface UploadAck {
  first_seq: number;
  count: number;
  status: 'ACK_STATUS_UNSPECIFIED' | 'ACK_STATUS_ACCEPTED' | 'ACK_STATUS_RETRY';
  rejected: { index: number; code: string; reason: string }[];
  detail: string;
}

const identity = (b: Buffer): Buffer => b;

/** The server's view: requests stay bytes (decoded by ingest), responses are encoded from the generated type. */
export const uploadServerDefinition: grpc.ServiceDefinition = {
  Upload: {
    path: UPLOAD_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: (r: michi.v1.UploadResponse.$Properties) => Buffer.from(v1.UploadResponse.encode(r).finish()),
    responseDeserialize: (b: Buffer) => v1.UploadResponse.decode(b),
    originalName: 'upload',
  },
};

function ackOf(b: Buffer): UploadAck {
  return v1.UploadResponse.toObject(v1.UploadResponse.decode(b), {
    enums: String,
    longs: Number,
    defaults: true,
    arrays: true,
  }) as UploadAck;
}

/**
 * The client's view: each request is the bytes of an UploadRequest (see uploadRequest()), so a
 * gateway can send a Batch it already encoded without decoding it again; responses are UploadAcks.
 */
export const uploadClientDefinition: grpc.ServiceDefinition = {
  Upload: {
    path: UPLOAD_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: (b: Uint8Array) => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)),
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: ackOf,
    originalName: 'upload',
  },
};

export type UploadStream = grpc.ClientDuplexStream<Uint8Array, UploadAck>;

export interface CloudIngestClient extends grpc.Client {
  upload(metadata: grpc.Metadata, options?: grpc.CallOptions): UploadStream;
}

const Client = grpc.makeGenericClientConstructor(uploadClientDefinition, 'CloudIngestService') as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => CloudIngestClient;

/** A client of the cloud's gRPC ingest at `address` (host:port). */
export function cloudIngestClient(address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions): CloudIngestClient {
  return new Client(address, credentials, options);
}

/** The metadata a gateway authenticates its Upload stream with. */
export function gatewayMetadata(gateway: string, secret: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${secret}`);
  md.set(GATEWAY_METADATA_KEY, gateway);
  return md;
}

/** UploadRequest{batch} around an encoded Batch: field 1, length-delimited, without re-encoding it. */
export function uploadRequest(batch: Uint8Array): Buffer {
  const len: number[] = [];
  let n = batch.byteLength;
  while (n > 0x7f) {
    len.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  len.push(n);
  return Buffer.concat([Buffer.from([0x0a, ...len]), batch]);
}

function readVarint(buf: Uint8Array, pos: { i: number }): number {
  let value = 0;
  let mul = 1;
  for (let k = 0; k < 10; k++) {
    if (pos.i >= buf.length) throw new PayloadError(ErrorCodes.DECODE, 'not a valid protobuf UploadRequest: truncated varint');
    const b = buf[pos.i++]!;
    value += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return value;
    mul *= 128;
  }
  throw new PayloadError(ErrorCodes.DECODE, 'not a valid protobuf UploadRequest: varint longer than 10 bytes');
}

/**
 * The Batch bytes inside an UploadRequest. Unknown fields are skipped; several `batch` fields are
 * concatenated, which is protobuf's merge of embedded messages. Throws PayloadError(DECODE) on
 * malformed wire data.
 */
export function batchBytesOf(request: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  const pos = { i: 0 };
  while (pos.i < request.length) {
    const tag = readVarint(request, pos);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw new PayloadError(ErrorCodes.DECODE, 'not a valid protobuf UploadRequest: field number 0');
    let skip: number;
    if (wire === 0) {
      readVarint(request, pos);
      continue;
    } else if (wire === 1) skip = 8;
    else if (wire === 5) skip = 4;
    else if (wire === 2) skip = readVarint(request, pos);
    else throw new PayloadError(ErrorCodes.DECODE, `not a valid protobuf UploadRequest: wire type ${wire}`);
    if (pos.i + skip > request.length) throw new PayloadError(ErrorCodes.DECODE, 'not a valid protobuf UploadRequest: truncated field');
    if (field === 1 && wire === 2) parts.push(request.subarray(pos.i, pos.i + skip));
    pos.i += skip;
  }
  if (parts.length === 1) return parts[0]!;
  return Buffer.concat(parts);
}
