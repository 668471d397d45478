/**
 * The OpenAPI 3.1 document of /api/v1, written by hand from the same constants the routes use
 * (a test checks that every registered route is in it). docs/api.md says the same in prose.
 */
import { BACKLOG_AGE_MS, RECENT_MS } from '../queries/completeness-query.js';
import { EVENT_TYPES, MAX_RANGE_MS, SEVERITIES } from './params.js';

type Schema = Record<string, unknown>;

const num = { type: 'number' };
const int = { type: 'integer' };
const str = { type: 'string' };
const nullable = (s: Schema): Schema => ({ oneOf: [s, { type: 'null' }] });
const obj = (properties: Record<string, Schema>, required = Object.keys(properties)): Schema => ({
  type: 'object',
  properties,
  required,
});
const arr = (items: Schema): Schema => ({ type: 'array', items });
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

const query = (name: string, description: string, schema: Schema, required = false): Schema => ({
  name,
  in: 'query',
  required,
  description,
  schema,
});
const pilotParam = { name: 'pilot', in: 'path', required: true, description: 'Pilot id, e.g. maebashi-l4-bus.', schema: str };
const fromTo = [
  query('from', 'Start of the range, ms since the epoch (inclusive). Default: `to` − 1 hour.', int),
  query(
    'to',
    `End of the range, ms since the epoch (inclusive). Default: now. At most ${MAX_RANGE_MS / 86_400_000} days after \`from\`.`,
    int,
  ),
];

const errorResponse = (description: string): Schema => ({
  description,
  content: { 'application/json': { schema: ref('Error') } },
});
const standardErrors = {
  '400': errorResponse('MICHI_ERR_BAD_REQUEST: a query parameter is invalid; the message names it and what was expected.'),
  '401': errorResponse('MICHI_ERR_UNAUTHENTICATED: no token, or a token that matches none.'),
  '403': errorResponse("MICHI_ERR_FORBIDDEN: the pilot is not among the token's pilots, or the endpoint is for operators only."),
  '404': errorResponse('MICHI_ERR_UNKNOWN_SOURCE: no such pilot.'),
  '429': {
    ...errorResponse(
      'MICHI_ERR_RATE_LIMITED: over the request rate of the token (or address), or too many history queries at once (api.limits).',
    ),
    headers: { 'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer', minimum: 1 } } },
  },
  '503': errorResponse('MICHI_ERR_STORAGE: InfluxDB did not answer.'),
};

/** The history routes: behind the query gate, with a deadline and a row cap (api.limits, docs/api.md "Limits"). */
const HISTORY_ROUTES = ['tracks', 'links', 'events', 'kpis', 'coverage', 'completeness'];
const historyErrors = {
  '422': errorResponse('MICHI_ERR_TOO_LARGE: more rows than api.limits.maxRows; ask for a shorter range or a coarser resolution.'),
  '504': errorResponse('MICHI_ERR_TIMEOUT: the query took longer than api.limits.queryTimeoutMs and was abandoned.'),
};

function get(summary: string, description: string, response: Schema, parameters: Schema[] = [], extra: Schema = {}): Schema {
  return {
    get: {
      summary,
      description,
      parameters,
      responses: { '200': { description: 'OK', content: { 'application/json': { schema: response } } }, ...standardErrors },
      ...extra,
    },
  };
}

const p50p95 = obj({ p50: nullable(num), p95: nullable(num) });
const p5p50p95 = obj({ p5: nullable(num), p50: nullable(num), p95: nullable(num) });
const byCause: Schema = {
  type: 'object',
  additionalProperties: int,
  description: 'Events counted by cause (EventCause without its prefix; UNSPECIFIED when missing); causes with no event are absent.',
};
const per100kmByCause: Schema = nullable({
  type: 'object',
  additionalProperties: num,
  description: "Each cause's count (the matching …_by_cause) / distance_km × 100; null for no distance.",
});

const schemas: Record<string, Schema> = {
  Error: obj({ error: obj({ code: { type: 'string', pattern: '^MICHI_ERR_' }, message: str }) }),
  Name: obj({ ja: str, en: str }),
  VehicleStateView: nullable(
    obj({
      ts_ms: int,
      recv_ms: nullable(int),
      seq: nullable(int),
      lat: nullable(num),
      lon: nullable(num),
      speed_mps: nullable(num),
      heading_deg: nullable(num),
      mode: nullable({ type: 'string', description: 'AutonomyMode without its prefix, e.g. AUTONOMOUS.' }),
      battery_pct: nullable(num),
      link: ref('LinkSampleView'),
    }),
  ),
  LinkSampleView: nullable(
    obj({
      ts_ms: int,
      cell: nullable({ type: 'string', description: "The serving cell's NR cell identity." }),
      pci: nullable(int),
      band: nullable({ type: 'string', description: 'NR band, e.g. n79.' }),
      rsrp_dbm: nullable({ type: 'number', description: 'null when the sample had no RSRP.' }),
      sinr_db: nullable(num),
      rtt_ms: nullable(num),
    }),
  ),
  Vehicle: obj({ id: str, kind: str, name: ref('Name'), routeId: str, state: ref('VehicleStateView') }),
};

export function openApiDocument(): Schema {
  const document: Schema = {
    openapi: '3.1.0',
    info: {
      title: 'michi cloud API',
      version: '1',
      description:
        'Pilots, vehicles, tracks, events, KPIs, 5G coverage and data completeness of michi pilots. Every endpoint except health and this document needs `Authorization: Bearer <token>`. See docs/api.md.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A token from the cloud configuration (auth.tokens).' } },
      schemas,
    },
    paths: {
      '/api/v1/health': {
        get: {
          summary: 'Health',
          security: [],
          responses: {
            '200': {
              description: 'InfluxDB answers /ping',
              content: { 'application/json': { schema: obj({ status: str, influx: str }) } },
            },
            '503': { description: 'InfluxDB does not answer' },
          },
        },
      },
      '/api/v1/openapi.json': { get: { summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI 3.1' } } } },
      '/api/v1/me': get(
        'The caller',
        "The token's id, role and pilots.",
        obj({ id: str, role: { enum: ['operator', 'viewer'] }, pilots: arr(str) }),
      ),
      '/api/v1/pilots': get(
        'Pilots',
        'The pilots the token may read, with counts.',
        obj({
          pilots: arr(
            obj({
              id: str,
              name: ref('Name'),
              municipality: { type: 'object' },
              counts: obj({ vehicles: int, sensors: int, cellSites: int }),
            }),
          ),
        }),
      ),
      '/api/v1/pilots/{pilot}': get(
        'Pilot definition',
        'Routes, stops, geofences, cell sites, vehicles, sensors, privacy (seeds/*.json). Viewers: no gateways, and aliased ids when the pilot hides ids.',
        { type: 'object' },
        [pilotParam],
      ),
      '/api/v1/pilots/{pilot}/vehicles': get(
        'Vehicles with their latest state',
        'Viewers: positions as of now − publicPositionDelayS, snapped to publicCoarsenM metres, aliased ids when publicHideIds; with a grid, the state as of the last multiple of P = ⌈publicCoarsenM / 15⌉ s (ts_ms = that multiple), speed_mps banded (0, 2.78, 8.33), heading_deg, seq and recv_ms null, battery_pct in 5 % steps.',
        obj({ pilot: str, now_ms: int, vehicles: arr(ref('Vehicle')) }),
        [pilotParam],
      ),
      '/api/v1/pilots/{pilot}/sensors': get(
        'Roadside sensors with their latest reading',
        "Counts and measures of each sensor's last reading, or null.",
        obj({
          sensors: arr(
            obj({
              id: str,
              kind: str,
              name: ref('Name'),
              position: arr(num),
              latest: nullable(
                obj({
                  ts_ms: int,
                  counts: { type: 'object', additionalProperties: int },
                  measures: { type: 'object', additionalProperties: num },
                }),
              ),
            }),
          ),
        }),
        [pilotParam],
      ),
      '/api/v1/pilots/{pilot}/tracks': get(
        'Vehicle tracks over a time range',
        'Every point when a track has at most maxPoints, else the first reading of each GROUP BY time(⌈(to − from) / (maxPoints − 1)⌉ ms) bucket, with the bucket start as ts_ms. Viewers of a pilot with publicCoarsenM: one point per P = ⌈publicCoarsenM / 15⌉ s, the last reading before each multiple of P (ts_ms = that multiple), coarsened, speed banded, heading null.',
        obj({
          from: int,
          to: int,
          tracks: arr(
            obj({
              source: str,
              points: arr(
                obj({ ts_ms: int, lat: num, lon: num, speed_mps: nullable(num), heading_deg: nullable(num), mode: nullable(str) }),
              ),
            }),
          ),
        }),
        [
          pilotParam,
          ...fromTo,
          query('maxPoints', 'Most points per track, 2…20000.', { type: 'integer', minimum: 2, maximum: 20_000, default: 2_000 }),
          query('source', 'Comma-separated vehicle ids (aliases for viewers when ids are hidden).', str),
        ],
      ),
      '/api/v1/pilots/{pilot}/links': get(
        '5G link history of the vehicles over a time range',
        'RSRP, SINR and RTT of the link samples, downsampled like the tracks: every sample when a vehicle has at most maxPoints, else the first sample of each GROUP BY time bucket, with the bucket start as ts_ms. Viewers: aliased sources, nothing newer than now − delay.',
        obj({
          from: int,
          to: int,
          links: arr(
            obj({
              source: str,
              points: arr(obj({ ts_ms: int, rsrp_dbm: nullable(num), sinr_db: nullable(num), rtt_ms: nullable(num) })),
            }),
          ),
        }),
        [
          pilotParam,
          ...fromTo,
          query('maxPoints', 'Most points per vehicle, 2…20000.', { type: 'integer', minimum: 2, maximum: 20_000, default: 2_000 }),
          query('source', 'Comma-separated vehicle ids (aliases for viewers when ids are hidden).', str),
        ],
      ),
      '/api/v1/pilots/{pilot}/events': get(
        'Events over a time range, newest first',
        'Viewers: no detail text, coarsened positions, aliased sources, nothing newer than now − delay.',
        obj({
          events: arr(
            obj({
              ts_ms: int,
              source: str,
              type: nullable({ enum: EVENT_TYPES }),
              cause: nullable(str),
              severity: nullable({ enum: ['UNSPECIFIED', ...SEVERITIES] }),
              lat: nullable(num),
              lon: nullable(num),
              detail: nullable(str),
              duration_ms: nullable(int),
              geofence_id: nullable(str),
            }),
          ),
        }),
        [
          pilotParam,
          ...fromTo,
          query('type', `Comma-separated event types: ${EVENT_TYPES.join(', ')}.`, str),
          query('source', 'Comma-separated source ids.', str),
          query('severity', `Comma-separated severities: ${SEVERITIES.join(', ')}.`, str),
          query('limit', 'Most events, 1…10000.', { type: 'integer', minimum: 1, maximum: 10_000, default: 500 }),
        ],
      ),
      '/api/v1/pilots/{pilot}/kpis': get(
        'KPIs over a time range',
        'Definitions in docs/api.md.',
        obj({
          from: int,
          to: int,
          distance_km: num,
          autonomous_distance_km: num,
          autonomous_share: nullable(num),
          takeovers: int,
          takeovers_per_100km: nullable(num),
          takeovers_by_cause: byCause,
          takeovers_per_100km_by_cause: per100kmByCause,
          disengagements: int,
          disengagements_per_100km: nullable(num),
          disengagements_by_cause: byCause,
          disengagements_per_100km_by_cause: per100kmByCause,
          emergency_stops: int,
          speed_mean_kmh: nullable(num),
          speed_p95_kmh: nullable(num),
          availability: nullable(num),
          link: obj({ rsrp_dbm: p5p50p95, sinr_db: p5p50p95, rtt_ms: p50p95 }),
          latency_ms: p50p95,
        }),
        [pilotParam, ...fromTo],
      ),
      '/api/v1/pilots/{pilot}/coverage': get(
        '5G coverage on an H3 grid',
        'Link samples with a position, binned into H3 cells; cell centre, sample count and means.',
        obj({
          resolution: int,
          cells: arr(
            obj({
              h3: str,
              lat: num,
              lon: num,
              samples: int,
              rsrp_dbm_mean: nullable(num),
              sinr_db_mean: nullable(num),
              rtt_ms_mean: nullable(num),
            }),
          ),
        }),
        [pilotParam, ...fromTo, query('res', 'H3 resolution, 0…15.', { type: 'integer', minimum: 0, maximum: 15, default: 9 })],
      ),
      '/api/v1/pilots/{pilot}/completeness': get(
        'Data completeness per source (operators only)',
        'From per-source sequence numbers over all kinds of reading; lag and backlog from the cloud receive time (recv_ms) of each reading.',
        obj({
          from: int,
          to: int,
          sources: arr(
            obj({
              source: str,
              kind: { enum: ['vehicle', 'sensor'] },
              received: int,
              first_seq: nullable(int),
              last_seq: nullable(int),
              expected: int,
              missing: int,
              gaps: arr(obj({ from_seq: int, to_seq: int })),
              last_ts_ms: nullable(int),
              last_recv_ms: nullable(int),
              lag_ms: nullable({
                type: 'integer',
                description: 'recv_ms − source timestamp of the newest reading (the one at last_ts_ms).',
              }),
              backlog_last_minute: {
                type: 'integer',
                description: `Readings of the range received in the last ${RECENT_MS / 1000} s that were taken at least ${BACKLOG_AGE_MS / 1000} s before the request.`,
              },
              draining: { type: 'boolean', description: 'backlog_last_minute > 0: a backlog is still arriving from an edge buffer.' },
            }),
          ),
        }),
        [pilotParam, ...fromTo],
      ),
      '/api/v1/live': {
        get: {
          summary: 'Live feed (WebSocket)',
          description:
            'Upgrade to a WebSocket. Token: offer subprotocols ["michi.v1", "bearer.<token>"] (the server selects michi.v1 and never a bearer.* one: bearer.<token> without michi.v1 is refused with 400), or ?token=<token> (not recommended), or an Authorization header. A browser\'s Origin must be the API\'s own or one of api.allowedOrigins (else 403); at most api.maxLiveConnectionsPerToken connections per token (else 429). First message {type:"snapshot", now_ms, vehicles}, then {type:"state", vehicle:{id, state}} at most hz times per second per vehicle; with batch=1, the changes due at one moment as one {type:"states", vehicles:[{id, state}, …]} (at most 250). Viewers of a pilot with publicPositionDelayS: the snapshot is the state as of now − delay, and the states after it follow at once as each reading comes due, never one newer than now − delay.',
          parameters: [
            query('pilot', 'Pilot id.', str, true),
            query('hz', 'Updates per second per vehicle, 0.1…10.', { type: 'number', minimum: 0.1, maximum: 10, default: 1 }),
            query('batch', '1: changes of one moment in one states message.', { type: 'integer', enum: [0, 1], default: 0 }),
            query('token', 'The bearer token, for clients that cannot send headers or subprotocols.', str),
          ],
          responses: {
            '101': { description: 'Switching protocols' },
            ...standardErrors,
            '403': errorResponse("MICHI_ERR_FORBIDDEN: the pilot is not among the token's pilots, or the page's Origin is not allowed."),
            '429': errorResponse('MICHI_ERR_RATE_LIMITED: the token already holds api.maxLiveConnectionsPerToken live connections.'),
          },
        },
      },
    },
  };
  const paths = document['paths'] as Record<string, { get: { responses: Schema } }>;
  for (const route of HISTORY_ROUTES) Object.assign(paths[`/api/v1/pilots/{pilot}/${route}`]!.get.responses, historyErrors);
  return document;
}
