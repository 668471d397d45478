/**
 * GET /api/v1/live?pilot=<id>&hz=1&batch=1, the live feed's WebSocket upgrade, as a Fastify route
 * (@fastify/websocket): the API's own hooks (api/index.ts) authenticate it, rate-limit it and write
 * its audit line; this route takes the token from where a browser can put it (`Sec-WebSocket-Protocol:
 * michi.v1, bearer.<token>`, or `?token=`), and before upgrading checks the page's Origin (the API's
 * own or `api.allowedOrigins`: cross-site WebSocket hijacking), the subprotocol offer, the query, the
 * pilot and the token's open connections (`api.maxLiveConnectionsPerToken`). A refusal is an ApiError,
 * answered by the API's error handler with its status and JSON body. The audit line of a connection
 * names only the parameters the feed knows, redacted: never the raw query.
 */
import fastifyWebsocket from '@fastify/websocket';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { API_ROUTES, ErrorCodes, LIVE_PILOT_ROUTE } from '@michi/proto';
import { pilotFor, type ApiContext } from '../api/context.js';
import { Params, parseQuery } from '../api/params.js';
import { contractOptions } from '../api/route-contract.js';
import { auditEntry } from '../api/request-audit.js';
import { redactUrl } from '../audit-log.js';
import { ANONYMOUS_VIEWER, bearerToken } from '../auth.js';
import { ApiError } from '../errors.js';
import { LiveConnectionLimit } from './connection-limit.js';
import type { LiveFeed, LiveFeedOptions, LiveRequest } from './live-feed.js';

const LIVE_PATH = API_ROUTES.live.url;
/** The same feed with the pilot in the path, like the API's other routes of one pilot. */
const LIVE_PILOT_PATH = LIVE_PILOT_ROUTE.url;
/** The subprotocol the server selects when the client offers it beside `bearer.<token>`. */
const LIVE_SUBPROTOCOL = 'michi.v1';

/** The query parameters a live-feed audit line shows; anything else a client sent is left out. */
const AUDITED_PARAMS = ['pilot', 'hz', 'batch'] as const;
/** Longest value shown per audited parameter: an invalid one is logged, but not at any length. */
const AUDITED_VALUE_CHARS = 100;
/** Largest message a client may send (it sends none; pings and closes are control frames). */
const MAX_CLIENT_MESSAGE_BYTES = 1024;

/** Why an upgrade was refused by a live-feed check (michi_cloud_live_refused_total{reason}). */
type RefusalReason = 'origin' | 'subprotocol' | 'connections_per_token';

function searchParams(req: FastifyRequest): URLSearchParams {
  return new URL(req.url, 'http://localhost').searchParams;
}

/** The query as the feed reads it, with the pilot of the path (LIVE_PILOT_PATH) instead of ?pilot=. */
function liveQuery(req: FastifyRequest): Record<string, string> {
  const query = Object.fromEntries(searchParams(req));
  const inPath = (req.params as { pilot?: unknown } | undefined)?.pilot;
  return typeof inPath === 'string' ? { ...query, pilot: inPath } : query;
}

function offeredProtocols(req: FastifyRequest): string[] {
  return (req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

/** The token a live-feed client presented besides an Authorization header: a bearer.* subprotocol, or ?token=. */
function liveSecret(req: FastifyRequest): string | undefined {
  const bearer = offeredProtocols(req).find((p) => p.startsWith('bearer.'));
  return bearer?.slice('bearer.'.length) ?? Object.fromEntries(searchParams(req))['token'];
}

/** No Origin (not a browser), the API's own origin (the Host it was asked for), or a configured one. */
function originAllowed(origin: string, host: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (allowed.has(origin)) return true;
  try {
    const u = new URL(origin);
    return (u.protocol === 'http:' || u.protocol === 'https:') && host !== undefined && u.host === host.toLowerCase();
  } catch {
    return false; // "null" (a sandboxed page, a file) or garbage
  }
}

/**
 * Registers the live feed's route on `app`; the caller has registered the API's hooks. The route
 * hands accepted connections to `feed`.
 */
export function registerLiveRoute(app: FastifyInstance, ctx: ApiContext, feed: LiveFeed, opts: LiveFeedOptions = {}): void {
  const allowedOrigins = new Set(opts.allowedOrigins ?? []);
  const limit = new LiveConnectionLimit(opts.maxConnectionsPerToken ?? 8);
  /** Upgrades that passed every check, until their socket is handed to the feed. */
  const accepted = new WeakMap<FastifyRequest, { live: LiveRequest; reply: FastifyReply }>();

  // Any value that is a token (the one presented or another) is redacted, whatever its parameter's name.
  const isSecretFor = (req: FastifyRequest) => {
    const presented = liveSecret(req) ?? bearerToken(req.headers.authorization);
    return (v: string): boolean => v === presented || ctx.auth.authenticate(v) !== undefined;
  };
  const auditView = (req: FastifyRequest): { url: string; pilot: string | null } => {
    const isSecret = isSecretFor(req);
    const asked = new URLSearchParams(liveQuery(req));
    const askedPilot = accepted.get(req)?.live.pilot.id ?? asked.get('pilot');
    const pilot = askedPilot === null ? null : isSecret(askedPilot) ? '[redacted]' : askedPilot.slice(0, AUDITED_VALUE_CHARS);
    const inPath = req.routeOptions.url === LIVE_PILOT_PATH;
    const shown = new URLSearchParams();
    for (const name of AUDITED_PARAMS) {
      const v = asked.get(name);
      if (v !== null && !(name === 'pilot' && inPath)) shown.set(name, v.slice(0, AUDITED_VALUE_CHARS));
    }
    // Re-encoded from the parsed values, never the URL as sent: a token can hide in it under any
    // spelling (`?%74oken=`, `?Token=`, `?x=<token>`, or as the pilot).
    const query = shown.toString();
    const path = inPath ? `/api/v1/pilots/${pilot === '[redacted]' ? pilot : encodeURIComponent(pilot ?? '')}/live` : LIVE_PATH;
    return { url: redactUrl(query ? `${path}?${query}` : path, isSecret), pilot };
  };

  const refuse = (req: FastifyRequest, reason: RefusalReason, err: ApiError): never => {
    ctx.metrics.liveRefusals.inc({ reason });
    ctx.logger.warn(
      { reason, token: req.principal?.id ?? null, origin: req.headers.origin, remote: req.socket.remoteAddress },
      'live feed upgrade refused',
    );
    throw err;
  };

  /** Every check before the upgrade, in the order a client would fix them. */
  const admit = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!req.ws) return; // a plain GET: the handler answers 426
    const origin = req.headers.origin;
    if (origin !== undefined && !originAllowed(origin, req.headers.host, allowedOrigins)) {
      refuse(
        req,
        'origin',
        new ApiError(
          403,
          ErrorCodes.FORBIDDEN,
          `a page at ${JSON.stringify(origin.slice(0, 200))} may not open the live feed: only the API's own origin and api.allowedOrigins may`,
        ),
      );
    }
    const offered = offeredProtocols(req);
    if (offered.some((p) => p.startsWith('bearer.')) && !offered.includes(LIVE_SUBPROTOCOL)) {
      refuse(
        req,
        'subprotocol',
        new ApiError(
          400,
          ErrorCodes.BAD_REQUEST,
          `offer the subprotocol "${LIVE_SUBPROTOCOL}" beside "bearer.<token>": the server selects ${LIVE_SUBPROTOCOL}, never a bearer.* one (it would echo the token)`,
        ),
      );
    }
    const q = parseQuery(Params.live, liveQuery(req));
    const principal = req.principal!;
    const pilot = pilotFor(ctx, principal, q.pilot);
    const who = principal === ANONYMOUS_VIEWER ? `anonymous@${req.ip}` : principal.id;
    // Held until the TCP socket closes, whichever way it ends (closed feed, failed handshake, reset).
    if (!limit.reserve(who, req.socket)) {
      refuse(
        req,
        'connections_per_token',
        new ApiError(
          429,
          ErrorCodes.RATE_LIMITED,
          `token "${principal.id}" already holds ${limit.max} live feed connections, the most allowed (api.maxLiveConnectionsPerToken); close one first`,
        ),
      );
    }
    accepted.set(req, { live: { principal, pilot, hz: q.hz, batch: q.batch }, reply });
  };

  // A refused upgrade's socket carries nothing after its error response: closed once it is sent. The
  // plugin closes it only when its own onRequest hook ran, which the API's refusing first (401, 429) skips,
  // and a client that got an unexpected response need not close it: the server could not stop then.
  app.addHook('onResponse', async (req) => {
    if (req.raw.headers.upgrade !== undefined) req.raw.socket.end();
  });
  void app.register(fastifyWebsocket, {
    options: {
      maxPayload: MAX_CLIENT_MESSAGE_BYTES,
      // Never a bearer.* one: the selected subprotocol is echoed in the response header.
      handleProtocols: (protocols) => (protocols.has(LIVE_SUBPROTOCOL) ? LIVE_SUBPROTOCOL : false),
    },
    errorHandler: (err, socket, req) => {
      ctx.logger.debug({ err: err.message, reqId: req.id }, 'live feed socket error');
      socket.terminate();
    },
    // Close the feed's connections with 1001 (going away) before the server stops listening.
    preClose: (done) => void feed.close().then(() => done(), done),
  });
  void app.register(async (scope) => {
    for (const url of [LIVE_PATH, LIVE_PILOT_PATH]) {
      const contract = contractOptions(url === LIVE_PATH ? API_ROUTES.live : LIVE_PILOT_ROUTE);
      scope.route({
        ...contract,
        method: 'GET',
        url,
        config: { ...contract.config, secretOf: liveSecret, auditView },
        preHandler: admit,
        handler: async () => {
          throw new ApiError(
            426,
            ErrorCodes.BAD_REQUEST,
            `the live feed is a WebSocket: upgrade with the subprotocols "${LIVE_SUBPROTOCOL}, bearer.<token>" (docs/api.md)`,
          );
        },
        wsHandler: (ws, req) => {
          const { live, reply } = accepted.get(req)!;
          // The hooks' audit line is written when a response ends; an upgraded one never does.
          ctx.audit.record(auditEntry(req, 101, Math.round(reply.elapsedTime)));
          feed.open(ws, live);
        },
      });
    }
  });
}
