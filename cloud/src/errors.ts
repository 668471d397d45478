/**
 * The cloud's own error classes. Codes are the shared ones from @michi/proto (docs/errors.md);
 * these classes only add what the cloud's boundaries need to decide: whether InfluxDB's refusal is
 * worth a resend, and which HTTP status an API error maps to.
 */
import { ErrorCodes, MichiError, type ErrorCode } from '@michi/proto';

/** Why a write failed, as the `reason` label of the metrics counting it. */
export type StorageFailure =
  | 'overloaded' // too many lines pending: refused before any request
  | 'closed' // the writer is shutting down
  | 'unreachable' // no answer: refused, reset or timed out
  | 'invalid' // 400: InfluxDB will never take (some of) these lines
  | 'refused' // other 4xx: authentication, database missing
  | 'server_error'; // 5xx

export interface StorageErrorDetails {
  reason: StorageFailure;
  /** InfluxDB's HTTP status; 0 when it did not answer (refused, reset, timed out). */
  status: number;
  /** InfluxDB's error text (its JSON `error`), or the network error's message. */
  body: string;
  /** Lines in the request that failed. */
  lines: number;
}

/**
 * InfluxDB refused or did not answer a write. `permanent` means sending the same lines again
 * cannot succeed (400: a line InfluxDB will never take, e.g. a field type conflict); everything else
 * (5xx, 401/403/404, timeouts, a full queue) may succeed later. `partial` means InfluxDB stored some of the lines
 * ("partial write: ... dropped=N").
 */
export class StorageError extends MichiError {
  readonly reason: StorageFailure;
  readonly status: number;
  readonly body: string;
  readonly permanent: boolean;
  readonly partial: boolean;
  readonly dropped: number | undefined;

  constructor(message: string, details: StorageErrorDetails, options?: ErrorOptions) {
    super(
      ErrorCodes.STORAGE,
      message,
      { reason: details.reason, status: details.status, body: details.body, lines: details.lines },
      options,
    );
    this.reason = details.reason;
    this.status = details.status;
    this.body = details.body;
    this.permanent = details.reason === 'invalid';
    this.partial = /partial write/.test(details.body);
    const dropped = /dropped=(\d+)/.exec(details.body);
    this.dropped = dropped ? Number(dropped[1]) : undefined;
  }
}

/** An error the HTTP API answers with `{error: {code, message}}` and this status. */
export class ApiError extends Error {
  readonly statusCode: number;
  readonly code: ErrorCode | (typeof HttpErrorCodes)[keyof typeof HttpErrorCodes];
  /** Sent as Retry-After (seconds): when a refused caller may try again (429). */
  readonly retryAfterS: number | undefined;
  constructor(statusCode: number, code: ApiError['code'], message: string, options: { retryAfterS?: number } = {}) {
    super(message);
    this.name = 'ApiError';
    this.statusCode = statusCode;
    this.code = code;
    this.retryAfterS = options.retryAfterS;
  }
}

/** The HTTP API's own codes; they live in @michi/proto's ErrorCodes and docs/errors.md. */
export const HttpErrorCodes = {
  NOT_FOUND: ErrorCodes.NOT_FOUND,
  BAD_REQUEST: ErrorCodes.BAD_REQUEST,
  INTERNAL: ErrorCodes.INTERNAL,
  UNAUTHENTICATED: ErrorCodes.UNAUTHENTICATED,
} as const;
