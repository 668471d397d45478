/**
 * TLS material of a listener (the cloud's ingest endpoints, the edge's local ingest): PEM files
 * named in the configuration, read once at start-up; a missing or unreadable file stops start-up
 * with its path and the setting that named it.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';

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
