/**
 * Errors shared by every michi process. Each carries a stable `code` that docs/errors.md lists,
 * so operators can grep logs and metrics for it, and a context object for the log line.
 */

export const ErrorCodes = {
  /** A payload is not valid protobuf or JSON for the expected message. */
  DECODE: 'MICHI_ERR_DECODE',
  /** A reading decoded but a value is out of range or missing. */
  INVALID_READING: 'MICHI_ERR_INVALID_READING',
  /** A payload is larger than the configured limit. */
  TOO_LARGE: 'MICHI_ERR_TOO_LARGE',
  /** An MQTT topic does not follow michi/v1/{pilot}/{gateway}/... */
  BAD_TOPIC: 'MICHI_ERR_BAD_TOPIC',
  /** A configuration file or environment variable is invalid. */
  CONFIG: 'MICHI_ERR_CONFIG',
  /** A pilot definition in seeds/ breaks its schema. */
  SEED_INVALID: 'MICHI_ERR_SEED_INVALID',
  /** A pilot, gateway or source that the receiver does not know. */
  UNKNOWN_SOURCE: 'MICHI_ERR_UNKNOWN_SOURCE',
  /** A gateway sent a reading of a vehicle or sensor that the seed assigns to another gateway (and does not list it as a relay). */
  SOURCE_NOT_OWNED: 'MICHI_ERR_SOURCE_NOT_OWNED',
  /** A reading names a signal, count or measure that its pilot's seed does not declare in fieldNames. */
  UNDECLARED_FIELD: 'MICHI_ERR_UNDECLARED_FIELD',
  /** The sender is not allowed to do this (credentials, topic ACL, role). */
  FORBIDDEN: 'MICHI_ERR_FORBIDDEN',
  /** The source timestamp is outside the accepted window around now. */
  CLOCK_SKEW: 'MICHI_ERR_CLOCK_SKEW',
  /** InfluxDB refused or did not answer a write. */
  STORAGE: 'MICHI_ERR_STORAGE',
  /** The on-disk buffer is full and the reading was dropped by policy. */
  BUFFER_FULL: 'MICHI_ERR_BUFFER_FULL',
  /** A sender exceeded its rate or connection limit. */
  RATE_LIMITED: 'MICHI_ERR_RATE_LIMITED',
  /** A request took longer than its configured deadline and was abandoned (HTTP 504). */
  TIMEOUT: 'MICHI_ERR_TIMEOUT',
  /** No such route, file or resource. */
  NOT_FOUND: 'MICHI_ERR_NOT_FOUND',
  /** An operator tried to acknowledge or clear an alarm that is already cleared (HTTP 409). */
  ALARM_CLEARED: 'MICHI_ERR_ALARM_CLEARED',
  /** A request is malformed: a bad query parameter, JSON body or content type. */
  BAD_REQUEST: 'MICHI_ERR_BAD_REQUEST',
  /** A fault of the service itself; the details are in its log. */
  INTERNAL: 'MICHI_ERR_INTERNAL',
  /** A request without credentials, or with credentials that match nothing (HTTP 401). */
  UNAUTHENTICATED: 'MICHI_ERR_UNAUTHENTICATED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class MichiError extends Error {
  readonly code: ErrorCode;
  readonly context: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, context: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.context = context;
  }
}

/** A payload could not be turned into a valid message; `path` names the offending field. */
export class PayloadError extends MichiError {
  readonly path: string;
  constructor(code: ErrorCode, message: string, path = '', context: Record<string, unknown> = {}) {
    super(code, path ? `${path}: ${message}` : message, { ...context, path });
    this.path = path;
  }
}

export class ConfigError extends MichiError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super(ErrorCodes.CONFIG, message, context);
  }
}

export function isMichiError(err: unknown): err is MichiError {
  return err instanceof MichiError;
}
