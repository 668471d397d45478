/**
 * GET /api/v1/pilots/{pilot}/records: entries of the operating-state record (作動状態記録) with
 * their hashes, so an operator can hand them over and a third party can check them against the
 * chain (docs/records.md defines the entry, its canonical form and the hash).
 */
import { z } from 'zod';
import { ErrorBodySchema, PilotPathSchema, epochMsSchema } from './common.js';
import { MAX_EPOCH_MS } from './query-params.js';
import type { ApiRouteContract } from './routes.js';

export const RECORD_ENTRY_KINDS = [
  'mode-change',
  'takeover',
  'disengagement',
  'emergency-stop',
  'remote-intervention',
  'retention',
] as const;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

export const RecordEntrySchema = z
  .object({
    v: z.int().meta({ description: 'Format version (1).' }),
    pilot: z.string(),
    vehicle: z.string(),
    n: z.int().min(0).meta({ description: "Position in the vehicle's chain, from 0." }),
    kind: z.enum(RECORD_ENTRY_KINDS),
    sourceTsMs: epochMsSchema.meta({ description: 'Source time of the reading (retention: cloud time it ran).' }),
    recvMs: epochMsSchema.meta({ description: 'Cloud time the reading was received.' }),
    gateway: z.string().nullable(),
    reading: z.object({ kind: z.enum(['state', 'event']), seq: z.string() }).nullable(),
    position: z
      .object({ latE7: z.int(), lonE7: z.int(), from: z.enum(['reading', 'latest-state']) })
      .nullable()
      .meta({ description: 'Degrees × 10^7; from the reading itself or the vehicle’s newest state.' }),
    late: z.boolean().meta({ description: 'Received after a reading of the vehicle with a later source time.' }),
    data: z.record(z.string(), z.union([z.string(), z.int(), z.null()])).meta({ description: 'Per kind; docs/records.md.' }),
    prevHash: hex64,
  })
  .meta({ id: 'RecordEntry' });
export type RecordEntryBody = z.infer<typeof RecordEntrySchema>;

export const RecordsResponseSchema = z
  .object({
    pilot: z.string(),
    from: epochMsSchema,
    to: epochMsSchema,
    entries: z.array(
      z.object({
        hash: hex64.meta({ description: 'SHA-256 of the canonical form of `entry`, hex.' }),
        entry: RecordEntrySchema,
      }),
    ),
    truncated: z.boolean().meta({ description: 'More entries matched than `limit`.' }),
  })
  .meta({ id: 'Records' });
export type RecordsResponse = z.infer<typeof RecordsResponseSchema>;

const epochMs = (name: string, description: string) =>
  z
    .string()
    .regex(/^\d{1,16}$/, `expected ${name} as ms since the epoch (a non-negative integer)`)
    .transform(Number)
    .refine((n) => n <= MAX_EPOCH_MS, `expected ${name} as ms since the epoch, at most ${MAX_EPOCH_MS}`)
    .optional()
    .meta({ description });

export const RecordsQuerySchema = z.object({
  vehicle: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected a vehicle id')
    .optional()
    .meta({ description: 'One vehicle; default: every vehicle of the pilot.' }),
  from: epochMs('from', 'Start of the range of source times, ms since the epoch (inclusive). Default: `to` − 1 hour.'),
  to: epochMs('to', 'End of the range of source times (inclusive). Default: now. At most 31 days after `from`.'),
  limit: z
    .string()
    .regex(/^\d{1,5}$/, 'expected an integer from 1 to 10000')
    .transform(Number)
    .refine((n) => n >= 1 && n <= 10_000, 'expected an integer from 1 to 10000')
    .optional()
    .transform((n) => n ?? 1_000)
    .meta({ description: 'Most entries, 1…10000; default 1000.' }),
});

const error = (description: string) => ({ description, schema: ErrorBodySchema });

export const RECORDS_ROUTE = {
  operationId: 'listRecords',
  method: 'GET',
  url: '/api/v1/pilots/:pilot/records',
  summary: 'Operating-state record entries (operators only)',
  description:
    'Entries of the operating-state record (mode changes, takeovers, disengagements, emergency stops, remote interventions, retention checkpoints) whose source time is in the range, per vehicle in chain order, each with its SHA-256. Verify a whole record with `michi-cloud verify-records`.',
  tags: ['records'],
  params: PilotPathSchema,
  querystring: RecordsQuerySchema,
  operatorOnly: true,
  responses: {
    200: { description: 'OK', schema: RecordsResponseSchema },
    400: error('MICHI_ERR_BAD_REQUEST: a query parameter is invalid, or the vehicle is not one of the pilot’s.'),
    401: error('MICHI_ERR_UNAUTHENTICATED: no token, or a token that matches none.'),
    403: error("MICHI_ERR_FORBIDDEN: the pilot is not among the token's pilots, or the token is a viewer's."),
    404: error('MICHI_ERR_UNKNOWN_SOURCE: no such pilot.'),
    429: {
      ...error('MICHI_ERR_RATE_LIMITED: over the request rate of the token (or address).'),
      headers: { 'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer', minimum: 1 } } },
    },
    500: error('MICHI_ERR_INTERNAL: a fault of the cloud; the message names the request id to look up in its log.'),
    503: error('MICHI_ERR_STORAGE: the record is disabled on this cloud (records.enabled: false).'),
  },
} as const satisfies ApiRouteContract;
