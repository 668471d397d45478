/**
 * Range checks every receiver applies at its boundary, after decoding. What the wire format cannot
 * say (a latitude of 300, a NaN speed, a sequence number that is not an integer) is caught here, with
 * the field's path, so the sender learns what to fix.
 */
import { michi } from './michi-pb.js';
import { ErrorCodes, PayloadError } from './errors.js';
import { isValidSegment, type ReadingKind } from './topics.js';

const v1 = michi.v1;

/** 2000-01-01 and 2100-01-01: outside this a timestamp is not milliseconds since the epoch. */
export const MIN_TS_MS = 946_684_800_000;
export const MAX_TS_MS = 4_102_444_800_000;
export const MAX_MAP_ENTRIES = 64;
export const MAX_KEY_LENGTH = 128;
export const MAX_DETAIL_LENGTH = 500;
export const MAX_BATCH_ITEMS = 10_000;

const SIGNAL_NAME = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/;
const CELL_ID = /^[A-Za-z0-9_.:-]{0,64}$/;
const BAND = /^(n\d{1,3})?$/;

function bad(path: string, message: string): never {
  throw new PayloadError(ErrorCodes.INVALID_READING, message, path);
}

// Each check takes the path as a prefix and a field name and joins them only to report an error:
// these run for every reading ingested, and building the path eagerly was most of their garbage.

function range(p: string, name: string, v: number | null | undefined, min: number, max: number): void {
  if (v === null || v === undefined) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    bad(p + name, `expected a number from ${min} to ${max}, got ${v}`);
}

function integer(p: string, name: string, v: number | null | undefined, min: number, max: number): void {
  if (v === null || v === undefined) return;
  if (!Number.isSafeInteger(v) || v < min || v > max) bad(p + name, `expected an integer from ${min} to ${max}, got ${v}`);
}

/** The numbers and names of a generated enum object (which maps names to numbers and numbers back to names). */
class EnumValues {
  private readonly entries: [string, number][];
  private readonly numbers: Set<number>;

  constructor(values: object) {
    this.entries = Object.entries(values).filter((e): e is [string, number] => typeof e[1] === 'number');
    this.numbers = new Set(this.entries.map(([, value]) => value));
  }

  check(p: string, name: string, v: number | null | undefined, allowUnspecified: boolean): void {
    const n = v ?? 0;
    if (!this.numbers.has(n) || (!allowUnspecified && n === 0)) {
      const names = this.entries.filter(([, value]) => allowUnspecified || value !== 0).map(([label]) => label);
      bad(p + name, `expected one of ${names.join(', ')}, got ${n}`);
    }
  }
}

const MODES = new EnumValues(v1.AutonomyMode);
const SENSOR_KINDS = new EnumValues(v1.SensorKind);
const EVENT_TYPES = new EnumValues(v1.EventType);
const EVENT_CAUSES = new EnumValues(v1.EventCause);
const SEVERITIES = new EnumValues(v1.Severity);

function text(p: string, name: string, v: string | null | undefined, max: number): void {
  if (v && v.length > max) bad(p + name, `expected at most ${max} characters, got ${v.length}`);
}

function numberMap(p: string, name: string, m: Record<string, number> | null | undefined, integers: boolean): void {
  if (!m) return;
  const keys = Object.keys(m);
  if (keys.length > MAX_MAP_ENTRIES) bad(p + name, `expected at most ${MAX_MAP_ENTRIES} entries, got ${keys.length}`);
  for (const k of keys) {
    if (k.length > MAX_KEY_LENGTH || !SIGNAL_NAME.test(k))
      bad(`${p}${name}[${JSON.stringify(k)}]`, 'expected a dotted name such as Vehicle.Speed (letters, digits, _)');
    const v = m[k];
    if (v === null || v === undefined) continue;
    if (integers ? Number.isSafeInteger(v) && v >= 0 && v <= 0xffff_ffff : typeof v === 'number' && Number.isFinite(v)) continue;
    const at = `${p}${name}[${JSON.stringify(k)}]`;
    if (integers) integer(at, '', v, 0, 0xffff_ffff);
    else range(at, '', v, -Number.MAX_VALUE, Number.MAX_VALUE);
  }
}

function position(p: string, name: string, pos: michi.v1.Position.$Properties | null | undefined): void {
  if (!pos) return;
  coordinate(p, name, 'lat', pos.lat ?? 0, -90, 90);
  coordinate(p, name, 'lon', pos.lon ?? 0, -180, 180);
  coordinate(p, name, 'alt_m', pos.alt_m, -1_000, 10_000);
  coordinate(p, name, 'accuracy_m', pos.accuracy_m, 0, 100_000);
}

/** range() of `${p}${name}.${field}`, with the path built only on error. */
function coordinate(p: string, name: string, field: string, v: number | null | undefined, min: number, max: number): void {
  if (v === null || v === undefined || (typeof v === 'number' && v >= min && v <= max)) return;
  range(`${p}${name}.`, field, v, min, max);
}

interface Common {
  source_id?: string | null;
  ts_ms?: number | null;
  seq?: number | null;
}

function common(p: string, r: Common): void {
  if (!r.source_id || !isValidSegment(r.source_id))
    bad(`${p}source_id`, `expected 1-64 characters of A-Z a-z 0-9 _ -, got ${JSON.stringify(r.source_id ?? '')}`);
  if (r.ts_ms === null || r.ts_ms === undefined || r.ts_ms === 0)
    bad(`${p}ts_ms`, 'expected the source timestamp in milliseconds since the epoch, got nothing');
  integer(p, 'ts_ms', r.ts_ms, MIN_TS_MS, MAX_TS_MS);
  integer(p, 'seq', r.seq, 0, Number.MAX_SAFE_INTEGER);
}

export function validateBody(kind: ReadingKind, body: Common & Record<string, unknown>, path = ''): void {
  const p = path ? `${path}.` : '';
  common(p, body);
  switch (kind) {
    case 'state': {
      const s = body as michi.v1.VehicleState.$Properties;
      position(p, 'position', s.position);
      range(p, 'speed_mps', s.speed_mps, 0, 100);
      range(p, 'heading_deg', s.heading_deg, 0, 360);
      range(p, 'accel_mps2', s.accel_mps2, -50, 50);
      MODES.check(p, 'mode', s.mode, true);
      range(p, 'odometer_m', s.odometer_m, 0, 1e10);
      range(p, 'battery_pct', s.battery_pct, 0, 100);
      numberMap(p, 'signals', s.signals, false);
      return;
    }
    case 'link': {
      const l = body as michi.v1.LinkSample.$Properties;
      if (l.cell_id && !CELL_ID.test(l.cell_id)) bad(`${p}cell_id`, 'expected at most 64 characters of A-Z a-z 0-9 _ . : -');
      integer(p, 'pci', l.pci, 0, 1007);
      if (l.band && !BAND.test(l.band)) bad(`${p}band`, `expected an NR band such as n79, got ${JSON.stringify(l.band)}`);
      // The radio figures are `optional` (absent = not measured, skipped by range()); RSRP 0 is outside
      // its range and is what senders from before `optional` sent for "not measured", so it is let through as absent.
      if (l.rsrp_dbm) range(p, 'rsrp_dbm', l.rsrp_dbm, -156, -31);
      range(p, 'rsrq_db', l.rsrq_db, -43, 20);
      range(p, 'sinr_db', l.sinr_db, -23, 40);
      range(p, 'rtt_ms', l.rtt_ms, 0, 60_000);
      range(p, 'ul_mbps', l.ul_mbps, 0, 100_000);
      range(p, 'dl_mbps', l.dl_mbps, 0, 100_000);
      text(p, 'slice', l.slice, 32);
      position(p, 'position', l.position);
      return;
    }
    case 'sensor': {
      const s = body as michi.v1.SensorReading.$Properties;
      SENSOR_KINDS.check(p, 'sensor_kind', s.sensor_kind, false);
      numberMap(p, 'counts', s.counts, true);
      numberMap(p, 'measures', s.measures, false);
      return;
    }
    case 'event': {
      const e = body as michi.v1.Event.$Properties;
      EVENT_TYPES.check(p, 'type', e.type, false);
      EVENT_CAUSES.check(p, 'cause', e.cause, true);
      SEVERITIES.check(p, 'severity', e.severity, true);
      position(p, 'position', e.position);
      if (e.geofence_id && !isValidSegment(e.geofence_id)) bad(`${p}geofence_id`, 'expected 1-64 characters of A-Z a-z 0-9 _ -');
      text(p, 'detail', e.detail, MAX_DETAIL_LENGTH);
      integer(p, 'duration_ms', e.duration_ms, 0, 0xffff_ffff);
      return;
    }
  }
}
