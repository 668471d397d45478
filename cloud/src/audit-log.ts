/**
 * The audit log: one JSON line per API request or live-feed connection, saying who (token id and
 * role) read what (route, pilot, query) and how it ended (status). It is its own pino logger, at
 * level info whatever the service's log level, written to the service's log stream (tagged
 * `audit: true`) and, when `auth.auditFile` is set, appended to that file too. Secrets never reach
 * it: tokens are named by id and `token=` is removed from URLs.
 */
import { pino, type Logger } from 'pino';

export interface AuditEntry {
  /** Token id; null when the request had no valid token. */
  token: string | null;
  role: string | null;
  method: string;
  /** The route pattern, e.g. /api/v1/pilots/:pilot/tracks. */
  route: string;
  /** The URL as requested, without any `token=` parameter. */
  url: string;
  pilot: string | null;
  status: number;
  reqId: string;
  ms: number;
}

/** Removes a `token=` query parameter's value from a URL, so it cannot reach a log. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]token=)[^&#]*/gi, '$1[redacted]');
}

export class AuditLog {
  private readonly loggers: Logger[];
  private readonly file: ReturnType<typeof pino.destination> | undefined;

  constructor(opts: { logger?: Logger | undefined; file?: string | undefined }) {
    this.loggers = [];
    // At level info: the audit trail must not disappear when the service logs only warnings. A
    // silent logger (tests, or a service whose log is the audit file) stays silent.
    if (opts.logger) this.loggers.push(opts.logger.child({ audit: true }, { level: opts.logger.level === 'silent' ? 'silent' : 'info' }));
    if (opts.file) {
      this.file = pino.destination({ dest: opts.file, mkdir: true, sync: false });
      this.loggers.push(pino({ level: 'info', base: { service: 'michi-cloud', audit: true } }, this.file));
    }
  }

  record(entry: AuditEntry): void {
    for (const l of this.loggers) l.info(entry, 'api access');
  }

  close(): void {
    if (this.file) {
      try {
        this.file.flushSync();
      } catch {
        // not yet opened (no line written): nothing to flush
      }
      this.file.end();
    }
  }
}
