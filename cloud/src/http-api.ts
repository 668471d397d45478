/**
 * The HTTP API (fastify) under /api/v1, /metrics, and the built dashboard at /. Errors are JSON
 * `{error: {code, message}}` with a stable code; a fault of ours is logged with its stack and
 * answered as MICHI_ERR_INTERNAL without one. HTTP status codes live here and nowhere else.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ErrorCodes, type Pilot } from '@michi/proto';
import { ApiError, HttpErrorCodes } from './errors.js';
import type { InfluxQuery } from './influx-query.js';
import type { LatestState } from './latest-state.js';
import type { CloudMetrics } from './metrics.js';
import type { PilotDirectory } from './pilot-directory.js';

export interface HttpApiDeps {
  directory: PilotDirectory;
  latest: LatestState;
  query: InfluxQuery;
  metrics: CloudMetrics;
  logger: Logger;
  /** The built dashboard; when it does not exist, / answers 404 with a hint. */
  dashboardDir?: string | undefined;
  now?: () => number;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The definition the map needs; gateways without their credentials reference. */
function pilotView(p: Pilot): Record<string, unknown> {
  return {
    id: p.id,
    notice: p.notice,
    name: p.name,
    municipality: p.municipality,
    timezone: p.timezone,
    serviceWindow: p.serviceWindow,
    map: p.map,
    routes: p.routes,
    stops: p.stops,
    geofences: p.geofences,
    cellSites: p.cellSites,
    gateways: p.gateways.map(({ credentialsRef: _secretRef, ...gw }) => gw),
    vehicles: p.vehicles,
    sensors: p.sensors,
  };
}

export async function buildHttpApi(deps: HttpApiDeps): Promise<FastifyInstance> {
  const { directory, latest, query, metrics } = deps;
  const now = deps.now ?? Date.now;
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // A dashboard polls every second: one log line per request would drown everything else. Errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
  });

  const pilotOr404 = (id: string): Pilot => {
    const pilot = directory.pilot(id);
    if (!pilot) {
      const known = directory.pilots.map((p) => p.id).join(', ') || '(none)';
      throw new ApiError(404, ErrorCodes.UNKNOWN_SOURCE, `no pilot "${id}"; known pilots: ${known}`);
    }
    return pilot;
  };

  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    if (err instanceof ApiError) {
      return reply.code(err.statusCode).send({ error: { code: err.code, message: err.message } });
    }
    const status = err.statusCode ?? 500;
    if (status < 500) {
      return reply.code(status).send({ error: { code: HttpErrorCodes.BAD_REQUEST, message: err.message } });
    }
    req.log.error({ err, reqId: req.id, url: req.url }, 'request failed');
    return reply
      .code(500)
      .send({ error: { code: HttpErrorCodes.INTERNAL, message: `internal error; see the cloud log for request ${req.id}` } });
  });

  const dashboardRoot = deps.dashboardDir ? resolve(deps.dashboardDir) : undefined;
  const hasDashboard = dashboardRoot !== undefined && isDirectory(dashboardRoot);
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    const message =
      !hasDashboard && !path.startsWith('/api/') && path !== '/metrics'
        ? `the dashboard is not built (looked in ${dashboardRoot ?? '(no dashboardDir configured)'}): run \`npm run build -w @michi/dashboard\``
        : `no route ${req.method} ${path}`;
    return reply.code(404).send({ error: { code: HttpErrorCodes.NOT_FOUND, message } });
  });

  app.get('/api/v1/health', async (_req, reply) => {
    try {
      await query.ping();
      return { status: 'ok', influx: 'ok' };
    } catch (err) {
      return reply.code(503).send({ status: 'unavailable', influx: 'unreachable', detail: (err as Error).message });
    }
  });

  app.get('/api/v1/pilots', async () => ({
    pilots: directory.pilots.map((p) => ({
      id: p.id,
      name: p.name,
      municipality: p.municipality,
      counts: { vehicles: p.vehicles.length, sensors: p.sensors.length, cellSites: p.cellSites.length },
    })),
  }));

  app.get<{ Params: { pilot: string } }>('/api/v1/pilots/:pilot', async (req) => pilotView(pilotOr404(req.params.pilot)));

  app.get<{ Params: { pilot: string } }>('/api/v1/pilots/:pilot/vehicles', async (req) => {
    const pilot = pilotOr404(req.params.pilot);
    return {
      pilot: pilot.id,
      now_ms: now(),
      vehicles: pilot.vehicles.map((v) => {
        const s = latest.get(pilot.id, v.id);
        return {
          id: v.id,
          kind: v.kind,
          name: v.name,
          routeId: v.routeId,
          state: s && {
            ts_ms: s.ts_ms,
            recv_ms: s.recv_ms,
            seq: s.seq,
            lat: s.lat,
            lon: s.lon,
            speed_mps: s.speed_mps,
            heading_deg: s.heading_deg,
            mode: s.mode,
            battery_pct: s.battery_pct,
          },
        };
      }),
    };
  });

  app.get('/metrics', async (_req, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  if (hasDashboard) {
    // @fastify/static (via `mime`) serves .mjs as application/javascript, which maplibre's worker needs.
    await app.register(fastifyStatic, { root: dashboardRoot, prefix: '/', index: 'index.html' });
  }
  return app;
}
