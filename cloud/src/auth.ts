/**
 * Who is asking: API bearer tokens resolved once at start-up from the environment variables the
 * configuration names, kept only as SHA-256 digests and compared in constant time. A token is an
 * operator or a viewer of a list of pilots (or of all of them, "*"). Secrets are never logged: the
 * audit log and GET /me name a token by its id.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '@michi/proto';
import type { AuthSettings, Role } from './auth-config.js';
import type { SecretResolver } from './config.js';

/** An authenticated caller. `pilots` is "*" for every pilot. */
export interface Principal {
  readonly id: string;
  readonly role: Role;
  readonly pilots: '*' | readonly string[];
}

/** What an unauthenticated request is when `auth.allowAnonymousViewer` is set. */
export const ANONYMOUS_VIEWER: Principal = Object.freeze({ id: 'anonymous', role: 'viewer', pilots: '*' });

/**
 * Secrets go into a WebSocket subprotocol (`bearer.<token>`) and a URL (`?token=`), so they must be
 * RFC 7230 token characters that need no escaping; 16 characters is the floor for a random secret.
 */
const SECRET_FORMAT = /^[A-Za-z0-9._~-]{16,512}$/;

function digest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

export class TokenAuthenticator {
  readonly allowAnonymousViewer: boolean;
  private readonly entries: { digest: Buffer; principal: Principal }[] = [];

  /**
   * Throws ConfigError (the process exits 2) when no token is configured and anonymous viewers are
   * not allowed, when a token's variable is unset or malformed, when two tokens share a secret, or
   * when a token names a pilot that is not in the seeds.
   */
  constructor(settings: AuthSettings, resolveSecret: SecretResolver, pilotIds: readonly string[]) {
    this.allowAnonymousViewer = settings.allowAnonymousViewer;
    if (settings.tokens.length === 0 && !settings.allowAnonymousViewer) {
      throw new ConfigError(
        'auth.tokens is empty: the API would refuse every request. Configure at least one token ' +
          '(auth.tokens: [{id, role, pilots, tokenEnv}], see docs/api.md), or set auth.allowAnonymousViewer: true for a public read-only view',
        { path: 'auth.tokens' },
      );
    }
    const known = new Set(pilotIds);
    settings.tokens.forEach((t, i) => {
      const unknown = t.pilots.filter((p) => p !== '*' && !known.has(p));
      if (unknown.length > 0) {
        throw new ConfigError(
          `auth.tokens[${i}].pilots: no pilot ${unknown.map((p) => `"${p}"`).join(', ')} in the seeds; known pilots: ${pilotIds.join(', ') || '(none)'}`,
          { path: `auth.tokens[${i}].pilots`, token: t.id },
        );
      }
      const secret = resolveSecret(`env:${t.tokenEnv}`);
      if (secret === undefined) {
        throw new ConfigError(`auth.tokens[${i}] ("${t.id}"): the environment variable ${t.tokenEnv} is not set`, {
          path: `auth.tokens[${i}].tokenEnv`,
          variable: t.tokenEnv,
        });
      }
      if (!SECRET_FORMAT.test(secret)) {
        throw new ConfigError(
          `auth.tokens[${i}] ("${t.id}"): ${t.tokenEnv} must hold 16 to 512 characters of A-Z a-z 0-9 . _ ~ - (e.g. \`openssl rand -base64 24 | tr '+/' '-_' | tr -d =\`)`,
          { path: `auth.tokens[${i}].tokenEnv`, variable: t.tokenEnv },
        );
      }
      const d = digest(secret);
      if (this.entries.some((e) => timingSafeEqual(e.digest, d))) {
        throw new ConfigError(`auth.tokens[${i}] ("${t.id}"): ${t.tokenEnv} holds the same secret as another token`, {
          path: `auth.tokens[${i}].tokenEnv`,
        });
      }
      const pilots = t.pilots.includes('*') ? '*' : Object.freeze([...t.pilots]);
      this.entries.push({ digest: d, principal: Object.freeze({ id: t.id, role: t.role, pilots }) });
    });
  }

  /** The principal of a bearer secret, or undefined. Every configured digest is compared, found or not. */
  authenticate(secret: string): Principal | undefined {
    const d = digest(secret);
    let found: Principal | undefined;
    for (const e of this.entries) if (timingSafeEqual(e.digest, d)) found = e.principal;
    return found;
  }
}

/** The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1), or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer +([^\s]+) *$/i.exec(header);
  return m?.[1];
}

export function canReadPilot(principal: Principal, pilot: string): boolean {
  return principal.pilots === '*' || principal.pilots.includes(pilot);
}
