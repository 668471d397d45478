/**
 * POST /pilots/:pilot/incident-bundles (docs/incident-bundles.md): an operator's incident bundle of
 * one vehicle over at most an hour, answered as a tar archive. Viewers get 403 before the handler
 * runs (the contract says operatorOnly); the audit line names the vehicle and the window whatever
 * the answer. InfluxDB is read behind the query gate like the history routes (api.limits).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { API_ROUTES, ErrorCodes, INCIDENT_BUNDLE_CONTENT_TYPE, type IncidentBundleBody } from '@michi/proto';
import type { AuditAction } from '../audit-log.js';
import { buildIncidentBundle, bundleWindowProblem, recordStoreExcerpts } from '../bundle/index.js';
import { ApiError } from '../errors.js';
import { pilotFor, type ApiContext } from './context.js';
import { principalOf } from './pilot-routes.js';
import { contractOptions } from './route-contract.js';

type BundleRequest = { Params: { pilot: string }; Body: IncidentBundleBody };

function iso(v: unknown): string {
  return typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= 8.64e15 ? new Date(v).toISOString() : JSON.stringify(v ?? null);
}

/** The audit part: the vehicle and window as sent (even when refused: an attempt is worth knowing about too). */
function auditAction(req: FastifyRequest): AuditAction {
  const body = (req.body ?? {}) as { vehicle?: unknown; from?: unknown; to?: unknown };
  return {
    action: 'incident-bundle',
    ...(typeof body.vehicle === 'string' ? { vehicle: body.vehicle.slice(0, 100) } : {}),
    window: `${iso(body.from)}/${iso(body.to)}`,
  };
}

export function registerBundleRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const options = contractOptions(API_ROUTES.incidentBundle);
  app.post<BundleRequest>(API_ROUTES.incidentBundle.url, { ...options, config: { ...options.config, auditAction } }, async (req, reply) => {
    const principal = principalOf(req);
    const pilot = pilotFor(ctx, principal, req.params.pilot);
    const refuse = (result: string, message: string): ApiError => {
      ctx.metrics.incidentBundles.inc({ result });
      return new ApiError(400, ErrorCodes.BAD_REQUEST, message);
    };
    if (req.validationError) {
      ctx.metrics.incidentBundles.inc({ result: 'bad_window' });
      throw req.validationError;
    }
    const { vehicle, from, to } = req.body;
    if (!pilot.vehicles.some((v) => v.id === vehicle)) {
      throw refuse('unknown_vehicle', `body field "vehicle": no vehicle "${vehicle}" in pilot "${pilot.id}"`);
    }
    const problem = bundleWindowProblem(from, to);
    if (problem) throw refuse('bad_window', `body field "to": ${problem}`);
    const key = `token "${principal.id}"`;
    let bundle;
    try {
      bundle = await ctx.limiter.query(key, ctx.query, (query) =>
        buildIncidentBundle(
          { query, alarms: ctx.alarms?.store, records: ctx.records ? recordStoreExcerpts(ctx.records) : undefined, now: ctx.now },
          { pilot: pilot.id, vehicle, fromMs: from, toMs: to },
        ),
      );
    } catch (err) {
      ctx.metrics.incidentBundles.inc({ result: 'failed' });
      throw err;
    }
    ctx.metrics.incidentBundles.inc({ result: 'written' });
    req.log.info({ pilot: pilot.id, vehicle, bytes: bundle.archive.byteLength, counts: bundle.manifest.counts }, 'incident bundle written');
    return reply
      .type(INCIDENT_BUNDLE_CONTENT_TYPE)
      .header('content-disposition', `attachment; filename="${bundle.fileName}"`)
      .send(bundle.archive);
  });
}
