// gRPC gateway clients for the cloud's tests: an Upload stream whose send() resolves with the
// UploadResponse to that request (responses come in request order), and the call's final status.
import * as grpc from '@grpc/grpc-js';
import {
  ERROR_CODE_METADATA_KEY,
  cloudIngestClient,
  gatewayMetadata,
  uploadRequest,
  type CloudIngestClient,
  type UploadAck,
} from '../src/ingest-grpc-client.js';

export interface UploadSession {
  /** Sends raw UploadRequest bytes; resolves with its response, rejects when the call ends first. */
  sendRaw(request: Uint8Array): Promise<UploadAck>;
  /** Sends an encoded Batch wrapped in an UploadRequest. */
  send(batch: Uint8Array): Promise<UploadAck>;
  /** The call's final status (OK after end(), or the error the cloud ended it with). */
  readonly status: Promise<grpc.StatusObject & { michiCode: string | undefined }>;
  end(): void;
  cancel(): void;
}

/** The test server certificate names 127.0.0.1 and localhost; TLS SNI may not carry an IP address (RFC 6066). */
export const TLS_CHANNEL_OPTIONS = { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' };

export function grpcClient(port: number, ca?: Buffer, client?: { cert: Buffer; key: Buffer }): CloudIngestClient {
  const creds = ca ? grpc.credentials.createSsl(ca, client?.key ?? null, client?.cert ?? null) : grpc.credentials.createInsecure();
  return cloudIngestClient(`127.0.0.1:${port}`, creds, ca ? TLS_CHANNEL_OPTIONS : {});
}

export function openUpload(client: CloudIngestClient, metadata: grpc.Metadata | { gateway: string; secret: string }): UploadSession {
  const md = metadata instanceof grpc.Metadata ? metadata : gatewayMetadata(metadata.gateway, metadata.secret);
  const call = client.upload(md);
  const waiting: { resolve: (a: UploadAck) => void; reject: (e: Error) => void }[] = [];
  call.on('data', (ack: UploadAck) => waiting.shift()?.resolve(ack));
  const status = new Promise<grpc.StatusObject & { michiCode: string | undefined }>((resolve) => {
    call.on('status', (s: grpc.StatusObject) => {
      const code = s.metadata?.get(ERROR_CODE_METADATA_KEY)[0];
      for (const w of waiting.splice(0)) w.reject(new Error(`call ended: ${s.code} ${s.details}`));
      resolve({ ...s, michiCode: typeof code === 'string' ? code : undefined });
    });
  });
  call.on('error', () => undefined); // the status carries it
  const sendRaw = (request: Uint8Array): Promise<UploadAck> =>
    new Promise((resolve, reject) => {
      waiting.push({ resolve, reject });
      call.write(request);
    });
  return {
    sendRaw,
    send: (batch) => sendRaw(uploadRequest(batch)),
    status,
    end: () => call.end(),
    cancel: () => call.cancel(),
  };
}

/** One batch on a connection and Upload stream of its own, as `login`: its ack, the stream ended and the connection closed. */
export async function uploadOnce(port: number, login: { gateway: string; secret: string }, batch: Uint8Array): Promise<UploadAck> {
  const client = grpcClient(port);
  const up = openUpload(client, login);
  try {
    return await up.send(batch);
  } finally {
    up.end();
    client.close();
  }
}
