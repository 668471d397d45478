/** What the API's routes and the live feed share: the collaborators and the request's principal. */
import type { Logger } from 'pino';
import { ErrorCodes, type Pilot } from '@michi/proto';
import type { AlarmEngine } from '../alarms/index.js';
import type { AuditAction, AuditLog } from '../audit-log.js';
import { canReadPilot, type Principal, type TokenAuthenticator } from '../auth.js';
import { ApiError } from '../errors.js';
import type { InfluxQuery } from '../influx-query.js';
import type { LatestState } from '../latest-state.js';
import type { CloudMetrics } from '../metrics.js';
import type { PilotDirectory } from '../pilot-directory.js';
import type { RecordStore } from '../records/index.js';
import type { RollupCoverage } from '../queries/kpi-query.js';
import type { ApiLimiter } from './request-limits.js';

export interface ApiContext {
  directory: PilotDirectory;
  latest: LatestState;
  query: InfluxQuery;
  auth: TokenAuthenticator;
  audit: AuditLog;
  metrics: CloudMetrics;
  logger: Logger;
  now: () => number;
  /** Request rates, concurrent history queries and their InfluxDB bounds (api.limits). */
  limiter: ApiLimiter;
  /** The alarm engine; undefined when alarms.enabled is false (the alarm routes then find none). */
  alarms?: AlarmEngine | undefined;
  /** The operating-state record; undefined when records.enabled is false. */
  records?: RecordStore | undefined;
  /** What the rollups cover (long-range KPIs); undefined: KPIs from raw readings only. */
  rollups?: RollupCoverage | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook for every /api/v1 route except health and openapi.json. */
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** 403 for viewers; a string says why. */
    operatorOnly?: boolean | string;
    /** No token needed, no audit line. */
    public?: boolean;
    /** Where this route takes its token from before an Authorization header (the live feed: a subprotocol, ?token=). */
    secretOf?: (req: FastifyRequest) => string | undefined;
    /** The audit line's url and pilot, when the route knows better than the redacted URL and :pilot (the live feed). */
    auditView?: (req: FastifyRequest) => { url: string; pilot: string | null };
    /** What a request that changes something asked to do, for its audit line (alarm actions). */
    auditAction?: (req: FastifyRequest) => AuditAction;
  }
}

/**
 * The pilot a principal asked for: 403 when it is outside the principal's pilots (whether it
 * exists or not, so a restricted token learns nothing about other pilots), 404 when it does not exist.
 */
export function pilotFor(ctx: ApiContext, principal: Principal, id: string): Pilot {
  if (!canReadPilot(principal, id)) {
    throw new ApiError(403, ErrorCodes.FORBIDDEN, `token "${principal.id}" may not read pilot "${id}"`);
  }
  const pilot = ctx.directory.pilot(id);
  if (!pilot) {
    const known = ctx.directory.pilots.filter((p) => canReadPilot(principal, p.id)).map((p) => p.id);
    throw new ApiError(404, ErrorCodes.UNKNOWN_SOURCE, `no pilot "${id}"; known pilots: ${known.join(', ') || '(none)'}`);
  }
  return pilot;
}
