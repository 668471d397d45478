/**
 * Query parameters of the API, validated with zod: each failure is a 400 MICHI_ERR_BAD_REQUEST
 * naming the parameter and what was expected. Times are ms since the epoch; without `to` the
 * range ends now, without `from` it starts one hour before `to`.
 */
import { z } from 'zod';
import { ErrorCodes, v1 } from '@michi/proto';
import { ApiError } from '../errors.js';

export const HOUR_MS = 3_600_000;
/** The longest range a history query accepts. */
export const MAX_RANGE_MS = 31 * 24 * HOUR_MS;

function enumNames(values: Record<string, unknown>, prefix: string): string[] {
  return Object.keys(values)
    .filter((k) => Number.isNaN(Number(k)) && k.startsWith(prefix))
    .map((k) => k.slice(prefix.length))
    .filter((k) => k !== 'UNSPECIFIED');
}

export const EVENT_TYPES = enumNames(v1.EventType as unknown as Record<string, unknown>, 'EVENT_TYPE_');
export const SEVERITIES = enumNames(v1.Severity as unknown as Record<string, unknown>, 'SEVERITY_');

/**
 * The latest time InfluxDB can store: it keeps nanoseconds in a signed 64-bit integer, so
 * 2^63 - 1 ns, i.e. 9,223,372,036,854 ms (2262-04-11). A later `from` or `to` would reach
 * InfluxDB as a query it refuses and come back as a 503 storage error (pen-test finding 11b).
 */
export const MAX_EPOCH_MS = 9_223_372_036_854;

const epochMs = (name: string) =>
  z
    .string()
    .regex(/^\d{1,16}$/, `expected ${name} as ms since the epoch (a non-negative integer)`)
    .transform(Number)
    .refine(
      (n) => n <= MAX_EPOCH_MS,
      `expected ${name} as ms since the epoch, at most ${MAX_EPOCH_MS} (the latest time InfluxDB can store)`,
    )
    .optional();

const intIn = (min: number, max: number, def: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, `expected an integer from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `expected an integer from ${min} to ${max}`)
    .optional()
    .transform((n) => n ?? def);

const ID = /^[A-Za-z0-9_-]{1,64}$/;
/** A comma-separated list of ids, e.g. `bus-01,bus-02`. */
const idList = z
  .string()
  .optional()
  .transform((s) => (s ? s.split(',').filter(Boolean) : []))
  .refine((l) => l.every((id) => ID.test(id)), 'expected comma-separated ids of letters, digits, "_" or "-"');
const enumList = (allowed: readonly string[]) =>
  z
    .string()
    .optional()
    .transform((s) => (s ? s.split(',').filter(Boolean) : []))
    .refine((l) => l.every((v) => allowed.includes(v)), `expected comma-separated values of ${allowed.join(', ')}`);

const range = { from: epochMs('from'), to: epochMs('to') };

export const Params = {
  range: z.object(range),
  /** Per-vehicle series: tracks and link histories. */
  series: z.object({ ...range, maxPoints: intIn(2, 20_000, 2_000), source: idList }),
  events: z.object({ ...range, type: enumList(EVENT_TYPES), source: idList, severity: enumList(SEVERITIES), limit: intIn(1, 10_000, 500) }),
  coverage: z.object({ ...range, res: intIn(0, 15, 9) }),
  live: z.object({
    pilot: z.string({ error: 'expected a pilot id' }).regex(ID, 'expected a pilot id'),
    hz: z
      .string()
      .regex(/^\d+(\.\d+)?$/, 'expected updates per second per vehicle, from 0.1 to 10')
      .transform(Number)
      .refine((n) => n >= 0.1 && n <= 10, 'expected updates per second per vehicle, from 0.1 to 10')
      .optional()
      .transform((n) => n ?? 1),
    /** 1: the changes of one moment in one `states` message instead of a `state` message each. */
    batch: z
      .enum(['0', '1'], { error: 'expected batch=1 (changes gathered in `states` messages) or batch=0' })
      .optional()
      .transform((b) => b === '1'),
    /** Checked by the live feed itself; never echoed in an error. */
    token: z.unknown().optional(),
  }),
};

/** Validates a query object; throws ApiError 400 naming the first bad parameter. */
export function parseQuery<T extends z.ZodType>(schema: T, query: unknown): z.output<T> {
  const result = schema.safeParse(query ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const param = issue.path.map(String).join('.') || '(query)';
  const got = param === 'token' ? undefined : (query as Record<string, unknown> | undefined)?.[param];
  throw new ApiError(
    400,
    ErrorCodes.BAD_REQUEST,
    `query parameter "${param}": ${issue.message}${got === undefined ? '' : `, got ${JSON.stringify(got)}`}`,
  );
}

/** [from, to] with the defaults; 400 when from > to or the range is longer than MAX_RANGE_MS. */
export function timeRange(q: { from?: number | undefined; to?: number | undefined }, now: number): { from: number; to: number } {
  const to = q.to ?? now;
  const from = q.from ?? to - HOUR_MS;
  if (from > to) throw new ApiError(400, ErrorCodes.BAD_REQUEST, `query parameter "from": expected at most "to" (${to}), got ${from}`);
  if (to - from > MAX_RANGE_MS) {
    throw new ApiError(
      400,
      ErrorCodes.BAD_REQUEST,
      `query parameter "from": expected a range of at most 31 days, got ${((to - from) / 86_400_000).toFixed(1)} days`,
    );
  }
  return { from, to };
}
