/**
 * Memory limits for an aedes broker (edge and cloud alike), applied before aedes sees a byte.
 *
 * aedes has no maximum packet size: mqtt-packet buffers a whole packet, whatever length its header
 * declares, and aedes queues the packets a client sends before its CONNECT is handled. So a client
 * that never logged in could make the broker hold hundreds of MiB (docs/security.md). This guard
 * reads the MQTT fixed header of every packet as the bytes arrive (type byte, then the "remaining
 * length" varint, MQTT 3.1.1 §2.2.3) and reports a packet over the limit before its body is
 * buffered, so the connection can be closed at once. Until the client is authenticated the limit is
 * a small one on the whole stream (a CONNECT is a few hundred bytes); afterwards it is the normal
 * maximum packet size.
 */

/** Stream bytes a client may send before its login succeeded: a CONNECT with credentials and a will. */
export const MQTT_PRE_AUTH_MAX_BYTES = 4 * 1024;
/** A socket that has not completed its CONNECT after this long is closed (aedes `connectTimeout`). */
export const MQTT_CONNECT_TIMEOUT_MS = 5_000;

/** Why the guard stopped a stream. */
export type PacketGuardViolation = 'packet_too_large' | 'connect_too_large' | 'malformed_packet';

export interface PacketSizeGuardOptions {
  /** Stream bytes accepted before markAuthenticated(); unlimited (only maxBytes) when absent. */
  preAuthBytes?: number;
}

export class PacketSizeGuard {
  private readonly maxBytes: number;
  private readonly preAuthBytes: number;
  private authenticated: boolean;
  /** 0: expecting a type byte; 1: reading the length varint; 2: skipping a body. */
  private state: 0 | 1 | 2 = 0;
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private remaining = 0;
  /** Stream bytes seen so far (counted until authenticated only). */
  private offset = 0;
  private why: PacketGuardViolation | undefined;

  /** `maxBytes`: the largest "remaining length" (variable header + payload) accepted. */
  constructor(maxBytes: number, opts: PacketSizeGuardOptions = {}) {
    this.maxBytes = maxBytes;
    this.preAuthBytes = opts.preAuthBytes ?? Infinity;
    this.authenticated = opts.preAuthBytes === undefined;
  }

  /** The login succeeded: from now on only maxBytes applies. */
  markAuthenticated(): void {
    this.authenticated = true;
  }

  /** Why the last non-zero feed() stopped the stream. */
  get violation(): PacketGuardViolation | undefined {
    return this.why;
  }

  /** The limit that was exceeded, for the log line. */
  get limit(): number {
    return this.why === 'connect_too_large' ? this.preAuthBytes : this.maxBytes;
  }

  /**
   * Feeds the next bytes of the stream; returns the declared length of the first packet over the
   * limit, -1 for a malformed length (more than 4 bytes), or 0 when everything so far is fine.
   */
  feed(chunk: Uint8Array): number {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.state === 2) {
        const skip = Math.min(this.remaining, n - i);
        this.remaining -= skip;
        i += skip;
        if (this.remaining === 0) this.state = 0;
        continue;
      }
      if (this.state === 0) {
        this.state = 1;
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        i++;
        continue;
      }
      const b = chunk[i++]!;
      this.length += (b & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes++;
      if (b & 0x80) {
        if (this.lengthBytes >= 4) {
          this.why = 'malformed_packet';
          return -1;
        }
        continue;
      }
      if (!this.authenticated) {
        // Where this packet would end in the stream: nothing past preAuthBytes is buffered.
        const end = this.offset + i + this.length;
        if (end > this.preAuthBytes) {
          this.why = 'connect_too_large';
          return Math.max(this.length, 1);
        }
      }
      if (this.length > this.maxBytes) {
        this.why = 'packet_too_large';
        return this.length;
      }
      this.remaining = this.length;
      this.state = this.remaining === 0 ? 0 : 2;
    }
    if (!this.authenticated) this.offset += n;
    return 0;
  }
}

/** The part of aedes' Client this module needs (lib/client.js keeps its mqtt-packet parser in `_parser`). */
interface ParsingClient {
  _parser?: { parse(buf: Buffer): number };
}

/**
 * Puts `guard` in front of an aedes client's parser: each chunk is checked before mqtt-packet sees
 * it, and on a violation `onViolation` runs (it should destroy the socket) and the chunk is dropped.
 */
export function guardAedesParser(client: object, guard: PacketSizeGuard, onViolation: (declared: number) => void): void {
  const parser = (client as ParsingClient)._parser;
  if (!parser || typeof parser.parse !== 'function') {
    throw new Error('aedes client has no _parser.parse: the MQTT packet guard needs updating');
  }
  const parse = parser.parse.bind(parser);
  let stopped = false;
  parser.parse = (buf: Buffer): number => {
    if (stopped) return 0;
    const declared = guard.feed(buf);
    if (declared === 0) return parse(buf);
    stopped = true;
    onViolation(declared);
    return 0;
  };
}

/** Live connections per remote address, refusing beyond a cap (a crude but cheap flood limit). */
export class AddressLimiter {
  private readonly counts = new Map<string, number>();

  constructor(private readonly maxPerAddress: number) {}

  /** Counts one more connection from `address`; false (not counted) when it already has the cap. */
  open(address: string | undefined): boolean {
    const key = address ?? '-';
    const n = this.counts.get(key) ?? 0;
    if (n >= this.maxPerAddress) return false;
    this.counts.set(key, n + 1);
    return true;
  }

  /** Call once for each open() that returned true, when that connection closes. */
  close(address: string | undefined): void {
    const key = address ?? '-';
    const n = this.counts.get(key) ?? 0;
    if (n <= 1) this.counts.delete(key);
    else this.counts.set(key, n - 1);
  }

  count(address: string | undefined): number {
    return this.counts.get(address ?? '-') ?? 0;
  }
}

/**
 * Whether an MQTT client id belongs to `owner` (an edge's `edge-<gatewayId>`, a device's id):
 * `owner` itself or `owner.<suffix>`, so that one identity may hold several connections with
 * distinct ids but can never take over another identity's session (a broker disconnects the older
 * connection of a client id, MQTT 3.1.1 §3.1.4). Ids never contain "." (isValidSegment).
 */
export function clientIdBelongsTo(clientId: string, owner: string): boolean {
  if (clientId === owner) return true;
  if (!clientId.startsWith(`${owner}.`)) return false;
  return /^[A-Za-z0-9_.-]{1,64}$/.test(clientId.slice(owner.length + 1));
}

/** CONNACK return code 2, "identifier rejected" (MQTT 3.1.1 §3.2.2.3). */
export const CONNACK_IDENTIFIER_REJECTED = 2;
