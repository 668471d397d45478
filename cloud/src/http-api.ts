/**
 * The HTTP server (fastify): health, the built dashboard at /, and the API under /api/v1
 * (api/: routes, bearer tokens, audit log, the WebSocket live feed; docs/api.md). /metrics is not
 * here but on its own loopback listener (metrics-server.ts). Every response carries the security
 * headers (security-headers.ts). Errors are JSON
 * `{error: {code, message}}` with a stable code; a fault of ours is logged with its stack and
 * answered as MICHI_ERR_INTERNAL without one, an InfluxDB that does not answer a query as 503
 * MICHI_ERR_STORAGE, a history query past its deadline as 504 MICHI_ERR_TIMEOUT and one that would
 * read more rows than allowed as 422 MICHI_ERR_TOO_LARGE (api.limits, api/request-limits.ts). HTTP
 * status codes live in the API (ApiError) and this error handler only.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { API_ROUTES, ErrorCodes, MichiError, type HealthResponse } from '@michi/proto';
import type { AlarmEngine } from './alarms/index.js';
import { registerApiV1 } from './api/index.js';
import { ApiDocument } from './api/openapi-document.js';
import { contractOptions } from './api/route-contract.js';
import { ApiLimiter, type ApiLimits } from './api/request-limits.js';
import { DEFAULT_API_LIMITS } from './config.js';
import { normalisedPath } from './api/route-scope.js';
import { AuditLog, redactUrl } from './audit-log.js';
import type { TokenAuthenticator } from './auth.js';
import { ApiError, HttpErrorCodes } from './errors.js';
import type { InfluxQuery } from './influx-query.js';
import type { LiveFeedOptions } from './live/index.js';
import type { LatestState } from './latest-state.js';
import type { CloudMetrics } from './metrics.js';
import type { PilotDirectory } from './pilot-directory.js';
import type { RecordStore } from './records/index.js';
import type { RollupCoverage } from './queries/kpi-query.js';
import { addSecurityHeaders } from './security-headers.js';

export interface HttpApiDeps {
  directory: PilotDirectory;
  latest: LatestState;
  query: InfluxQuery;
  metrics: CloudMetrics;
  logger: Logger;
  /** API bearer tokens (auth.ts). */
  auth: TokenAuthenticator;
  /** Default: an audit log on `logger` only. */
  audit?: AuditLog;
  live?: LiveFeedOptions;
  /** Rates, concurrent history queries, their deadline and row cap (api.limits); default DEFAULT_API_LIMITS. */
  limits?: ApiLimits;
  /** The built dashboard; when it does not exist, / answers 404 with a hint. */
  dashboardDir?: string | undefined;
  /** Origins of a configured base map, allowed by the Content-Security-Policy (http.tileOrigins). */
  tileOrigins?: readonly string[];
  /** What the rollups cover, for long-range KPIs (rollups/rollup-job.ts); without it KPIs read raw readings only. */
  rollups?: RollupCoverage | undefined;
  now?: () => number;
  /** The alarm engine behind the alarm routes and the live feed's alarm messages; none when alarms are disabled. */
  alarms?: AlarmEngine | undefined;
  /** The operating-state record, when records.enabled (GET /pilots/:pilot/records). */
  records?: RecordStore | undefined;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export async function buildHttpApi(deps: HttpApiDeps): Promise<FastifyInstance> {
  const { directory, latest, query, metrics } = deps;
  const now = deps.now ?? Date.now;
  const limits = deps.limits ?? DEFAULT_API_LIMITS;
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // A dashboard polls every second: one log line per request would drown everything else. Errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
  });

  addSecurityHeaders(app, deps.tileOrigins);

  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    if (err instanceof ApiError) {
      if (err.retryAfterS !== undefined) void reply.header('retry-after', String(err.retryAfterS));
      return reply.code(err.statusCode).send({ error: { code: err.code, message: err.message } });
    }
    if (err instanceof MichiError && err.code === ErrorCodes.TIMEOUT) {
      metrics.apiRefusals.inc({ reason: 'timeout' });
      req.log.warn({ err: err.message, reqId: req.id, url: redactUrl(req.url) }, 'query timed out: InfluxDB request aborted');
      const ms = typeof err.context['timeoutMs'] === 'number' ? err.context['timeoutMs'] : limits.queryTimeoutMs;
      const message = `the query took longer than ${ms} ms (api.limits.queryTimeoutMs, at most influx.timeoutMs) and was abandoned: ask for a shorter range, or retry later (request ${req.id})`;
      return reply.code(504).send({ error: { code: err.code, message } });
    }
    if (err instanceof MichiError && err.code === ErrorCodes.TOO_LARGE) {
      metrics.apiRefusals.inc({ reason: 'too_large' });
      req.log.warn({ err: err.message, reqId: req.id, url: redactUrl(req.url) }, 'query refused: too many rows');
      const message = `the range holds more than ${limits.maxRows} rows (api.limits.maxRows): ask for a shorter range or a coarser resolution`;
      return reply.code(422).send({ error: { code: err.code, message } });
    }
    if (err instanceof MichiError && err.code === ErrorCodes.STORAGE) {
      req.log.warn({ err: err.message, reqId: req.id }, 'query failed: InfluxDB');
      return reply.code(503).send({ error: { code: err.code, message: `InfluxDB did not answer the query (request ${req.id})` } });
    }
    const status = (err as FastifyError).statusCode ?? 500;
    if (status < 500) {
      return reply.code(status).send({ error: { code: HttpErrorCodes.BAD_REQUEST, message: err.message } });
    }
    req.log.error({ err, reqId: req.id, url: redactUrl(req.url) }, 'request failed');
    return reply
      .code(500)
      .send({ error: { code: HttpErrorCodes.INTERNAL, message: `internal error; see the cloud log for request ${req.id}` } });
  });

  const dashboardRoot = deps.dashboardDir ? resolve(deps.dashboardDir) : undefined;
  const hasDashboard = dashboardRoot !== undefined && isDirectory(dashboardRoot);
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    const message =
      path === '/metrics'
        ? 'no route GET /metrics here: the metrics have their own listener (metrics.host, metrics.port; default 127.0.0.1:9460)'
        : !hasDashboard && !normalisedPath(path).startsWith('/api/')
          ? `the dashboard is not built (looked in ${dashboardRoot ?? '(no dashboardDir configured)'}): run \`npm run build -w @michi/dashboard\``
          : `no route ${req.method} ${path}`;
    return reply.code(404).send({ error: { code: HttpErrorCodes.NOT_FOUND, message } });
  });

  // Before the first route: every /api/ route registered from here on needs a contract.
  const document = new ApiDocument(app);
  app.get(API_ROUTES.health.url, contractOptions(API_ROUTES.health), async (_req, reply) => {
    try {
      await query.ping();
      return { status: 'ok', influx: 'ok' } satisfies HealthResponse;
    } catch (err) {
      const body: HealthResponse = { status: 'unavailable', influx: 'unreachable', detail: (err as Error).message };
      return reply.code(503).send(body);
    }
  });

  const audit = deps.audit ?? new AuditLog({ logger: deps.logger });
  registerApiV1(
    app,
    {
      directory,
      latest,
      query,
      metrics,
      auth: deps.auth,
      audit,
      logger: deps.logger,
      now,
      limiter: new ApiLimiter(limits, metrics, deps.logger),
      alarms: deps.alarms,
      records: deps.records,
      rollups: deps.rollups,
    },
    document,
    deps.live,
  );

  if (hasDashboard) {
    // @fastify/static (via `mime`) serves .mjs as application/javascript, which maplibre's worker needs.
    await app.register(fastifyStatic, { root: dashboardRoot, prefix: '/', index: 'index.html' });
  }
  return app;
}
