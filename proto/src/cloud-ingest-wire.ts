/**
 * The wire side of michi.v1.CloudIngestService/Upload, shared by the cloud's server and the
 * gateways' clients: the method's path, the metadata a gateway authenticates with, the UploadRequest
 * framing, and the method definitions grpc-js takes (`Server.addService`,
 * `makeGenericClientConstructor`). They are plain objects, so this module does not load
 * @grpc/grpc-js: an edge agent that forwards over MQTT never pays for it.
 *
 * The definitions use the generated protobuf code as custom serializers instead of
 * @grpc/proto-loader's dynamic objects: the server receives each UploadRequest as bytes and decodes
 * it with the same validating codec as the MQTT path, and a client sends a Batch it already encoded.
 */
import { michi } from './michi-pb.js';
import { bytesField, readBytesFields } from './wire-framing.js';
import { asBuffer, bidiMethod, identity, type BidiMethod } from './grpc-bidi-method.js';

const v1 = michi.v1;

/** UploadRequest.batch (ingest.proto). */
const UPLOAD_REQUEST_BATCH_FIELD = 1;

export const CLOUD_INGEST_SERVICE = 'michi.v1.CloudIngestService';
export const UPLOAD_PATH = `/${CLOUD_INGEST_SERVICE}/Upload`;
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

export type UploadServiceDefinition<Req, Res, OutReq = Req, OutRes = Res> = { readonly Upload: BidiMethod<Req, Res, OutReq, OutRes> };

/** The server's view: requests stay bytes (decoded by the ingest), responses are encoded from the generated type. */
export const uploadServerDefinition: UploadServiceDefinition<Buffer, michi.v1.UploadResponse.$Properties, Buffer, michi.v1.UploadResponse> =
  {
    Upload: bidiMethod(UPLOAD_PATH, 'upload', {
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: (r) => Buffer.from(v1.UploadResponse.encode(r).finish()),
      responseDeserialize: (b) => v1.UploadResponse.decode(b),
    }),
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
export const uploadClientDefinition: UploadServiceDefinition<Uint8Array, Buffer, Buffer, UploadAck> = {
  Upload: bidiMethod(UPLOAD_PATH, 'upload', {
    requestSerialize: asBuffer,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: ackOf,
  }),
};

/** The metadata entries a gateway authenticates its Upload stream with (the secret is never logged). */
export function gatewayMetadataEntries(gateway: string, secret: string): [string, string][] {
  return [
    ['authorization', `Bearer ${secret}`],
    [GATEWAY_METADATA_KEY, gateway],
  ];
}

/** UploadRequest{batch} around an encoded Batch: field 1, length-delimited, without re-encoding it. */
export function uploadRequest(batch: Uint8Array): Buffer {
  return asBuffer(bytesField(UPLOAD_REQUEST_BATCH_FIELD, batch));
}

/**
 * The Batch bytes inside an UploadRequest, without decoding the Batch. Unknown fields are skipped;
 * several `batch` fields are concatenated, which is protobuf's merge of embedded messages. Throws
 * PayloadError(MICHI_ERR_DECODE) on malformed wire data.
 */
export function batchBytesOf(request: Uint8Array): Uint8Array {
  const parts = readBytesFields(request, UPLOAD_REQUEST_BATCH_FIELD, 'UploadRequest');
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}
