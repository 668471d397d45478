/**
 * TLS for the ingest endpoints: the PEM loader is proto's (shared with the edge's local ingest);
 * here, the gateway a client certificate names (its subject CN).
 */
import type { TLSSocket } from 'node:tls';

export { loadTls, type TlsFiles, type TlsMaterial } from '@michi/proto';

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
