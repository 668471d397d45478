/**
 * The grpc-js side of michi.v1.CloudIngestService/Upload for the server (ingest-grpc.ts) and for
 * clients in this package's tests and benchmarks: the wire contract itself (path, metadata keys,
 * method definitions, UploadRequest framing) lives in @michi/proto, which gateways share.
 */
import * as grpc from '@grpc/grpc-js';
import { gatewayMetadataEntries, uploadClientDefinition, uploadServerDefinition as serverDefinition, type UploadAck } from '@michi/proto';

export {
  UPLOAD_PATH,
  CLOUD_INGEST_SERVICE,
  GATEWAY_METADATA_KEY,
  ERROR_CODE_METADATA_KEY,
  uploadClientDefinition,
  uploadRequest,
  batchBytesOf,
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
