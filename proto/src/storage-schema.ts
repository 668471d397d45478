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
