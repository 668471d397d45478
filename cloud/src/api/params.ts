/**
 * Query parameters of the API (their zod schemas are in @michi/proto, QueryParams): each failure
 * is a 400 MICHI_ERR_BAD_REQUEST naming the parameter and what was expected. Without `to` the
 * range ends now, without `from` it starts one hour before `to`.
 */
import { type z } from 'zod';
import { ErrorCodes, HOUR_MS, MAX_RANGE_MS } from '@michi/proto';
import { ApiError } from '../errors.js';

export { HOUR_MS, MAX_RANGE_MS, MAX_KPI_RANGE_MS, MAX_EPOCH_MS, EVENT_TYPES, SEVERITIES, QueryParams as Params } from '@michi/proto';

/** Validates a query object; throws ApiError 400 naming the first bad parameter. */
export function parseQuery<T extends z.ZodType>(schema: T, query: unknown): z.output<T> {
  const result = schema.safeParse(query ?? {});
  if (result.success) return result.data;
  throw queryError(result.error, query);
}

/**
 * The 400 of a failed parse: names the first bad parameter, what was expected and what came (never
 * a token; never a body's value, which may be long free text).
 */
export function queryError(error: z.ZodError, query: unknown, part: 'query' | 'path' | 'body' = 'query'): ApiError {
  const issue = error.issues[0]!;
  const param = issue.path.map(String).join('.') || `(${part})`;
  const got = param === 'token' || part === 'body' ? undefined : (query as Record<string, unknown> | undefined)?.[param];
  return new ApiError(
    400,
    ErrorCodes.BAD_REQUEST,
    `${part === 'body' ? 'body field' : `${part} parameter`} "${param}": ${issue.message}${got === undefined ? '' : `, got ${JSON.stringify(got)}`}`,
  );
}

/** [from, to] with the defaults; 400 when from > to or the range is longer than `maxRange` (default MAX_RANGE_MS). */
export function timeRange(
  q: { from?: number | undefined; to?: number | undefined },
  now: number,
  maxRange = MAX_RANGE_MS,
): { from: number; to: number } {
  const to = q.to ?? now;
  const from = q.from ?? to - HOUR_MS;
  if (from > to) throw new ApiError(400, ErrorCodes.BAD_REQUEST, `query parameter "from": expected at most "to" (${to}), got ${from}`);
  if (to - from > maxRange) {
    throw new ApiError(
      400,
      ErrorCodes.BAD_REQUEST,
      `query parameter "from": expected a range of at most ${maxRange / 86_400_000} days, got ${((to - from) / 86_400_000).toFixed(1)} days`,
    );
  }
  return { from, to };
}
