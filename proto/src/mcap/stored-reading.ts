/**
 * A stored point of InfluxDB back as a michi.v1 reading body: the inverse of the cloud's mapping,
 * by the schema declared in storage-schema.ts (docs/storage.md): the measurement is the kind,
 * `source` and `cell` are tags, `sig.*`, `count.*` and `measure.*` fields are the maps, enum values
 * are stored by name without their prefix. The simulators' InfluxDB export and the cloud's incident
 * bundles record stored readings to MCAP with it.
 */
import { v1, type ReadingBodyProperties } from '../codec.js';
import { FIELD_PREFIXES, type TAGS, type FieldName } from '../storage-schema.js';
import type { ReadingKind } from '../topics.js';

/** A row of InfluxDB's answer: tags, fields and `time` (ms) by name. */
export type StoredRow = Record<string, unknown>;

/**
 * A stored point of the kind's measurement as InfluxDB returns it: its declared fields and tags and
 * its time, so reading a name the schema does not declare is a compile error.
 */
type Stored<K extends ReadingKind> = { readonly [F in FieldName<K> | (typeof TAGS)[keyof typeof TAGS] | 'time']?: unknown };

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
/** Enum value from its stored name (`AUTONOMOUS` → AUTONOMY_MODE_AUTONOMOUS). */
function enumValue(values: object, prefix: string, v: unknown): number {
  if (typeof v !== 'string') return 0;
  const n = (values as Record<string, unknown>)[`${prefix}${v}`];
  return typeof n === 'number' ? n : 0;
}
function position(row: Stored<'state' | 'link' | 'event'>): { lat: number; lon: number; alt_m: number; accuracy_m: number } | undefined {
  const lat = num(row.lat);
  const lon = num(row.lon);
  if (lat === undefined || lon === undefined) return undefined;
  return { lat, lon, alt_m: num(row.alt_m) ?? 0, accuracy_m: num(row.accuracy_m) ?? 0 };
}
function prefixed(row: StoredRow, prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(row)) if (k.startsWith(prefix) && typeof v === 'number') out[k.slice(prefix.length)] = v;
  return out;
}

/** One stored point back as a reading body. */
export function rowToBody(kind: ReadingKind, row: StoredRow): ReadingBodyProperties {
  const stored = row as Stored<ReadingKind>;
  const common = { source_id: String(stored.source), ts_ms: Number(stored.time), seq: num(stored.seq) ?? 0 };
  switch (kind) {
    // The schema's optional measurements (telemetry.proto) that were not stored stay absent (null),
    // so a replay does not turn "not measured" into 0.
    case 'state': {
      const r = row as Stored<'state'>;
      const pos = position(r);
      return {
        ...common,
        ...(pos ? { position: pos } : {}),
        speed_mps: num(r.speed_mps) ?? 0,
        heading_deg: num(r.heading_deg) ?? 0,
        accel_mps2: num(r.accel_mps2) ?? 0,
        mode: enumValue(v1.AutonomyMode, 'AUTONOMY_MODE_', r.mode),
        odometer_m: num(r.odometer_m) ?? null,
        battery_pct: num(r.battery_pct) ?? null,
        signals: prefixed(row, FIELD_PREFIXES.signal),
      };
    }
    case 'link': {
      const r = row as Stored<'link'>;
      const pos = position(r);
      return {
        ...common,
        ...(pos ? { position: pos } : {}),
        cell_id: str(r.cell) ?? '',
        pci: num(r.pci) ?? null,
        band: str(r.band) ?? '',
        rsrp_dbm: num(r.rsrp_dbm) ?? null,
        rsrq_db: num(r.rsrq_db) ?? null,
        sinr_db: num(r.sinr_db) ?? null,
        rtt_ms: num(r.rtt_ms) ?? null,
        ul_mbps: num(r.ul_mbps) ?? null,
        dl_mbps: num(r.dl_mbps) ?? null,
        slice: str(r.slice) ?? '',
        handover: r.handover === true,
      };
    }
    case 'sensor': {
      const r = row as Stored<'sensor'>;
      return {
        ...common,
        sensor_kind: enumValue(v1.SensorKind, 'SENSOR_KIND_', r.sensor_kind),
        counts: prefixed(row, FIELD_PREFIXES.count),
        measures: prefixed(row, FIELD_PREFIXES.measure),
      };
    }
    case 'event': {
      const r = row as Stored<'event'>;
      const pos = position(r);
      return {
        ...common,
        ...(pos ? { position: pos } : {}),
        type: enumValue(v1.EventType, 'EVENT_TYPE_', r.type),
        cause: enumValue(v1.EventCause, 'EVENT_CAUSE_', r.cause),
        severity: enumValue(v1.Severity, 'SEVERITY_', r.severity),
        geofence_id: str(r.geofence_id) ?? '',
        detail: str(r.detail) ?? '',
        duration_ms: num(r.duration_ms) ?? 0,
      };
    }
  }
}
