/**
 * /api/v1: authentication (bearer tokens, 401), authorization (pilots and operator-only routes,
 * 403), the audit line of every request, the routes, the OpenAPI document and the live feed.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ErrorCodes } from '@michi/proto';
import { redactUrl } from '../audit-log.js';
import { ANONYMOUS_VIEWER, bearerToken } from '../auth.js';
import { ApiError } from '../errors.js';
import { LiveFeed, type LiveFeedOptions } from '../live-feed.js';
import type { ApiContext } from './context.js';
import { registerHistoryRoutes } from './history-routes.js';
import { openApiDocument } from './openapi.js';
import { registerPilotRoutes } from './pilot-routes.js';

export type { ApiContext } from './context.js';

const PREFIX = '/api/v1/';

function pilotOf(req: FastifyRequest): string | null {
  const params = req.params as Record<string, unknown> | undefined;
  return typeof params?.['pilot'] === 'string' ? params['pilot'] : null;
}

/** Registers /api/v1 on `app` (health is registered by the caller); returns the live feed to attach and close. */
export function registerApiV1(app: FastifyInstance, ctx: ApiContext, liveOptions: LiveFeedOptions = {}): LiveFeed {
  app.decorateRequest('principal', null);

  app.addHook('onRequest', async (req) => {
    if (!req.url.startsWith(PREFIX) || req.routeOptions.config?.public) return;
    const header = req.headers.authorization;
    const secret = bearerToken(header);
    if (secret === undefined && header === undefined && ctx.auth.allowAnonymousViewer) {
      req.principal = ANONYMOUS_VIEWER;
      return;
    }
    const principal = secret === undefined ? undefined : ctx.auth.authenticate(secret);
    if (!principal) {
      throw new ApiError(
        401,
        ErrorCodes.UNAUTHENTICATED,
        secret === undefined ? 'expected an Authorization: Bearer <token> header' : 'the bearer token matches none configured',
      );
    }
    req.principal = principal;
  });

  app.addHook('preHandler', async (req) => {
    if (req.routeOptions.config?.operatorOnly && req.principal?.role !== 'operator') {
      throw new ApiError(403, ErrorCodes.FORBIDDEN, `${req.routeOptions.url} is for operator tokens only`);
    }
  });

  app.addHook('onResponse', async (req, reply) => {
    if (!req.url.startsWith(PREFIX) || req.routeOptions.config?.public) return;
    ctx.audit.record({
      token: req.principal?.id ?? null,
      role: req.principal?.role ?? null,
      method: req.method,
      route: req.routeOptions.url ?? '(no route)',
      url: redactUrl(req.url),
      pilot: pilotOf(req),
      status: reply.statusCode,
      reqId: String(req.id),
      ms: Math.round(reply.elapsedTime),
    });
  });

  const document = openApiDocument();
  app.get('/api/v1/openapi.json', { config: { public: true } }, async () => document);
  registerPilotRoutes(app, ctx);
  registerHistoryRoutes(app, ctx);
  return new LiveFeed(ctx, liveOptions);
}
