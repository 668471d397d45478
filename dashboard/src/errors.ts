// Errors the dashboard shows or recovers from. The dashboard defines no MICHI_ERR codes of its
// own: it carries the cloud's code (from the JSON error body) when there is one.

/** An /api/v1 request that failed: the network, an HTTP status, or a body that is not JSON. */
export class ApiError extends Error {
  /** HTTP status, or 0 when no response arrived (network down, request aborted). */
  readonly status: number;
  /** The cloud's stable error code (e.g. MICHI_ERR_UNKNOWN_SOURCE), when its body had one. */
  readonly code: string | undefined;
  readonly path: string;
  /** What went wrong, without the path: for a person (the banner). */
  readonly detail: string;

  constructor(path: string, status: number, message: string, code?: string, options?: ErrorOptions) {
    super(`${path}: ${message}`, options);
    this.name = 'ApiError';
    this.path = path;
    this.detail = message;
    this.status = status;
    this.code = code;
  }
}

export function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === 'AbortError';
}
