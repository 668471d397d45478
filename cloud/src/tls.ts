/**
 * TLS material for the ingest endpoints: PEM files named in the configuration, read once at
 * start-up (a missing or unreadable file stops start-up with its path), and the gateway a client
 * certificate names (its subject CN).
 */
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { ConfigError } from '@michi/proto';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  caFile?: string | undefined;
}

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer | undefined;
}

function read(file: string, what: string, setting: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`${setting}: cannot read the ${what} ${file}: ${(err as Error).message}`, { file });
  }
}

/** Reads the PEM files; `setting` names the configuration path in errors (e.g. "mqtt.tls"). */
export function loadTls(files: TlsFiles, setting: string): TlsMaterial {
  return {
    cert: read(files.certFile, 'certificate', `${setting}.certFile`),
    key: read(files.keyFile, 'private key', `${setting}.keyFile`),
    ca: files.caFile === undefined ? undefined : read(files.caFile, 'CA certificate', `${setting}.caFile`),
  };
}

/**
 * The subject CN of a client certificate that chains to the configured CA (the TLS layer checked
 * the chain: `authorized`), or undefined when the client sent none or an untrusted one.
 */
export function verifiedPeerName(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  const cn = cert?.subject?.CN;
  return typeof cn === 'string' && cn !== '' ? cn : undefined;
}
