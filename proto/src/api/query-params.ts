/**
 * The query parameters of /api/v1, as zod schemas over the strings a URL carries: each failure's
 * message names what was expected (the cloud answers it as a 400 naming the parameter). Times are
 * ms since the epoch; without `to` the range ends now, without `from` it starts one hour before `to`.
 * Their input side is what the OpenAPI document shows.
 */
import { z } from 'zod';
import { ALARM_RULES, ALARM_SEVERITIES, ALARM_STATES } from './alarms.js';

export const HOUR_MS = 3_600_000;
/** The longest range a history query accepts. */
export const MAX_RANGE_MS = 31 * 24 * HOUR_MS;
/** The longest range of KPIs: whole days and hours come from the rollups (docs/reports.md). */
export const MAX_KPI_RANGE_MS = 400 * 24 * HOUR_MS;

/** EventType and Severity of telemetry.proto without their prefix and UNSPECIFIED (query-params.test.ts compares them). */
export const EVENT_TYPES = [
  'TAKEOVER',
  'DISENGAGEMENT',
  'EMERGENCY_STOP',
  'REMOTE_INTERVENTION',
  'GEOFENCE_ENTER',
  'GEOFENCE_EXIT',
  'SENSOR_FAULT',
  'LINK_LOSS',
] as const;
export const SEVERITIES = ['INFO', 'WARNING', 'CRITICAL'] as const;

/**
 * The latest time InfluxDB can store: it keeps nanoseconds in a signed 64-bit integer, so
 * 2^63 - 1 ns, i.e. 9,223,372,036,854 ms (2262-04-11). A later `from` or `to` would reach
 * InfluxDB as a query it refuses and come back as a 503 storage error (pen-test finding 11b).
 */
export const MAX_EPOCH_MS = 9_223_372_036_854;

const epochMs = (name: string, description: string) =>
  z
    .string()
    .regex(/^\d{1,16}$/, `expected ${name} as ms since the epoch (a non-negative integer)`)
    .transform(Number)
    .refine(
      (n) => n <= MAX_EPOCH_MS,
      `expected ${name} as ms since the epoch, at most ${MAX_EPOCH_MS} (the latest time InfluxDB can store)`,
    )
    .optional()
    .meta({ description });

const intIn = (min: number, max: number, def: number, description: string) =>
  z
    .string()
    .regex(/^\d{1,9}$/, `expected an integer from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `expected an integer from ${min} to ${max}`)
    .optional()
    .transform((n) => n ?? def)
    .meta({ description: `${description}, ${min}…${max}; default ${def}.` });

const ID = /^[A-Za-z0-9_-]{1,64}$/;
/** A comma-separated list of ids, e.g. `bus-01,bus-02`. */
const idList = (description: string) =>
  z
    .string()
    .optional()
    .transform((s) => (s ? s.split(',').filter(Boolean) : []))
    .refine((l) => l.every((id) => ID.test(id)), 'expected comma-separated ids of letters, digits, "_" or "-"')
    .meta({ description });
const enumList = (allowed: readonly string[], description: string) =>
  z
    .string()
    .optional()
    .transform((s) => (s ? s.split(',').filter(Boolean) : []))
    .refine((l) => l.every((v) => allowed.includes(v)), `expected comma-separated values of ${allowed.join(', ')}`)
    .meta({ description: `${description}: ${allowed.join(', ')}.` });

const range = {
  from: epochMs('from', 'Start of the range, ms since the epoch (inclusive). Default: `to` − 1 hour.'),
  to: epochMs(
    'to',
    `End of the range, ms since the epoch (inclusive). Default: now. At most ${MAX_RANGE_MS / 86_400_000} days after \`from\`.`,
  ),
};

export const QueryParams = {
  range: z.object(range),
  kpis: z.object({
    from: range.from,
    to: epochMs(
      'to',
      `End of the range, ms since the epoch (inclusive). Default: now. At most ${MAX_KPI_RANGE_MS / 86_400_000} days after \`from\`.`,
    ),
  }),
  /** Per-vehicle series: tracks and link histories. */
  series: z.object({
    ...range,
    maxPoints: intIn(2, 20_000, 2_000, 'Most points per vehicle'),
    source: idList('Comma-separated vehicle ids (aliases for viewers when ids are hidden).'),
  }),
  events: z.object({
    ...range,
    type: enumList(EVENT_TYPES, 'Comma-separated event types'),
    source: idList('Comma-separated source ids (aliases for viewers when ids are hidden).'),
    severity: enumList(SEVERITIES, 'Comma-separated severities'),
    limit: intIn(1, 10_000, 500, 'Most events'),
  }),
  coverage: z.object({ ...range, res: intIn(0, 15, 9, 'H3 resolution') }),
  /** The range is of cloud time (when alarms changed), not of source time. */
  alarmHistory: z.object({
    ...range,
    source: z
      .string()
      .regex(ID, 'expected a source id')
      .optional()
      .meta({ description: 'Only alarms of this source (vehicle, sensor or gateway id).' }),
    rule: z
      .enum(ALARM_RULES, { error: `expected one of ${ALARM_RULES.join(', ')}` })
      .optional()
      .meta({ description: 'Only alarms of this rule.' }),
    severity: z
      .enum(ALARM_SEVERITIES, { error: `expected one of ${ALARM_SEVERITIES.join(', ')}` })
      .optional()
      .meta({ description: 'Only alarms of this severity.' }),
    state: z
      .enum(ALARM_STATES, { error: `expected one of ${ALARM_STATES.join(', ')}` })
      .optional()
      .meta({ description: 'Only alarms in this state after their last change in the range.' }),
    limit: intIn(1, 10_000, 500, 'Most alarms'),
  }),
  live: z.object({
    pilot: z.string({ error: 'expected a pilot id' }).regex(ID, 'expected a pilot id').meta({ description: 'Pilot id.' }),
    hz: z
      .string()
      .regex(/^\d+(\.\d+)?$/, 'expected updates per second per vehicle, from 0.1 to 10')
      .transform(Number)
      .refine((n) => n >= 0.1 && n <= 10, 'expected updates per second per vehicle, from 0.1 to 10')
      .optional()
      .transform((n) => n ?? 1)
      .meta({ description: 'Updates per second per vehicle, 0.1…10; default 1.' }),
    /** 1: the changes of one moment in one `states` message instead of a `state` message each. */
    batch: z
      .enum(['0', '1'], { error: 'expected batch=1 (changes gathered in `states` messages) or batch=0' })
      .optional()
      .transform((b) => b === '1')
      .meta({ description: '1: the changes of one moment in one `states` message; default 0.' }),
    /** Checked by the live feed itself; never echoed in an error. */
    // Anything a URL can carry: the live feed checks it itself.
    token: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .meta({
        description: 'The bearer token, for clients that can send neither headers nor subprotocols (not recommended: URLs get logged).',
      }),
  }),
};
