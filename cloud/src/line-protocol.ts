/**
 * michi.v1.Reading → one InfluxDB line (precision ms). The schema is documented in docs/storage.md:
 * one measurement per kind; tags only `pilot`, `source` and (links) `cell`, so cardinality stays
 * bounded by the pilot definitions; everything else is a field. A reading's identity is
 * (pilot, source, kind, source timestamp) = (series, time), so a replay or a relay through another
 * gateway overwrites the point instead of adding one.
 *
 * Escaping follows the InfluxDB 1.x parser (checked against 1.6.7): measurement `,` and space;
 * tag keys, tag values and field keys `,` `=` and space; string field values `"` and `\`. A tag or a
 * field key cannot carry a newline, a backslash in one is not unescaped by InfluxDB (it would not
 * read back equal), and NUL cannot be queried, so those throw a PayloadError instead of producing a
 * broken or unreachable point.
 */
import { ErrorCodes, PayloadError, readingKind, v1, type Reading } from '@michi/proto';
import type { michi } from '@michi/proto';

export const MEASUREMENTS = {
  state: 'vehicle_state',
  link: 'link_sample',
  sensor: 'sensor_reading',
  event: 'event',
} as const;

/** Where a reading came from and when the cloud received it; not part of the reading itself. */
export interface LineContext {
  pilot: string;
  gateway: string;
  /** Cloud receive time, ms since the epoch (the `recv_ms` field, for latency). */
  recvMs: number;
}

const MEASUREMENT_SPECIAL = /[, ]/g;
const KEY_SPECIAL = /[,= ]/g;
// InfluxDB takes NUL in a tag, but InfluxQL cannot select it (its scanner reads NUL as the end of input).
const UNREPRESENTABLE_KEY = /[\\\n\r\0]/;

export function escapeMeasurement(name: string): string {
  if (name === '' || UNREPRESENTABLE_KEY.test(name) || name.startsWith('#')) {
    throw new PayloadError(
      ErrorCodes.INVALID_READING,
      `cannot be stored as an InfluxDB measurement: ${JSON.stringify(name)}`,
      'measurement',
    );
  }
  return name.replace(MEASUREMENT_SPECIAL, '\\$&');
}

/**
 * Escaped keys and tag values seen recently: field names, pilot and source ids repeat on every line,
 * and escaping them each time was most of the cost of a line (bench/ingest-throughput.bench.ts).
 * Bounded: cleared when full, so sender-chosen signal names cannot grow it.
 */
const escapedKeys = new Map<string, string>();
const ESCAPED_KEYS_MAX = 4_096;

/** Tag keys, tag values and field keys. */
export function escapeKey(key: string, what = 'key'): string {
  const cached = escapedKeys.get(key);
  if (cached !== undefined) return cached;
  const escaped = escapeKeyUncached(key, what);
  if (escapedKeys.size >= ESCAPED_KEYS_MAX) escapedKeys.clear();
  escapedKeys.set(key, escaped);
  return escaped;
}

function escapeKeyUncached(key: string, what: string): string {
  if (key === '' || UNREPRESENTABLE_KEY.test(key)) {
    throw new PayloadError(
      ErrorCodes.INVALID_READING,
      `cannot be stored as an InfluxDB tag or field key: expected a non-empty string without backslash, CR, LF or NUL, got ${JSON.stringify(key)}`,
      what,
    );
  }
  return key.replace(KEY_SPECIAL, '\\$&');
}

/** Escaped `${prefix}${key}` field keys of maps (signals, counts, measures), by prefix; bounded like escapedKeys. */
const prefixedKeys = new Map<string, Map<string, string>>();

function prefixedKey(prefix: string, key: string): string {
  let keys = prefixedKeys.get(prefix);
  if (keys === undefined) prefixedKeys.set(prefix, (keys = new Map()));
  const cached = keys.get(key);
  if (cached !== undefined) return cached;
  const escaped = escapeKeyUncached(`${prefix}${key}`, 'field');
  if (keys.size >= ESCAPED_KEYS_MAX) keys.clear();
  keys.set(key, escaped);
  return escaped;
}

/** A string field value, quoted. Newlines, tabs and NUL are stored as they are. */
export function quoteString(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * The shortest decimal that is the same float32: a protobuf `float` of 12.3 decodes to
 * 12.300000190734863 and is stored as 12.3. A value that is not a float32 (JSON input) is kept.
 */
export function float32Value(v: number): number {
  if (Number.isInteger(v)) return v === 0 ? 0 : v; // no -0 in a line
  if (Math.fround(v) === v && Number.isFinite(v)) {
    for (let p = 6; p <= 9; p++) {
      const s = Number(v.toPrecision(p));
      if (Math.fround(s) === v) return s;
    }
  }
  return v;
}

/**
 * Builds the `key=value,...` part of one line. The methods take keys that are safe as they are
 * (the schema's constant names); map() escapes the sender's keys. One instance, and its array of
 * parts, is reused line after line (readingToLine is synchronous): this runs for every reading
 * ingested. An array and one join measured faster than concatenating the parts one by one.
 */
class Fields {
  private readonly parts: string[] = [];

  reset(): this {
    this.parts.length = 0;
    return this;
  }

  private add(key: string, value: string): void {
    this.parts.push(`${key}=${value}`);
  }

  float(key: string, v: number | null | undefined): this {
    if (v !== null && v !== undefined && Number.isFinite(v)) this.add(key, String(v));
    return this;
  }

  /** A protobuf `float` (32 bits). */
  float32(key: string, v: number | null | undefined): this {
    if (v !== null && v !== undefined && Number.isFinite(v)) this.add(key, String(float32Value(v)));
    return this;
  }

  int(key: string, v: number | null | undefined): this {
    if (v !== null && v !== undefined && Number.isSafeInteger(v)) this.add(key, `${v}i`);
    return this;
  }

  bool(key: string, v: boolean | null | undefined): this {
    if (v !== null && v !== undefined) this.add(key, v ? 'true' : 'false');
    return this;
  }

  /** Empty strings are left out: proto3 cannot tell them from unset. */
  string(key: string, v: string | null | undefined): this {
    if (v) this.add(key, quoteString(v));
    return this;
  }

  /** A value already quoted (an enum name, the gateway id of a whole batch). */
  quoted(key: string, quoted: string): this {
    if (quoted !== '') this.add(key, quoted);
    return this;
  }

  map(prefix: string, m: Record<string, number> | null | undefined, integers: boolean): this {
    if (!m) return this;
    for (const k in m) {
      const v = m[k];
      if (integers ? !Number.isSafeInteger(v) : v === null || v === undefined || !Number.isFinite(v)) continue;
      const key = prefixedKey(prefix, k);
      if (integers) this.int(key, v);
      else this.float(key, v);
    }
    return this;
  }

  text(): string {
    return this.parts.join(',');
  }
}

const fields = new Fields();

/** The enum value's name without its type prefix: AUTONOMY_MODE_AUTONOMOUS → "AUTONOMOUS". */
function enumName(values: Record<string, number>, prefix: string, n: number | null | undefined): string {
  const name = (values as unknown as Record<number, string | undefined>)[n ?? 0];
  return name === undefined ? String(n ?? 0) : name.startsWith(prefix) ? name.slice(prefix.length) : name;
}

/** An enum's names as quoted string field values, computed once; unknown numbers are quoted as they come. */
function quotedEnumNames(values: Record<string, number>, prefix: string): (n: number | null | undefined) => string {
  const quoted = new Map<number, string>();
  for (const v of Object.values(values)) if (typeof v === 'number') quoted.set(v, quoteString(enumName(values, prefix, v)));
  return (n) => quoted.get(n ?? 0) ?? quoteString(enumName(values, prefix, n));
}

const MODES = v1.AutonomyMode as unknown as Record<string, number>;
const SENSOR_KINDS = v1.SensorKind as unknown as Record<string, number>;
const EVENT_TYPES = v1.EventType as unknown as Record<string, number>;
const EVENT_CAUSES = v1.EventCause as unknown as Record<string, number>;
const SEVERITIES = v1.Severity as unknown as Record<string, number>;

export const modeName = (n: number | null | undefined): string => enumName(MODES, 'AUTONOMY_MODE_', n);
const quotedMode = quotedEnumNames(MODES, 'AUTONOMY_MODE_');
const quotedSensorKind = quotedEnumNames(SENSOR_KINDS, 'SENSOR_KIND_');
const quotedEventType = quotedEnumNames(EVENT_TYPES, 'EVENT_TYPE_');
const quotedEventCause = quotedEnumNames(EVENT_CAUSES, 'EVENT_CAUSE_');
const quotedSeverity = quotedEnumNames(SEVERITIES, 'SEVERITY_');

function position(f: Fields, p: michi.v1.Position.$Properties | null | undefined): void {
  if (!p) return;
  f.float('lat', p.lat ?? 0).float('lon', p.lon ?? 0);
  if (p.alt_m) f.float('alt_m', p.alt_m);
  if (p.accuracy_m) f.float32('accuracy_m', p.accuracy_m);
}

/** The gateway id of the last line, quoted: every line of a batch carries the same one. */
let lastGateway = '';
let lastGatewayQuoted = '';

function common(f: Fields, ctx: LineContext, seq: number | null | undefined): void {
  if (ctx.gateway !== lastGateway) {
    lastGatewayQuoted = ctx.gateway ? quoteString(ctx.gateway) : '';
    lastGateway = ctx.gateway;
  }
  f.int('seq', seq ?? 0)
    .quoted('gateway', lastGatewayQuoted)
    .int('recv_ms', ctx.recvMs);
}

const ESCAPED_MEASUREMENTS: Record<string, string> = Object.fromEntries(Object.values(MEASUREMENTS).map((m) => [m, escapeMeasurement(m)]));

function tags(measurement: string, ctx: LineContext, source: string, cell?: string): string {
  // Tags in key order (cell, pilot, source): InfluxDB sorts them anyway, sorted input saves it the work.
  const c = cell ? `,cell=${escapeKey(cell, 'cell_id')}` : '';
  const m = ESCAPED_MEASUREMENTS[measurement] ?? escapeMeasurement(measurement);
  return `${m}${c},pilot=${escapeKey(ctx.pilot, 'pilot')},source=${escapeKey(source, 'source_id')}`;
}

function timestamp(ts: number | null | undefined): number {
  if (!Number.isSafeInteger(ts) || (ts as number) <= 0) {
    throw new PayloadError(ErrorCodes.INVALID_READING, `expected the source timestamp in ms since the epoch, got ${ts}`, 'ts_ms');
  }
  return ts as number;
}

/** One validated Reading as one line of InfluxDB line protocol (timestamp in ms). */
export function readingToLine(reading: michi.v1.Reading.$Properties | Reading, ctx: LineContext): string {
  const kind = readingKind(reading);
  const f = fields.reset();
  switch (kind) {
    case 'state': {
      const s = reading.state as michi.v1.VehicleState.$Properties;
      position(f, s.position);
      f.float32('speed_mps', s.speed_mps ?? 0)
        .float32('heading_deg', s.heading_deg ?? 0)
        .float32('accel_mps2', s.accel_mps2 ?? 0)
        .quoted('mode', quotedMode(s.mode))
        .float('odometer_m', s.odometer_m ?? 0)
        .float32('battery_pct', s.battery_pct ?? 0)
        .map('sig.', s.signals, false);
      common(f, ctx, s.seq);
      return `${tags(MEASUREMENTS.state, ctx, s.source_id ?? '')} ${f.text()} ${timestamp(s.ts_ms)}`;
    }
    case 'link': {
      const l = reading.link as michi.v1.LinkSample.$Properties;
      f.int('pci', l.pci ?? 0).string('band', l.band);
      // 0 dBm is outside RSRP's range: it means "not measured", and averaging it would lie.
      if (l.rsrp_dbm) f.float32('rsrp_dbm', l.rsrp_dbm);
      f.float32('rsrq_db', l.rsrq_db ?? 0)
        .float32('sinr_db', l.sinr_db ?? 0)
        .float32('rtt_ms', l.rtt_ms ?? 0)
        .float32('ul_mbps', l.ul_mbps ?? 0)
        .float32('dl_mbps', l.dl_mbps ?? 0)
        .string('slice', l.slice)
        .bool('handover', l.handover ?? false);
      position(f, l.position);
      common(f, ctx, l.seq);
      return `${tags(MEASUREMENTS.link, ctx, l.source_id ?? '', l.cell_id ?? '')} ${f.text()} ${timestamp(l.ts_ms)}`;
    }
    case 'sensor': {
      const s = reading.sensor as michi.v1.SensorReading.$Properties;
      f.quoted('sensor_kind', quotedSensorKind(s.sensor_kind)).map('count.', s.counts, true).map('measure.', s.measures, false);
      common(f, ctx, s.seq);
      return `${tags(MEASUREMENTS.sensor, ctx, s.source_id ?? '')} ${f.text()} ${timestamp(s.ts_ms)}`;
    }
    case 'event': {
      const e = reading.event as michi.v1.Event.$Properties;
      f.quoted('type', quotedEventType(e.type))
        .quoted('cause', quotedEventCause(e.cause))
        .quoted('severity', quotedSeverity(e.severity))
        .string('geofence_id', e.geofence_id)
        .string('detail', e.detail);
      if (e.duration_ms) f.int('duration_ms', e.duration_ms);
      position(f, e.position);
      common(f, ctx, e.seq);
      return `${tags(MEASUREMENTS.event, ctx, e.source_id ?? '')} ${f.text()} ${timestamp(e.ts_ms)}`;
    }
  }
}

/**
 * The lines of one batch written straight into one UTF-8 buffer, '\n' between them. Joining them
 * into one string first made a ~130 KiB string per 500-reading batch: V8 allocates strings that
 * large in its large-object space, which only a full garbage collection frees, and then the
 * string was copied again into a Buffer for the request.
 */
export class LineBody {
  private buf: Buffer;
  private used = 0;
  private count = 0;

  constructor(expectedLines: number) {
    this.buf = Buffer.allocUnsafe(Math.max(1_024, expectedLines * 320));
  }

  get lines(): number {
    return this.count;
  }

  add(line: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit, plus the newline.
    const need = line.length * 3 + 1;
    if (this.buf.length - this.used < need) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.used + need));
      this.buf.copy(bigger, 0, 0, this.used);
      this.buf = bigger;
    }
    if (this.count > 0) this.buf[this.used++] = 0x0a;
    this.used += this.buf.write(line, this.used);
    this.count++;
  }

  /** The lines so far; a view of the buffer, valid until the next add(). */
  body(): Buffer {
    return this.buf.subarray(0, this.used);
  }
}
