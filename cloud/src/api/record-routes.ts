/**
 * GET /pilots/:pilot/records: entries of the operating-state record with their hashes, for
 * operators only (the route's contract says so; api/index.ts refuses viewers and writes the audit
 * line of every request). Read from the record's SQLite database, not InfluxDB.
 */
import type { FastifyInstance } from 'fastify';
import { API_ROUTES, ErrorCodes, type RecordEntryBody, type RecordsResponse, type RecordsQuerySchema } from '@michi/proto';
import type { z } from 'zod';
import { ApiError } from '../errors.js';
import { pilotFor, type ApiContext } from './context.js';
import { timeRange } from './params.js';
import { principalOf } from './pilot-routes.js';
import { contractOptions, validQuery } from './route-contract.js';

type RecordsRequest = { Params: { pilot: string }; Querystring: z.output<typeof RecordsQuerySchema> };

export function registerRecordRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<RecordsRequest>(API_ROUTES.records.url, contractOptions(API_ROUTES.records), async (req): Promise<RecordsResponse> => {
    const pilot = pilotFor(ctx, principalOf(req), req.params.pilot);
    const q = validQuery(req);
    const { from, to } = timeRange(q, ctx.now());
    if (q.vehicle !== undefined && !pilot.vehicles.some((v) => v.id === q.vehicle)) {
      throw new ApiError(400, ErrorCodes.BAD_REQUEST, `query parameter "vehicle": no vehicle "${q.vehicle}" in pilot "${pilot.id}"`);
    }
    if (ctx.records === undefined) {
      throw new ApiError(503, ErrorCodes.STORAGE, 'this cloud keeps no operating-state record (records.enabled is false)');
    }
    const stored = ctx.records.entries({ pilot: pilot.id, vehicle: q.vehicle, fromMs: from, toMs: to, limit: q.limit + 1 });
    const truncated = stored.length > q.limit;
    return {
      pilot: pilot.id,
      from,
      to,
      entries: stored.slice(0, q.limit).map((s) => ({ hash: s.hash, entry: s.entry as unknown as RecordEntryBody })),
      truncated,
    };
  });
}
