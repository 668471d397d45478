/**
 * The report a municipality files for a pilot (GET /api/v1/pilots/{pilot}/report): one row per local
 * day of the pilot's time zone, a totals row, and takeovers and disengagements by cause; as JSON
 * (this schema) or as CSV with the same columns. docs/reports.md defines each column.
 */
import { z } from 'zod';
import { epochMsSchema } from './common.js';
import { QueryParams } from './query-params.js';

export const REPORT_LANGS = ['ja', 'en'] as const;
export type ReportLang = (typeof REPORT_LANGS)[number];
export const REPORT_FORMATS = ['json', 'csv'] as const;

export const ReportQuerySchema = z.object({
  from: QueryParams.range.shape.from.meta({
    description:
      "Start of the range, ms since the epoch (inclusive). Default: the first day of last month, 00:00 in the pilot's time zone (with `to` alone: the start of the month of `to`).",
  }),
  to: QueryParams.range.shape.to.meta({
    description:
      'End of the range, ms since the epoch (inclusive). Default: the end of last month (with `from` alone: the end of the local month `from` falls in). At most 31 days after `from`.',
  }),
  lang: z
    .enum(REPORT_LANGS, { error: 'expected lang=ja or lang=en' })
    .optional()
    .transform((l) => l ?? 'ja')
    .meta({ description: 'Language of the column headings and cause names; default ja.' }),
  format: z
    .enum(REPORT_FORMATS, { error: 'expected format=json or format=csv' })
    .optional()
    .transform((f) => f ?? 'json')
    .meta({ description: 'json (default) or csv (UTF-8 with a byte order mark, as an attachment).' }),
});
export type ReportQuery = z.output<typeof ReportQuerySchema>;

const nullableNumber = z.number().nullable();

/** The figures of one day, or of the whole range (the totals). */
export const ReportFiguresSchema = z.object({
  from: epochMsSchema,
  to: epochMsSchema,
  distance_km: z.number(),
  autonomous_distance_km: z.number(),
  autonomous_share: nullableNumber.meta({ description: 'autonomous_distance_km / distance_km, 0…1; null for no distance.' }),
  takeovers: z.int(),
  disengagements: z.int(),
  emergency_stops: z.int(),
  takeovers_per_100km: nullableNumber,
  availability: nullableNumber.meta({ description: 'Share of the service window’s minutes with a reading of every vehicle, 0…1.' }),
  rsrp_dbm_p50: nullableNumber,
  rsrp_dbm_p5: nullableNumber,
  sinr_db_p50: nullableNumber,
  sinr_db_p5: nullableNumber,
  rtt_ms_p50: nullableNumber,
  readings_received: z.int().meta({ description: 'Readings of every kind received from the pilot’s sources in the range.' }),
  readings_expected: z
    .int()
    .meta({ description: 'Readings the sources’ sequence numbers say were sent (first to last seq of each source).' }),
});
export type ReportFigures = z.infer<typeof ReportFiguresSchema>;

export const ReportDaySchema = ReportFiguresSchema.extend({
  date: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .meta({ description: "The local day in the pilot's time zone, YYYY-MM-DD." }),
});
export type ReportDay = z.infer<typeof ReportDaySchema>;

export const ReportCauseSchema = z.object({
  cause: z.string().meta({ description: 'EventCause without its prefix; UNSPECIFIED when missing.' }),
  label: z.string().meta({ description: 'The cause in the requested language.' }),
  count: z.int(),
  per_100km: nullableNumber,
});
export type ReportCause = z.infer<typeof ReportCauseSchema>;

/** The report's column keys, in the order of the CSV. */
export const REPORT_COLUMNS = [
  'date',
  'distance_km',
  'autonomous_distance_km',
  'autonomous_share',
  'takeovers',
  'disengagements',
  'emergency_stops',
  'takeovers_per_100km',
  'availability',
  'rsrp_dbm_p50',
  'rsrp_dbm_p5',
  'sinr_db_p50',
  'sinr_db_p5',
  'rtt_ms_p50',
  'readings_received',
  'readings_expected',
] as const;
export type ReportColumn = (typeof REPORT_COLUMNS)[number];

export const ReportSchema = z
  .object({
    pilot: z.object({
      id: z.string(),
      name: z.string().meta({ description: 'In the requested language.' }),
      municipality: z.string().meta({ description: 'In the requested language.' }),
      municipality_code: z.string(),
      timezone: z.string(),
    }),
    lang: z.enum(REPORT_LANGS),
    from: epochMsSchema,
    to: epochMsSchema,
    generated_at: epochMsSchema,
    /** The column headings in the requested language (the CSV's heading row). */
    columns: z.array(z.object({ key: z.enum(REPORT_COLUMNS), label: z.string() })),
    days: z.array(ReportDaySchema),
    totals: ReportFiguresSchema.meta({ description: 'The KPIs of the whole range (not the sum of the days: see docs/reports.md).' }),
    totals_exact: z.boolean().meta({
      description:
        'false when the range held more readings than one query may (api.limits.maxRows): the totals are then combined from the days, with the link percentiles null (docs/reports.md).',
    }),
    takeovers_by_cause: z.array(ReportCauseSchema),
    disengagements_by_cause: z.array(ReportCauseSchema),
  })
  .meta({ id: 'Report' });
export type Report = z.infer<typeof ReportSchema>;
