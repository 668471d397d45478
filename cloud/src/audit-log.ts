/**
 * The audit log: one JSON line per API request or live-feed connection, saying who (token id and
 * role) read what (route, pilot, query) and how it ended (status). It is its own pino logger, at
 * level info whatever the service's log level, written to the service's log stream (tagged
 * `audit: true`) and, when `auth.auditFile` is set, appended to that file too. Secrets never reach
 * it: tokens are named by id, and URLs are redacted after their query is decoded (redactUrl).
 */
import { pino, type Logger } from 'pino';

export interface AuditEntry {
  /** Token id; null when the request had no valid token. */
  token: string | null;
  role: string | null;
  method: string;
  /** The route pattern, e.g. /api/v1/pilots/:pilot/tracks. */
  route: string;
  /** The URL as requested, with secrets redacted (redactUrl). */
  url: string;
  pilot: string | null;
  status: number;
  reqId: string;
  ms: number;
  /** What a request that changes something asked to do, e.g. "alarm.acknowledge" (written whatever its status). */
  action?: string;
  /** The alarm an alarm action was about. */
  alarm?: string;
  /** The operator's comment on that action. */
  comment?: string;
  /** The vehicle an incident bundle was asked for. */
  vehicle?: string;
  /** The window of that bundle, ISO 8601 `from/to` (source time). */
  window?: string;
  /** The operating-system user who ran a command (michi-cloud incident-bundle), which has no token. */
  user?: string;
}

/** The part of an audit entry a route that changes something adds (FastifyContextConfig.auditAction). */
export type AuditAction = Pick<AuditEntry, 'action' | 'alarm' | 'comment' | 'vehicle' | 'window'>;

/** Query parameter names, once decoded and lower-cased, whose value is a secret. */
const SECRET_PARAMS = new Set(['token', 'access_token']);

/** Decodes a query component as URLSearchParams does ("+" is a space); null when it is not valid UTF-8 %-encoding. */
function decodeComponent(s: string): string | null {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/**
 * A URL fit for a log: the value of every query parameter whose decoded name is `token` or
 * `access_token` (in any case or %-encoding: `?%74oken=` is `token` to the server's parser, so it
 * is to this one), and every value that `isSecret` says is a secret (e.g. equals the token the
 * request presented), is written `[redacted]`. A parameter whose name or value cannot be decoded
 * is redacted too: what it says cannot be known; a secret sent as a name hides the whole parameter. The fragment is dropped (browsers never send one).
 */
export function redactUrl(url: string, isSecret: (value: string) => boolean = () => false): string {
  const hash = url.indexOf('#');
  const withoutHash = hash < 0 ? url : url.slice(0, hash);
  const q = withoutHash.indexOf('?');
  if (q < 0) return withoutHash;
  const params = withoutHash
    .slice(q + 1)
    .split('&')
    .map((param) => {
      const eq = param.indexOf('=');
      const rawName = eq < 0 ? param : param.slice(0, eq);
      const rawValue = eq < 0 ? '' : param.slice(eq + 1);
      const name = decodeComponent(rawName);
      const value = decodeComponent(rawValue);
      // A secret sent as a name (`?<token>`) hides the name too.
      if (name === null || (name !== '' && isSecret(name))) return '[redacted]';
      const secret = value === null || SECRET_PARAMS.has(name.trim().toLowerCase()) || (value !== '' && isSecret(value));
      return secret ? `${rawName}=[redacted]` : param;
    });
  return `${withoutHash.slice(0, q)}?${params.join('&')}`;
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
