/**
 * The grpc-js side of michi.v1.CloudIngestService/Upload for the server (ingest-grpc.ts) and for
 * clients in this package's tests and benchmarks: the wire contract itself (path, metadata keys,
 * method definitions, UploadRequest framing) lives in @michi/proto, which gateways share.
 */
import * as grpc from '@grpc/grpc-js';
import {
  ErrorCodes,
  gatewayMetadataEntries,
  PayloadError,
  uploadClientDefinition,
  uploadServerDefinition as serverDefinition,
  type UploadAck,
} from '@michi/proto';

export {
  UPLOAD_PATH,
  CLOUD_INGEST_SERVICE,
  GATEWAY_METADATA_KEY,
  ERROR_CODE_METADATA_KEY,
  uploadClientDefinition,
  uploadRequest,
  type UploadAck,
} from '@michi/proto';

/** The server's view: requests stay bytes (decoded by ingest), responses are encoded from the generated type. */
export const uploadServerDefinition: grpc.ServiceDefinition = serverDefinition;

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
  for (const [key, value] of gatewayMetadataEntries(gateway, secret)) md.set(key, value);
  return md;
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
