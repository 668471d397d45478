/**
 * The InfluxDB schema of stored readings (docs/storage.md), declared once: the cloud's line-protocol
 * writer writes by it, the cloud's queries select by it and the simulators' InfluxDB export reads by
 * it. Before, each of the three spelled the names out on its own and could drift apart unnoticed.
 *
 * One measurement per reading kind; tags only `pilot`, `source` and (links) `cell`, so cardinality
 * stays bounded by the pilot definitions; everything else is a field. The maps of a reading
 * (signals, counts, measures) are one field each entry, named by a prefix and the entry's key.
 */
import type { ReadingKind } from './topics.js';

/** Measurement of each reading kind. */
export const MEASUREMENTS = {
  state: 'vehicle_state',
  link: 'link_sample',
  sensor: 'sensor_reading',
  event: 'event',
} as const satisfies Record<ReadingKind, string>;

export type Measurement = (typeof MEASUREMENTS)[ReadingKind];

/** Tag keys. */
export const TAGS = { pilot: 'pilot', source: 'source', cell: 'cell' } as const;

export type TagName = (typeof TAGS)[keyof typeof TAGS];

/** The tags of each measurement, in key order (the order the writer writes them). `cell` is left out when empty. */
export const MEASUREMENT_TAGS = {
  state: [TAGS.pilot, TAGS.source],
  link: [TAGS.cell, TAGS.pilot, TAGS.source],
  sensor: [TAGS.pilot, TAGS.source],
  event: [TAGS.pilot, TAGS.source],
} as const satisfies Record<ReadingKind, readonly TagName[]>;

/** An InfluxDB field type: `float` is a double, `integer` is written with the `i` suffix. */
export type FieldType = 'float' | 'integer' | 'string' | 'boolean';

/** Fields of a position (absent when the reading has none). */
const POSITION_FIELDS = { lat: 'float', lon: 'float', alt_m: 'float', accuracy_m: 'float' } as const;

/** Fields of every measurement. */
const COMMON_FIELDS = { seq: 'integer', gateway: 'string', recv_ms: 'integer' } as const;

/**
 * The fixed fields of each measurement with their types. Enum values are strings (their names
 * without the type prefix). The map fields are in MAP_FIELDS.
 */
export const FIELDS = {
  state: {
    ...POSITION_FIELDS,
    speed_mps: 'float',
    heading_deg: 'float',
    accel_mps2: 'float',
    mode: 'string',
    odometer_m: 'float',
    battery_pct: 'float',
    ...COMMON_FIELDS,
  },
  link: {
    pci: 'integer',
    band: 'string',
    rsrp_dbm: 'float',
    rsrq_db: 'float',
    sinr_db: 'float',
    rtt_ms: 'float',
    ul_mbps: 'float',
    dl_mbps: 'float',
    slice: 'string',
    handover: 'boolean',
    ...POSITION_FIELDS,
    ...COMMON_FIELDS,
  },
  sensor: { sensor_kind: 'string', ...COMMON_FIELDS },
  event: {
    type: 'string',
    cause: 'string',
    severity: 'string',
    geofence_id: 'string',
    detail: 'string',
    duration_ms: 'integer',
    ...POSITION_FIELDS,
    ...COMMON_FIELDS,
  },
} as const satisfies Record<ReadingKind, Record<string, FieldType>>;

/** A fixed field of the measurement of kind K. */
export type FieldName<K extends ReadingKind = ReadingKind> = K extends ReadingKind ? keyof (typeof FIELDS)[K] & string : never;

/** Prefixes of the fields that hold a reading's map entries: `sig.<name>`, `count.<name>`, `measure.<name>`. */
export const FIELD_PREFIXES = { signal: 'sig.', count: 'count.', measure: 'measure.' } as const;

/** The map fields of each measurement: which body map they hold, their prefix and their type. */
export const MAP_FIELDS = {
  state: [{ map: 'signals', prefix: FIELD_PREFIXES.signal, type: 'float' }],
  link: [],
  sensor: [
    { map: 'counts', prefix: FIELD_PREFIXES.count, type: 'integer' },
    { map: 'measures', prefix: FIELD_PREFIXES.measure, type: 'float' },
  ],
  event: [],
} as const satisfies Record<ReadingKind, readonly { map: string; prefix: string; type: FieldType }[]>;

/**
 * Rollups (docs/reports.md): what the KPIs need of one source over one UTC hour or day, computed by
 * the cloud from the readings above and recomputed when late readings land. Tags `pilot` and
 * `source`; the point's time is the start of the hour or day. `rollup_progress` holds one point
 * (time 0) per process that rolls up (tag `instance`: `cloud`, or a worker's client id): how far its
 * rollups are known to be complete.
 */
export const ROLLUP_MEASUREMENTS = { hour: 'rollup_hour', day: 'rollup_day', progress: 'rollup_progress' } as const;

/**
 * The fields of rollup_hour and rollup_day. Strings hold maps: `by_cause` and `mode_ms` as
 * `KEY:n,KEY:n`; histograms as ascending bucket deltas (`delta[:count]`, count 1 left out; a bucket
 * is round(value × buckets per unit)); `minutes` as hex, bit i (most significant first) set when
 * minute i of the period had a vehicle_state or sensor_reading. The `edge_` fields are the segment
 * from the source's last reading before the period to its first one in it (absent without one).
 */
export const ROLLUP_FIELDS = {
  version: 'integer',
  computed_ms: 'integer',
  distance_m: 'float',
  autonomous_m: 'float',
  mode_ms: 'string',
  edge_prev_ms: 'integer',
  edge_distance_m: 'float',
  edge_autonomous_m: 'float',
  edge_mode_ms: 'string',
  takeovers: 'integer',
  disengagements: 'integer',
  emergency_stops: 'integer',
  takeovers_by_cause: 'string',
  disengagements_by_cause: 'string',
  speed_sum_kmh: 'float',
  speed_n: 'integer',
  speed_hist: 'string',
  latency_hist: 'string',
  rsrp_hist: 'string',
  sinr_hist: 'string',
  rtt_hist: 'string',
  minutes: 'string',
  readings: 'integer',
  seq_min: 'integer',
  seq_max: 'integer',
} as const satisfies Record<string, FieldType>;

export type RollupFieldName = keyof typeof ROLLUP_FIELDS;

/** The fields of rollup_progress. */
export const ROLLUP_PROGRESS_FIELDS = {
  /** Every reading the cloud received (recv_ms) up to this time is in the rollups. */
  watermark_ms: 'integer',
  /** The rollups hold every reading with a source timestamp from this time on. */
  since_ms: 'integer',
} as const satisfies Record<string, FieldType>;
