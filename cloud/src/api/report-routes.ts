/**
 * GET /pilots/:pilot/report: the report a municipality files (cloud/src/reports/), as JSON or as a
 * CSV attachment. Viewers get it too, since the municipality is the viewer: like the KPIs it ends at
 * now − the pilot's delay, and it names no vehicle, so a pilot that hides ids hides them here too.
 * Each day is one run of the query gate with its own deadline and row cap (api.limits).
 */
import type { FastifyInstance } from 'fastify';
import { API_ROUTES, type ReportQuery } from '@michi/proto';
import { buildReport, reportCsv, reportFileName, reportRange } from '../reports/index.js';
import { pilotFor, type ApiContext } from './context.js';
import { gated } from './history-routes.js';
import { timeRange } from './params.js';
import { principalOf } from './pilot-routes.js';
import { PilotPrivacy } from './privacy.js';
import { contractOptions, validQuery } from './route-contract.js';

export function registerReportRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Params: { pilot: string }; Querystring: ReportQuery }>(
    API_ROUTES.report.url,
    contractOptions(API_ROUTES.report),
    async (req, reply) => {
      const principal = principalOf(req);
      const pilot = pilotFor(ctx, principal, req.params.pilot);
      const q = validQuery(req);
      const now = ctx.now();
      const { from, to } = timeRange(reportRange(q, now, pilot.timezone), now);
      const until = Math.min(to, new PilotPrivacy(pilot, principal).horizon(now));
      const report = await buildReport((step) => gated(ctx, req, step), {
        pilot,
        from,
        to,
        lang: q.lang,
        until,
        now,
        rollups: ctx.rollups,
      });
      if (q.format === 'json') return report;
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${reportFileName(report)}"`)
        .send(reportCsv(report));
    },
  );
}
