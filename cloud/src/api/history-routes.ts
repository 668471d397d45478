/**
 * GET /pilots/:pilot/{tracks,links,events,kpis,coverage,completeness}: what InfluxDB holds over a
 * time range. Viewers see tracks, links, events, KPIs and coverage only up to now − the pilot's delay,
 * with coarsened positions (tracks thinned to one point per sample period, with banded speed and no
 * heading; coverage cells no finer than the coarsening), aliased ids and no free-text detail;
 * completeness is for operators only. Each runs behind the query gate with its InfluxDB requests
 * bounded (request-limits.ts, api.limits): 429 when the caller has too many running, 504 past the
 * deadline, 422 beyond the row cap.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import {
  API_ROUTES,
  ErrorCodes,
  type QueryParams,
  type CompletenessResponse,
  type CoverageResponse,
  type EventsResponse,
  type Kpis,
  type LinksResponse,
  type TracksResponse,
} from '@michi/proto';
import { ANONYMOUS_VIEWER } from '../auth.js';
import { ApiError } from '../errors.js';
import type { InfluxQuery } from '../influx-query.js';
import { queryCompleteness } from '../queries/completeness-query.js';
import { queryCoverage } from '../queries/coverage-query.js';
import type { SeriesRequest } from '../queries/downsampled-series.js';
import { queryEvents } from '../queries/events-query.js';
import { emptyKpis, queryKpis } from '../queries/kpi-query.js';
import { queryLinks } from '../queries/links-query.js';
import { queryTracks } from '../queries/tracks-query.js';
import { pilotFor, type ApiContext } from './context.js';
import { MAX_KPI_RANGE_MS, timeRange } from './params.js';
import { principalOf } from './pilot-routes.js';
import { PilotPrivacy } from './privacy.js';
import { contractOptions, validQuery } from './route-contract.js';

/** A history route's request: the pilot, and the query as its zod schema parsed it (route-contract.ts). */
type PilotRequest<Q extends z.ZodType> = { Params: { pilot: string }; Querystring: z.output<Q> };

/** Real ids of the ids a caller sent (aliases for a viewer of a pilot that hides ids); 400 for unknown ones. */
function sourcesOf(ids: readonly string[], privacy: PilotPrivacy, known: ReadonlySet<string>): string[] {
  return ids.map((id) => {
    const real = privacy.privateId(id);
    if (real === undefined || !known.has(real)) {
      throw new ApiError(400, ErrorCodes.BAD_REQUEST, `query parameter "source": no source "${id}" in this pilot`);
    }
    return real;
  });
}

/**
 * What the per-vehicle series routes (tracks, links) share: the range as asked, the caller's privacy,
 * and the query to run (ending at now − the viewer's delay, real ids), or null when the delay leaves nothing.
 */
function seriesRequestOf(
  ctx: ApiContext,
  req: FastifyRequest<PilotRequest<typeof QueryParams.series>>,
): { from: number; to: number; privacy: PilotPrivacy; request: SeriesRequest | null } {
  const principal = principalOf(req);
  const pilot = pilotFor(ctx, principal, req.params.pilot);
  const q = validQuery(req);
  const { from, to } = timeRange(q, ctx.now());
  const privacy = new PilotPrivacy(pilot, principal);
  const sources = sourcesOf(q.source, privacy, new Set(pilot.vehicles.map((v) => v.id)));
  const until = Math.min(to, privacy.horizon(ctx.now()));
  return {
    from,
    to,
    privacy,
    request: until < from ? null : { pilot: pilot.id, from, to: until, maxPoints: q.maxPoints, sources, alignMs: privacy.samplePeriodMs },
  };
}

/** Runs `run` once the query gate lets the caller in (per token; the anonymous viewer per address), InfluxDB bounded. */
function gated<T>(ctx: ApiContext, req: FastifyRequest, run: (query: InfluxQuery) => Promise<T>): Promise<T> {
  const principal = principalOf(req);
  const key = principal === ANONYMOUS_VIEWER ? `address ${req.ip}` : `token "${principal.id}"`;
  return ctx.limiter.query(key, ctx.query, run);
}

export function registerHistoryRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<PilotRequest<typeof QueryParams.series>>(
    API_ROUTES.tracks.url,
    contractOptions(API_ROUTES.tracks),
    async (req): Promise<TracksResponse> => {
      const { from, to, privacy, request } = seriesRequestOf(ctx, req);
      const { tracks } = request ? await gated(ctx, req, (query) => queryTracks(query, request)) : { tracks: [] };
      return {
        from,
        to,
        tracks: tracks.map((t) => ({
          source: privacy.publicId(t.source),
          points: privacy.trackPoints(t.points),
        })),
      };
    },
  );

  app.get<PilotRequest<typeof QueryParams.series>>(
    API_ROUTES.links.url,
    contractOptions(API_ROUTES.links),
    async (req): Promise<LinksResponse> => {
      const { from, to, privacy, request } = seriesRequestOf(ctx, req);
      const { links } = request ? await gated(ctx, req, (query) => queryLinks(query, request)) : { links: [] };
      // Link points carry no position: only the delay (in `request`) and the aliases apply.
      return { from, to, links: links.map((l) => ({ source: privacy.publicId(l.source), points: l.points })) };
    },
  );

  app.get<PilotRequest<typeof QueryParams.events>>(
    API_ROUTES.events.url,
    contractOptions(API_ROUTES.events),
    async (req): Promise<EventsResponse> => {
      const principal = principalOf(req);
      const pilot = pilotFor(ctx, principal, req.params.pilot);
      const q = validQuery(req);
      const { from, to } = timeRange(q, ctx.now());
      const privacy = new PilotPrivacy(pilot, principal);
      const known = new Set([...pilot.vehicles.map((v) => v.id), ...pilot.sensors.map((s) => s.id)]);
      const sources = sourcesOf(q.source, privacy, known);
      const until = Math.min(to, privacy.horizon(ctx.now()));
      const events =
        until < from
          ? []
          : await gated(ctx, req, (query) =>
              queryEvents(query, { pilot: pilot.id, from, to: until, types: q.type, sources, severities: q.severity, limit: q.limit }),
            );
      if (!privacy.filtered) return { events };
      return {
        events: events.map((e) => {
          const [lat, lon] = e.lat !== null && e.lon !== null ? privacy.position(e.lat, e.lon) : [e.lat, e.lon];
          // Free text written by a safety driver may name people: not for the public view.
          return { ...e, source: privacy.publicId(e.source), lat, lon, detail: null };
        }),
      };
    },
  );

  app.get<PilotRequest<typeof QueryParams.kpis>>(API_ROUTES.kpis.url, contractOptions(API_ROUTES.kpis), async (req): Promise<Kpis> => {
    const principal = principalOf(req);
    const pilot = pilotFor(ctx, principal, req.params.pilot);
    const { from, to } = timeRange(validQuery(req), ctx.now(), MAX_KPI_RANGE_MS);
    // Distance, speed and mode share of the last seconds would say where vehicles are now: like
    // the tracks, a viewer's KPIs end at now − the pilot's delay (`from`/`to` say what was asked).
    const until = Math.min(to, new PilotPrivacy(pilot, principal).horizon(ctx.now()));
    const kpis =
      until < from ? emptyKpis(pilot, from, until) : await gated(ctx, req, (query) => queryKpis(query, pilot, from, until, ctx.rollups));
    return { ...kpis, from, to };
  });

  app.get<PilotRequest<typeof QueryParams.coverage>>(
    API_ROUTES.coverage.url,
    contractOptions(API_ROUTES.coverage),
    async (req): Promise<CoverageResponse> => {
      const principal = principalOf(req);
      const pilot = pilotFor(ctx, principal, req.params.pilot);
      const q = validQuery(req);
      const { from, to } = timeRange(q, ctx.now());
      const privacy = new PilotPrivacy(pilot, principal);
      // Cells finer than the coarsening grid would give back the positions it hides (res 15 is under a metre).
      const res = privacy.coverageResolution(q.res);
      const until = Math.min(to, privacy.horizon(ctx.now()));
      return {
        resolution: res,
        cells: until < from ? [] : await gated(ctx, req, (query) => queryCoverage(query, pilot.id, from, until, res)),
      };
    },
  );

  app.get<PilotRequest<typeof QueryParams.range>>(
    API_ROUTES.completeness.url,
    contractOptions(API_ROUTES.completeness),
    async (req): Promise<CompletenessResponse> => {
      const pilot = pilotFor(ctx, principalOf(req), req.params.pilot);
      const { from, to } = timeRange(validQuery(req), ctx.now());
      return { from, to, sources: await gated(ctx, req, (query) => queryCompleteness(query, pilot, from, to)) };
    },
  );
}
