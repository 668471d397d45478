/**
 * Every route of /api/v1, declared once: its path, operationId, summary, tags, the schemas of its
 * parameters and of each response it can answer. The cloud registers its handlers with these (and
 * Fastify validates and serializes with them); the OpenAPI document is generated from the routes it
 * registered; the dashboard takes its types from the same schemas.
 */
import { z } from 'zod';
import {
  AcknowledgeAlarmBodySchema,
  AlarmCountSchema,
  AlarmPathSchema,
  AlarmResponseSchema,
  AlarmsResponseSchema,
  ClearAlarmBodySchema,
} from './alarms.js';
import { INCIDENT_BUNDLE_CONTENT_TYPE, IncidentBundleBodySchema, MAX_BUNDLE_WINDOW_MIN } from './bundles.js';
import { ErrorBodySchema, PilotPathSchema } from './common.js';
import {
  CompletenessResponseSchema,
  CoverageResponseSchema,
  EventsResponseSchema,
  KpisSchema,
  LinksResponseSchema,
  TracksResponseSchema,
} from './history.js';
import { LiveMessageSchema } from './live.js';
import { MeResponseSchema, PilotDetailSchema, PilotsResponseSchema, SensorsResponseSchema, VehiclesResponseSchema } from './pilots.js';
import { QueryParams } from './query-params.js';
import { ReportQuerySchema, ReportSchema } from './reports.js';
import { RECORDS_ROUTE } from './records.js';

export interface ApiResponseSpec {
  description: string;
  /** The JSON body; none for a response without one (101) or with a binary one (contentType). */
  schema?: z.ZodType;
  /** Media types the response takes instead of JSON when asked (a text body, e.g. text/csv; charset=utf-8). */
  otherMediaTypes?: readonly string[];
  /** A body that is not JSON (an archive): its media type. */
  contentType?: string;
  /** Response headers, as OpenAPI header objects. */
  headers?: Record<string, { description: string; schema: Record<string, unknown> }>;
}

export interface ApiRouteContract {
  operationId: string;
  method: 'GET' | 'POST';
  /** Fastify's form: `:pilot` for a path parameter. */
  url: string;
  summary: string;
  description?: string;
  tags: readonly [string, ...string[]];
  /** No bearer token needed (health, this document). */
  public?: boolean;
  /** 403 for viewer tokens; a string says why, in the refusal's message. */
  operatorOnly?: boolean | string;
  params?: z.ZodObject;
  querystring?: z.ZodObject;
  /** A JSON request body (POST); required when its schema requires a field. */
  body?: z.ZodObject;
  responses: Readonly<Record<number, ApiResponseSpec>>;
}

export const HealthResponseSchema = z
  .object({
    status: z.enum(['ok', 'unavailable']),
    influx: z.enum(['ok', 'unreachable']),
    detail: z.string().optional().meta({ description: 'Why InfluxDB is unreachable.' }),
  })
  .meta({ id: 'Health' });
export type HealthResponse = z.infer<typeof HealthResponseSchema>;

const error = (description: string): ApiResponseSpec => ({ description, schema: ErrorBodySchema });
const ERRORS = {
  400: error('MICHI_ERR_BAD_REQUEST: a query parameter is invalid; the message names it and what was expected.'),
  401: error('MICHI_ERR_UNAUTHENTICATED: no token, or a token that matches none.'),
  403: error("MICHI_ERR_FORBIDDEN: the pilot is not among the token's pilots, or the route is for operators only."),
  404: error('MICHI_ERR_UNKNOWN_SOURCE: no such pilot.'),
  422: error('MICHI_ERR_TOO_LARGE: more rows than api.limits.maxRows; ask for a shorter range or a coarser resolution.'),
  429: {
    ...error('MICHI_ERR_RATE_LIMITED: over the request rate of the token (or address), or too many history queries at once (api.limits).'),
    headers: { 'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer', minimum: 1 } } },
  },
  500: error('MICHI_ERR_INTERNAL: a fault of the cloud; the message names the request id to look up in its log.'),
  503: error('MICHI_ERR_STORAGE: InfluxDB did not answer.'),
  504: error('MICHI_ERR_TIMEOUT: the query took longer than api.limits.queryTimeoutMs and was abandoned.'),
} satisfies Record<number, ApiResponseSpec>;
type ErrorStatus = keyof typeof ERRORS;
const errors = (...statuses: ErrorStatus[]): Record<number, ApiResponseSpec> => Object.fromEntries(statuses.map((s) => [s, ERRORS[s]]));

const ok = (schema: z.ZodType, description = 'OK'): Record<number, ApiResponseSpec> => ({ 200: { description, schema } });
/** A route that needs a token: refused without one (401), over the rate (429). */
const AUTHENTICATED: ErrorStatus[] = [401, 429, 500];
/** …of one pilot: 403 outside the token's pilots, 404 for no such pilot. */
const PILOT: ErrorStatus[] = [...AUTHENTICATED, 403, 404];
/** …reading InfluxDB over a time range behind the query gate (api.limits). */
const HISTORY: ErrorStatus[] = [...PILOT, 400, 422, 503, 504];

const history = (
  name: string,
  operationId: string,
  summary: string,
  description: string,
  querystring: z.ZodObject,
  schema: z.ZodType,
): ApiRouteContract => ({
  operationId,
  method: 'GET',
  url: `/api/v1/pilots/:pilot/${name}`,
  summary,
  description,
  tags: ['history'],
  params: PilotPathSchema,
  querystring,
  responses: { ...ok(schema), ...errors(...HISTORY) },
});

const ALARMS_FOR_OPERATORS =
  'alarms are for operators; a viewer may read only the count (GET /api/v1/pilots/{pilot}/alarms/count), and only when the pilot opted in (alarms.viewerCount)';

/** POST /pilots/:pilot/alarms/:alarm/<action>: an operator's action on an open alarm. */
function alarmAction(
  action: 'acknowledge' | 'clear',
  operationId: string,
  summary: string,
  description: string,
  body: z.ZodObject,
): ApiRouteContract {
  return {
    operationId,
    method: 'POST',
    url: `/api/v1/pilots/:pilot/alarms/:alarm/${action}`,
    summary,
    description,
    tags: ['alarms'],
    operatorOnly: ALARMS_FOR_OPERATORS,
    params: AlarmPathSchema,
    body,
    responses: {
      ...ok(AlarmResponseSchema, `The alarm after the ${action === 'acknowledge' ? 'acknowledgement' : 'clear'}.`),
      ...errors(...PILOT),
      400: error('MICHI_ERR_BAD_REQUEST: the body is not JSON of the documented shape (e.g. no comment); the message names the field.'),
      404: error('MICHI_ERR_UNKNOWN_SOURCE: no such pilot; MICHI_ERR_NOT_FOUND: no such alarm in this pilot.'),
      409: error('MICHI_ERR_ALARM_CLEARED: the alarm is already cleared.'),
    },
  };
}

export const API_ROUTES = {
  health: {
    operationId: 'getHealth',
    method: 'GET',
    url: '/api/v1/health',
    summary: 'Health',
    description: 'Whether the cloud answers and InfluxDB answers its /ping. No token needed.',
    tags: ['meta'],
    public: true,
    responses: {
      200: { description: 'InfluxDB answers /ping.', schema: HealthResponseSchema },
      503: { description: 'InfluxDB does not answer.', schema: HealthResponseSchema },
    },
  },
  openapi: {
    operationId: 'getOpenApiDocument',
    method: 'GET',
    url: '/api/v1/openapi.json',
    summary: 'This document',
    description: 'The OpenAPI 3.1 document of /api/v1, generated from the routes the cloud registered. No token needed.',
    tags: ['meta'],
    public: true,
    responses: ok(z.record(z.string(), z.unknown()).meta({ description: 'An OpenAPI 3.1 document.' })),
  },
  me: {
    operationId: 'getMe',
    method: 'GET',
    url: '/api/v1/me',
    summary: 'The caller',
    description: "The token's id, role and pilots.",
    tags: ['pilots'],
    responses: { ...ok(MeResponseSchema), ...errors(...AUTHENTICATED) },
  },
  pilots: {
    operationId: 'listPilots',
    method: 'GET',
    url: '/api/v1/pilots',
    summary: 'Pilots',
    description: 'The pilots the token may read, with counts.',
    tags: ['pilots'],
    responses: { ...ok(PilotsResponseSchema), ...errors(...AUTHENTICATED) },
  },
  pilot: {
    operationId: 'getPilot',
    method: 'GET',
    url: '/api/v1/pilots/:pilot',
    summary: 'Pilot definition',
    description:
      'Routes, stops, geofences, cell sites, vehicles, sensors, privacy (seeds/*.json). Viewers: no gateways, and aliased ids when the pilot hides ids.',
    tags: ['pilots'],
    params: PilotPathSchema,
    responses: { ...ok(PilotDetailSchema), ...errors(...PILOT) },
  },
  vehicles: {
    operationId: 'listVehicles',
    method: 'GET',
    url: '/api/v1/pilots/:pilot/vehicles',
    summary: 'Vehicles with their latest state',
    description:
      'Viewers: positions as of now − publicPositionDelayS, snapped to publicCoarsenM metres, aliased ids when publicHideIds; with a grid, the state as of the last multiple of P = ⌈publicCoarsenM / 15⌉ s (ts_ms = that multiple), speed_mps banded (0, 2.78, 8.33), heading_deg, seq and recv_ms null, battery_pct in 5 % steps.',
    tags: ['vehicles'],
    params: PilotPathSchema,
    // A viewer's delayed states are read from InfluxDB.
    responses: { ...ok(VehiclesResponseSchema), ...errors(...PILOT, 503) },
  },
  sensors: {
    operationId: 'listSensors',
    method: 'GET',
    url: '/api/v1/pilots/:pilot/sensors',
    summary: 'Roadside sensors with their latest reading',
    description: "Counts and measures of each sensor's last reading, or null.",
    tags: ['vehicles'],
    params: PilotPathSchema,
    responses: { ...ok(SensorsResponseSchema), ...errors(...PILOT, 503) },
  },
  tracks: history(
    'tracks',
    'listTracks',
    'Vehicle tracks over a time range',
    'Every point when a track has at most maxPoints, else the first reading of each GROUP BY time(⌈(to − from) / (maxPoints − 1)⌉ ms) bucket, with the bucket start as ts_ms. Viewers of a pilot with publicCoarsenM: one point per P = ⌈publicCoarsenM / 15⌉ s, the last reading before each multiple of P (ts_ms = that multiple), coarsened, speed banded, heading null.',
    QueryParams.series,
    TracksResponseSchema,
  ),
  links: history(
    'links',
    'listLinks',
    '5G link history of the vehicles over a time range',
    'RSRP, SINR and RTT of the link samples, downsampled like the tracks. Viewers: aliased sources, nothing newer than now − delay.',
    QueryParams.series,
    LinksResponseSchema,
  ),
  events: history(
    'events',
    'listEvents',
    'Events over a time range, newest first',
    'Viewers: no detail text, coarsened positions, aliased sources, nothing newer than now − delay.',
    QueryParams.events,
    EventsResponseSchema,
  ),
  kpis: history('kpis', 'getKpis', 'KPIs over a time range', 'Definitions in docs/api.md.', QueryParams.kpis, KpisSchema),
  coverage: history(
    'coverage',
    'getCoverage',
    '5G coverage on an H3 grid',
    'Link samples with a position, binned into H3 cells; cell centre, sample count and means. Viewers: no finer than the coarsening grid.',
    QueryParams.coverage,
    CoverageResponseSchema,
  ),
  completeness: {
    ...history(
      'completeness',
      'getCompleteness',
      'Data completeness per source (operators only)',
      'From per-source sequence numbers over all kinds of reading; lag and backlog from the cloud receive time (recv_ms) of each reading.',
      QueryParams.range,
      CompletenessResponseSchema,
    ),
    operatorOnly: true,
  },
  report: {
    ...history(
      'report',
      'getReport',
      'The report of a range, day by day (a month by default)',
      "One row per local day of the pilot's time zone, the totals of the range and takeovers by cause, as JSON or as CSV (format=csv: UTF-8 with a BOM, an attachment) with headings in ja or en. Viewers: like the KPIs, nothing after now − the pilot's delay; the report names no vehicle. Columns in docs/reports.md.",
      ReportQuerySchema,
      ReportSchema,
    ),
    responses: {
      ...errors(...HISTORY),
      200: {
        description: 'The report: JSON, or with format=csv the CSV file.',
        schema: ReportSchema,
        otherMediaTypes: ['text/csv; charset=utf-8'],
        headers: {
          'Content-Disposition': {
            description: 'format=csv: attachment; filename="michi-report-<pilot>-<first day>-<last day>-<lang>.csv".',
            schema: { type: 'string' },
          },
        },
      },
    },
  },
  records: RECORDS_ROUTE,
  /** A WebSocket upgrade (cloud/src/live/); a plain GET gets 426. */
  live: {
    operationId: 'openLiveFeed',
    method: 'GET',
    url: '/api/v1/live',
    summary: 'Live feed (WebSocket)',
    description:
      'Upgrade to a WebSocket. Token: offer subprotocols ["michi.v1", "bearer.<token>"] (the server selects michi.v1 and never a bearer.* one: bearer.<token> without michi.v1 is refused with 400), or ?token=<token> (not recommended), or an Authorization header. A browser\'s Origin must be the API\'s own or one of api.allowedOrigins (else 403); at most api.maxLiveConnectionsPerToken connections per token (else 429). Messages (components.schemas LiveMessage): first a LiveSnapshot, then a LiveState per change at most hz times per second per vehicle; with batch=1, the changes due at one moment as one LiveStates. Viewers of a pilot with publicPositionDelayS: the snapshot is the state as of now − delay, and the states after it follow as each reading comes due.',
    tags: ['live'],
    querystring: QueryParams.live,
    responses: {
      // No HTTP body: the schema is that of each WebSocket text frame after the upgrade.
      101: { description: 'Switching protocols; then text frames, each one LiveMessage (JSON).', schema: LiveMessageSchema },
      400: ERRORS[400],
      401: ERRORS[401],
      403: error("MICHI_ERR_FORBIDDEN: the pilot is not among the token's pilots, or the page's Origin is not allowed."),
      404: ERRORS[404],
      426: error('MICHI_ERR_BAD_REQUEST: a plain GET, without a WebSocket upgrade.'),
      429: error('MICHI_ERR_RATE_LIMITED: the token already holds api.maxLiveConnectionsPerToken live connections.'),
    },
  },
  alarms: {
    operationId: 'listOpenAlarms',
    method: 'GET',
    url: '/api/v1/pilots/:pilot/alarms',
    summary: 'Open alarms (operators only)',
    description:
      'Active and acknowledged alarms of the pilot, most severe first, oldest first within a severity. Changes arrive on the live feed as `alarm` messages.',
    tags: ['alarms'],
    operatorOnly: ALARMS_FOR_OPERATORS,
    params: PilotPathSchema,
    responses: { ...ok(AlarmsResponseSchema), ...errors(...PILOT) },
  },
  alarmHistory: {
    operationId: 'listAlarmHistory',
    method: 'GET',
    url: '/api/v1/pilots/:pilot/alarms/history',
    summary: 'Alarm history (operators only)',
    description:
      'Each alarm that changed in the range (cloud time), as it was after its last change in it, most recently changed first; filters apply to that state.',
    tags: ['alarms'],
    operatorOnly: ALARMS_FOR_OPERATORS,
    params: PilotPathSchema,
    querystring: QueryParams.alarmHistory,
    responses: { ...ok(AlarmsResponseSchema), ...errors(...PILOT, 400) },
  },
  alarmCount: {
    operationId: 'getAlarmCount',
    method: 'GET',
    url: '/api/v1/pilots/:pilot/alarms/count',
    summary: 'Open alarms by severity',
    description: 'Operators always; viewers only when the pilot opted in (alarms.viewerCount in its seed, alarmViewerCount in its detail).',
    tags: ['alarms'],
    params: PilotPathSchema,
    responses: {
      ...ok(AlarmCountSchema),
      ...errors(...PILOT),
      403: error(
        "MICHI_ERR_FORBIDDEN: the pilot is not among the token's pilots, or a viewer asked for the count of a pilot that did not opt in (alarms.viewerCount).",
      ),
    },
  },
  acknowledgeAlarm: alarmAction(
    'acknowledge',
    'acknowledgeAlarm',
    'Acknowledge an alarm (operators only)',
    'An active alarm becomes acknowledged (an acknowledged one stays as it is); it stays open while its condition holds. The comment is kept with the alarm; the audit log names the alarm and the action.',
    AcknowledgeAlarmBodySchema,
  ),
  clearAlarm: alarmAction(
    'clear',
    'clearAlarm',
    'Clear an alarm (operators only)',
    'Closes an open alarm, e.g. one raised by an event; if its condition still holds, the next reading raises a new one. The audit log names the alarm, the action and the comment.',
    ClearAlarmBodySchema,
  ),
  incidentBundle: {
    operationId: 'createIncidentBundle',
    method: 'POST',
    url: '/api/v1/pilots/:pilot/incident-bundles',
    summary: 'Incident bundle of one vehicle (operators only)',
    description: `A tar archive of one vehicle over a window of at most ${MAX_BUNDLE_WINDOW_MIN} min: readings, link samples and events as CSV, alarm changes, record entries with their chain proof, an MCAP recording, a manifest with the SHA-256 of every file (docs/incident-bundles.md). The audit log names the vehicle and the window.`,
    tags: ['records'],
    operatorOnly: 'incident bundles hold unfiltered positions and free text',
    params: PilotPathSchema,
    body: IncidentBundleBodySchema,
    responses: {
      200: {
        description: 'The archive (Content-Disposition names its file).',
        contentType: INCIDENT_BUNDLE_CONTENT_TYPE,
        headers: {
          'Content-Disposition': { description: 'attachment; filename="incident-<vehicle>-<from>.tar"', schema: { type: 'string' } },
        },
      },
      ...errors(...PILOT, 503, 504),
      400: error(
        `MICHI_ERR_BAD_REQUEST: the body is not {vehicle, from, to}, the vehicle is none of the pilot's, or the window is empty or longer than ${MAX_BUNDLE_WINDOW_MIN} min; the message says which.`,
      ),
    },
  },
} as const satisfies Record<string, ApiRouteContract>;

/** The same feed with the pilot in the path (GET /api/v1/pilots/{pilot}/live), so the two never describe different feeds. */
export const LIVE_PILOT_ROUTE: ApiRouteContract = {
  ...API_ROUTES.live,
  operationId: 'openPilotLiveFeed',
  url: '/api/v1/pilots/:pilot/live',
  summary: 'Live feed of one pilot (WebSocket)',
  params: PilotPathSchema,
  querystring: QueryParams.live.omit({ pilot: true }),
};
