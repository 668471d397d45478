/**
 * /api/v1: authentication (bearer tokens, 401), the request rate of each token or address (429,
 * request-limits.ts), authorization (pilots and operator-only routes, 403), the audit line of every
 * request, the routes, the OpenAPI document and the live feed.
 */
import type { FastifyInstance } from 'fastify';
import { API_ROUTES, ErrorCodes } from '@michi/proto';
import { ANONYMOUS_VIEWER, bearerToken } from '../auth.js';
import { ApiError, HttpErrorCodes } from '../errors.js';
import { registerLiveFeed, type LiveFeed, type LiveFeedOptions } from '../live/index.js';
import { registerAlarmRoutes } from './alarm-routes.js';
import { registerBundleRoutes } from './bundle-routes.js';
import type { ApiContext } from './context.js';
import { registerHistoryRoutes } from './history-routes.js';
import type { ApiDocument } from './openapi-document.js';
import { registerPilotRoutes } from './pilot-routes.js';
import { registerReportRoutes } from './report-routes.js';
import { registerRecordRoutes } from './record-routes.js';
import { contractOptions } from './route-contract.js';
import { auditEntry } from './request-audit.js';
import { hasApiRoute, isApiRequest } from './route-scope.js';

export type { ApiContext } from './context.js';

/** The `reason` label of michi_cloud_api_refusals_total for each status that refuses a request. */
const REFUSALS: Partial<Record<number, string>> = { 400: 'bad_request', 401: 'unauthenticated', 403: 'forbidden', 404: 'not_found' };

/**
 * Registers /api/v1 on `app` (health is registered by the caller), each route in `document`;
 * returns the live feed (to close, and to push to).
 */
export function registerApiV1(app: FastifyInstance, ctx: ApiContext, document: ApiDocument, liveOptions: LiveFeedOptions = {}): LiveFeed {
  app.decorateRequest('principal', null);

  // Every hook decides by the matched route (route-scope.ts), never by req.url: an encoded path
  // reaches the same route and must meet the same checks.
  app.addHook('onRequest', async (req) => {
    if (!isApiRequest(req) || req.routeOptions.config?.public) return;
    const header = req.headers.authorization;
    const secret = req.routeOptions.config?.secretOf?.(req) ?? bearerToken(header);
    if (secret === undefined && header === undefined && ctx.auth.allowAnonymousViewer) {
      ctx.limiter.admit(undefined, req.ip);
      req.principal = ANONYMOUS_VIEWER;
      return;
    }
    const principal = secret === undefined ? undefined : ctx.auth.authenticate(secret);
    // A valid token spends its own bucket; anything else its address's, so guessing tokens is slowed too.
    ctx.limiter.admit(principal?.id, req.ip);
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
    // Belt and braces: a protected route never runs without a principal, whatever the URL looked like.
    if (isApiRequest(req) && !req.routeOptions.config?.public && !req.principal) {
      throw new ApiError(401, ErrorCodes.UNAUTHENTICATED, 'expected an Authorization: Bearer <token> header');
    }
    // A path that looks like the API but matched no API route (e.g. the dashboard's catch-all took
    // it): a 404 once authenticated, never a file lookup or a 500.
    if (isApiRequest(req) && !hasApiRoute(req)) {
      throw new ApiError(404, HttpErrorCodes.NOT_FOUND, `no route ${req.method} ${req.url.split('?')[0] ?? ''}`);
    }
    const operatorOnly = req.routeOptions.config?.operatorOnly;
    if (operatorOnly && req.principal?.role !== 'operator') {
      const why = typeof operatorOnly === 'string' ? `: ${operatorOnly}` : '';
      throw new ApiError(403, ErrorCodes.FORBIDDEN, `${req.routeOptions.url} is for operator tokens only${why}`);
    }
  });

  app.addHook('onResponse', async (req, reply) => {
    if (!isApiRequest(req) || req.routeOptions.config?.public) return;
    const refusal = REFUSALS[reply.statusCode];
    if (refusal) ctx.metrics.apiRefusals.inc({ reason: refusal });
    ctx.audit.record(auditEntry(req, reply.statusCode, Math.round(reply.elapsedTime)));
  });

  app.get(API_ROUTES.openapi.url, contractOptions(API_ROUTES.openapi), async () => document.document());
  registerPilotRoutes(app, ctx);
  registerHistoryRoutes(app, ctx);
  registerReportRoutes(app, ctx);
  registerAlarmRoutes(app, ctx);
  registerRecordRoutes(app, ctx);
  registerBundleRoutes(app, ctx);
  return registerLiveFeed(app, ctx, liveOptions);
}
