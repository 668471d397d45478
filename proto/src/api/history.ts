/**
 * GET /pilots/{pilot}/{tracks,links,events,kpis,coverage,completeness}: what InfluxDB holds over a
 * time range (docs/api.md defines each figure).
 */
import { z } from 'zod';
import { AUTONOMY_MODES, epochMsSchema } from './common.js';
import { EVENT_TYPES, SEVERITIES } from './query-params.js';

const range = {
  from: epochMsSchema.meta({ description: 'Start of the range as asked.' }),
  to: epochMsSchema.meta({ description: 'End of the range as asked.' }),
};

export const TrackPointSchema = z.object({
  ts_ms: epochMsSchema,
  lat: z.number(),
  lon: z.number(),
  speed_mps: z.number().nullable(),
  heading_deg: z.number().nullable(),
  mode: z.enum(AUTONOMY_MODES).nullable(),
});
export type TrackPoint = z.infer<typeof TrackPointSchema>;
export const TrackSchema = z.object({ source: z.string(), points: z.array(TrackPointSchema) });
export type Track = z.infer<typeof TrackSchema>;
export const TracksResponseSchema = z.object({ ...range, tracks: z.array(TrackSchema) });
export type TracksResponse = z.infer<typeof TracksResponseSchema>;

export const LinkPointSchema = z.object({
  ts_ms: epochMsSchema,
  rsrp_dbm: z.number().nullable().meta({ description: 'null when the sample had no RSRP (0, "not measured", is not stored).' }),
  sinr_db: z.number().nullable().meta({ description: 'null when the sample did not carry it.' }),
  rtt_ms: z.number().nullable(),
});
export type LinkPoint = z.infer<typeof LinkPointSchema>;
export const LinkHistorySchema = z.object({ source: z.string(), points: z.array(LinkPointSchema) });
export type LinkHistory = z.infer<typeof LinkHistorySchema>;
export const LinksResponseSchema = z.object({ ...range, links: z.array(LinkHistorySchema) });
export type LinksResponse = z.infer<typeof LinksResponseSchema>;

/** An event's type and severity as stored: the enums' names, UNSPECIFIED included. */
export const EVENT_VIEW_TYPES = [...EVENT_TYPES, 'UNSPECIFIED'] as const;
export const EVENT_VIEW_SEVERITIES = [...SEVERITIES, 'UNSPECIFIED'] as const;

export const EventViewSchema = z
  .object({
    ts_ms: epochMsSchema,
    source: z.string(),
    type: z.enum(EVENT_VIEW_TYPES).nullable(),
    cause: z.string().nullable().meta({ description: 'EventCause without its prefix.' }),
    severity: z.enum(EVENT_VIEW_SEVERITIES).nullable(),
    lat: z.number().nullable(),
    lon: z.number().nullable(),
    detail: z.string().nullable().meta({ description: 'Free text; always null for viewers.' }),
    duration_ms: z.number().nullable(),
    geofence_id: z.string().nullable(),
  })
  .meta({ id: 'Event' });
export type EventView = z.infer<typeof EventViewSchema>;
export const EventsResponseSchema = z.object({ events: z.array(EventViewSchema) });
export type EventsResponse = z.infer<typeof EventsResponseSchema>;

const percentiles = <K extends string>(...keys: K[]) =>
  z.object(Object.fromEntries(keys.map((k) => [k, z.number().nullable()])) as Record<K, z.ZodNullable<z.ZodNumber>>);
const byCause = z.record(z.string(), z.int()).meta({
  description: 'Events counted by cause (EventCause without its prefix; UNSPECIFIED when missing); causes with no event are absent.',
});
const per100kmByCause = z
  .record(z.string(), z.number())
  .nullable()
  .meta({ description: "Each cause's count (the matching …_by_cause) / distance_km × 100; null for no distance." });

export const KpisSchema = z
  .object({
    ...range,
    distance_km: z.number(),
    autonomous_distance_km: z.number(),
    autonomous_share: z.number().nullable(),
    takeovers: z.int(),
    takeovers_per_100km: z.number().nullable(),
    takeovers_by_cause: byCause,
    takeovers_per_100km_by_cause: per100kmByCause,
    disengagements: z.int(),
    disengagements_per_100km: z.number().nullable(),
    disengagements_by_cause: byCause,
    disengagements_per_100km_by_cause: per100kmByCause,
    emergency_stops: z.int(),
    speed_mean_kmh: z.number().nullable(),
    speed_p95_kmh: z.number().nullable(),
    availability: z.number().nullable(),
    link: z.object({
      rsrp_dbm: percentiles('p5', 'p50', 'p95'),
      sinr_db: percentiles('p5', 'p50', 'p95'),
      rtt_ms: percentiles('p50', 'p95'),
    }),
    latency_ms: percentiles('p50', 'p95'),
  })
  .meta({ id: 'Kpis' });
export type Kpis = z.infer<typeof KpisSchema>;

export const CoverageCellSchema = z.object({
  h3: z.string(),
  lat: z.number().meta({ description: "The cell's centre." }),
  lon: z.number(),
  samples: z.int(),
  rsrp_dbm_mean: z.number().nullable(),
  sinr_db_mean: z.number().nullable(),
  rtt_ms_mean: z.number().nullable(),
});
export type CoverageCell = z.infer<typeof CoverageCellSchema>;
export const CoverageResponseSchema = z.object({ resolution: z.int(), cells: z.array(CoverageCellSchema) });
export type CoverageResponse = z.infer<typeof CoverageResponseSchema>;

export const SourceCompletenessSchema = z.object({
  source: z.string(),
  kind: z.enum(['vehicle', 'sensor']),
  received: z.int(),
  first_seq: z.int().nullable(),
  last_seq: z.int().nullable(),
  expected: z.int(),
  missing: z.int(),
  gaps: z.array(z.object({ from_seq: z.int(), to_seq: z.int() })),
  last_ts_ms: z.int().nullable(),
  last_recv_ms: z.int().nullable(),
  lag_ms: z.int().nullable().meta({ description: 'recv_ms − source timestamp of the newest reading (the one at last_ts_ms).' }),
  backlog_last_minute: z
    .int()
    .meta({ description: 'Readings of the range received in the last 60 s that were taken at least 120 s before the request.' }),
  draining: z.boolean().meta({ description: 'backlog_last_minute > 0: a backlog is still arriving from an edge buffer.' }),
});
export type SourceCompleteness = z.infer<typeof SourceCompletenessSchema>;
export const CompletenessResponseSchema = z.object({ ...range, sources: z.array(SourceCompletenessSchema) });
export type CompletenessResponse = z.infer<typeof CompletenessResponseSchema>;
