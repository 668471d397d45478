/**
 * The gateway a client certificate names (its subject CN), for the ingest endpoints. The PEM
 * loader is proto's loadTls, shared with the edge's local ingest.
 */
import type { TLSSocket } from 'node:tls';

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
