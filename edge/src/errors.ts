/**
 * The edge agent's own error classes. Codes are the shared ones from @michi/proto (docs/errors.md),
 * except MICHI_ERR_BUFFER_CLOSED, which only a programming error or a shutdown race can raise.
 * `RejectReason` is the closed set of `reason` labels of michi_edge_rejected_total.
 */
import { ErrorCodes, MichiError, type ErrorCode } from '@michi/proto';

export const REJECT_REASONS = [
  /** Not michi/v1/{pilot}/{gateway}/{source}/{kind}. */
  'bad_topic',
  /** Another pilot's or gateway's topic. */
  'wrong_gateway',
  /** A source that is not one of this gateway's vehicles or sensors. */
  'unknown_source',
  /** The MQTT username names another source than the topic. */
  'username_mismatch',
  /** The reading's source_id differs from the topic's source. */
  'source_mismatch',
  'decode',
  'invalid',
  'too_large',
  /** The buffer reached buffer.maxBytes; the reading was not acknowledged. */
  'buffer_full',
  /** The buffer could not write (disk full, I/O error, shutting down); the reading was not acknowledged. */
  'store_error',
] as const;

export type RejectReason = (typeof REJECT_REASONS)[number];

/** The stable code each reason is reported with, beside it, in logs and in the metric. */
export const REJECT_REASON_CODES: Readonly<Record<RejectReason, ErrorCode>> = {
  bad_topic: ErrorCodes.BAD_TOPIC,
  wrong_gateway: ErrorCodes.FORBIDDEN,
  unknown_source: ErrorCodes.UNKNOWN_SOURCE,
  username_mismatch: ErrorCodes.FORBIDDEN,
  source_mismatch: ErrorCodes.FORBIDDEN,
  decode: ErrorCodes.DECODE,
  invalid: ErrorCodes.INVALID_READING,
  too_large: ErrorCodes.TOO_LARGE,
  buffer_full: ErrorCodes.BUFFER_FULL,
  store_error: ErrorCodes.STORAGE,
};

/**
 * Why the local ingest refused a device's connection (MQTT CONNECT, gRPC stream): the closed set of
 * `reason` labels of michi_edge_connections_refused_total.
 */
export const AUTH_REFUSALS = [
  /** No username (gRPC: x-michi-source) or no password (x-michi-password). */
  'no_credentials',
  /** The username is not a vehicle or sensor of this gateway. */
  'unknown_username',
  /** The password is not the one derived from this gateway's device key for that device. */
  'bad_password',
  /** The right password, of a device in local.revokedDevices. */
  'revoked',
] as const;

export type AuthRefusal = (typeof AUTH_REFUSALS)[number];

/** Local MQTT connections the broker itself closes or refuses (local-broker.ts), besides AUTH_REFUSALS. */
export const BROKER_REFUSALS = [
  /** A packet header declared more than local.mqtt.maxPayloadBytes + 1 KiB. */
  'packet_too_large',
  /** More than 4 KiB sent before the login succeeded (a CONNECT is a few hundred bytes). */
  'connect_too_large',
  /** A packet length that is not a valid MQTT varint. */
  'malformed_packet',
  /** local.mqtt.maxConnectionsPerAddress sockets already open from that address. */
  'max_connections_per_address',
  /** A client id that is neither the device id nor `<device id>.<suffix>` (CONNACK 2). */
  'client_id_rejected',
] as const;
export type BrokerRefusal = (typeof BROKER_REFUSALS)[number];

export const AUTH_REFUSAL_CODES: Readonly<Record<AuthRefusal, ErrorCode>> = {
  no_credentials: ErrorCodes.UNAUTHENTICATED,
  unknown_username: ErrorCodes.UNAUTHENTICATED,
  bad_password: ErrorCodes.UNAUTHENTICATED,
  revoked: ErrorCodes.FORBIDDEN,
};

/** A reading the local broker refused; `reason` becomes the metric label. */
export class ReadingRejectedError extends MichiError {
  readonly reason: RejectReason;
  constructor(reason: RejectReason, message: string, context: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(REJECT_REASON_CODES[reason], message, { ...context, reason }, options);
    this.reason = reason;
  }
}

/** The buffer holds buffer.maxBytes of payload: nothing more is accepted until the uplink drains it. */
export class BufferFullError extends MichiError {
  constructor(bytes: number, maxBytes: number, size: number) {
    super(
      ErrorCodes.BUFFER_FULL,
      `the buffer holds ${bytes} of buffer.maxBytes ${maxBytes} bytes; a reading of ${size} bytes does not fit`,
      { bytes, maxBytes, size },
    );
  }
}

/** An append after close(); the agent closes its broker before its buffer, so this means a shutdown race. */
export class BufferClosedError extends Error {
  readonly code = 'MICHI_ERR_BUFFER_CLOSED';
  constructor() {
    super('the buffer is closed');
    this.name = 'BufferClosedError';
  }
}
