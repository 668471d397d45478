/**
 * michi.v1.Reading → one InfluxDB line (precision ms). The schema is declared in @michi/proto
 * (storage-schema.ts) and documented in docs/storage.md: one measurement per kind; tags only `pilot`, `source` and (links) `cell`, so cardinality stays
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
import { ErrorCodes, FIELD_PREFIXES, FIELDS, MEASUREMENTS, PayloadError, TAGS, readingKind, v1, type Reading } from '@michi/proto';
import type { FieldName, michi } from '@michi/proto';

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
  // Most values need no escaping: skip the regular expression for them.
  return value.indexOf('"') < 0 && value.indexOf('\\') < 0 ? `"${value}"` : `"${value.replace(/["\\]/g, '\\$&')}"`;
}

const FLOAT32_MIN_NORMAL = 2 ** -126;

/** Exact powers of ten up to 1e22 (the largest a double holds exactly). */
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

/**
 * |v| rounded to `digits` significant digits (half away from zero, as toPrecision rounds), as the
 * nearest double; `e10` is the decimal exponent of |v|'s leading digit. While the scale is an exact
 * power of ten the product is exact too (a float32's 24-bit mantissa times 5^k stays under 2^53
 * for k ≤ 12), so this is Number(v.toPrecision(digits)) without the string round trip.
 */
function roundToDigits(abs: number, digits: number, e10: number): number {
  const k = digits - 1 - e10;
  if (k >= 0 && k <= 22) return Math.round(abs * POW10[k]!) / POW10[k]!;
  if (k < 0 && -k <= 22) return Math.round(abs / POW10[-k]!) * POW10[-k]!;
  return Number(abs.toPrecision(digits));
}

/**
 * The shortest decimal that is the same float32: a protobuf `float` of 12.3 decodes to
 * 12.300000190734863 and is stored as 12.3. A value that is not a float32 (JSON input) is kept.
 *
 * Tries 6 significant digits first (every 6-digit decimal survives a float32 round trip, so a
 * shorter shortest form comes out of it with its zeros dropped), then 7, 8, 9 (9 always does);
 * subnormals from 1 digit.
 * This runs for every float field of every reading: with toPrecision and parsing its string back,
 * it was 38 % of decoding and encoding a batch of readings with random float32 values (an
 * in-process profile); the arithmetic takes a few percent.
 */
export function float32Value(v: number): number {
  if (Number.isInteger(v)) return v === 0 ? 0 : v; // no -0 in a line
  if (Math.fround(v) !== v || !Number.isFinite(v)) return v;
  const abs = Math.abs(v);
  // log10 can be one off near a power of ten: then a try has one digit fewer or more, still in order.
  const e10 = Math.floor(Math.log10(abs));
  // Subnormal float32s have fewer significant bits, so their shortest form can have fewer digits.
  for (let digits = abs < FLOAT32_MIN_NORMAL ? 1 : 6; digits <= 10; digits++) {
    const s = roundToDigits(abs, digits, e10);
    if (Math.fround(s) === abs) return v < 0 ? -s : s;
  }
  return v;
}

/** Bytes of the line protocol's syntax. */
const COMMA = 0x2c;
const EQUALS = 0x3d;
const SPACE = 0x20;
const NEWLINE = 0x0a;
const MINUS = 0x2d;
/** After an integer field's digits. */
const INTEGER_SUFFIX = 0x69; // i

/** "00" to "99" as bytes, for writing integers two digits at a time. */
const DIGIT_PAIRS = Uint8Array.from(Buffer.from(Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0')).join(''), 'latin1'));

/** A constant of the schema (measurement, field key with its '=') as bytes. */
const bytes = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));

/**
 * The lines of one batch written straight into one UTF-8 buffer, '\n' between them, byte by byte:
 * no string is built per line or per field. Building each line as a string (fields joined, then the
 * line written into the buffer) made line protocol a quarter of the cloud's main thread under
 * bench/ingest-throughput.bench.ts. One buffer per batch, not one string: a ~130 KiB string per
 * 500-reading batch lands in V8's large-object space, freed only by a full GC.
 */
export class LineBody {
  private buf: Buffer;
  private used = 0;
  private count = 0;
  /** Whether the line being written has no field yet (the first field has no comma before it). */
  private firstField = true;

  constructor(expectedLines: number) {
    this.buf = Buffer.allocUnsafe(Math.max(1_024, expectedLines * 320));
  }

  get lines(): number {
    return this.count;
  }

  /** The lines so far; a view of the buffer, valid until the next add. */
  body(): Buffer {
    return this.buf.subarray(0, this.used);
  }

  /** Appends one reading as one line; when it cannot be stored (PayloadError), nothing of it stays. */
  addReading(reading: michi.v1.Reading.$Properties | Reading, ctx: LineContext): void {
    const start = this.used;
    try {
      this.newLine();
      writeReading(this, reading, ctx);
    } catch (err) {
      this.used = start;
      throw err;
    }
    this.count++;
  }

  private newLine(): void {
    if (this.count > 0) this.byte(NEWLINE);
    this.firstField = true;
  }

  private reserve(n: number): void {
    if (this.buf.length - this.used >= n) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.used + n));
    this.buf.copy(bigger, 0, 0, this.used);
    this.buf = bigger;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.used++] = b;
  }

  raw(b: Uint8Array): void {
    this.reserve(b.length);
    const buf = this.buf;
    let at = this.used;
    for (let i = 0; i < b.length; i++) buf[at++] = b[i]!;
    this.used = at;
  }

  /** A string as UTF-8: ASCII byte by byte, anything else by Buffer.write (which also replaces lone surrogates). */
  text(s: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    this.reserve(s.length * 3);
    const buf = this.buf;
    let at = this.used;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.used = at + buf.write(s.slice(i), at);
        return;
      }
      buf[at++] = c;
    }
    this.used = at;
  }

  /**
   * A safe integer in decimal, in 32-bit arithmetic: above 2^31 as two halves, the high one (the
   * first five digits of a millisecond timestamp, the same for a day) copied from the last time.
   */
  integer(v: number): void {
    if (v < 0) {
      this.byte(MINUS);
      v = -v;
    }
    if (v <= 0x7fff_ffff) {
      this.digits(v, 0);
      return;
    }
    const high = Math.floor(v / 1e8);
    if (high !== this.lastHigh) {
      const start = this.used;
      this.digits(high, 0);
      this.lastHigh = high;
      this.lastHighBytes = Uint8Array.from(this.buf.subarray(start, this.used)); // a copy: a refused line is overwritten
    } else this.raw(this.lastHighBytes);
    this.digits(v - high * 1e8, 8);
  }

  private lastHigh = -1;
  private lastHighBytes: Uint8Array = new Uint8Array(0);

  /** 0 ≤ v < 2^31 in decimal, zero-padded to `width` digits, two digits at a time. */
  private digits(v: number, width: number): void {
    let n = 1;
    for (let t = v; t >= 10; t = (t / 10) | 0) n++;
    if (n < width) n = width;
    this.reserve(n);
    const buf = this.buf;
    let at = this.used + n;
    this.used = at;
    while (at - 2 >= this.used - n + (n & 1)) {
      const pair = (v % 100) * 2;
      v = (v / 100) | 0;
      buf[--at] = DIGIT_PAIRS[pair + 1]!;
      buf[--at] = DIGIT_PAIRS[pair]!;
    }
    if (n & 1) buf[at - 1] = 0x30 + (v % 10);
  }

  /** A field key with its '=' (a constant of the schema). */
  key(k: Uint8Array): void {
    this.fieldStart();
    this.raw(k);
  }

  /** A field key escaped at run time (map keys), with its '='. */
  escapedKey(k: string): void {
    this.fieldStart();
    this.text(k);
    this.byte(EQUALS);
  }

  /** An integer field's value: its digits and the `i` that makes InfluxDB store it as an integer. */
  integerValue(v: number): void {
    this.integer(v);
    this.byte(INTEGER_SUFFIX);
  }

  /** The comma before a field, unless it is the line's first. */
  private fieldStart(): void {
    if (this.firstField) this.firstField = false;
    else this.byte(COMMA);
  }
}

/**
 * Fields of one line, written into a LineBody. The methods take keys that are constants of the
 * schema (bytes with their '='); map() escapes the sender's keys.
 */
class Fields {
  private out!: LineBody;

  on(out: LineBody): this {
    this.out = out;
    return this;
  }

  float(key: Uint8Array, v: number | null | undefined): this {
    if (v !== null && v !== undefined && Number.isFinite(v)) {
      this.out.key(key);
      this.out.text(String(v));
    }
    return this;
  }

  /** A protobuf `float` (32 bits). */
  float32(key: Uint8Array, v: number | null | undefined): this {
    if (v !== null && v !== undefined && Number.isFinite(v)) {
      this.out.key(key);
      this.out.text(String(float32Value(v)));
    }
    return this;
  }

  int(key: Uint8Array, v: number | null | undefined): this {
    if (v !== null && v !== undefined && Number.isSafeInteger(v)) {
      this.out.key(key);
      this.out.integerValue(v);
    }
    return this;
  }

  bool(key: Uint8Array, v: boolean | null | undefined): this {
    if (v !== null && v !== undefined) {
      this.out.key(key);
      this.out.raw(v ? TRUE : FALSE);
    }
    return this;
  }

  /** Empty strings are left out: proto3 cannot tell them from unset. */
  string(key: Uint8Array, v: string | null | undefined): this {
    if (v) {
      this.out.key(key);
      this.out.text(quoteString(v));
    }
    return this;
  }

  /** A value already quoted, as bytes (an enum name). */
  quotedBytes(key: Uint8Array, quoted: Uint8Array): this {
    this.out.key(key);
    this.out.raw(quoted);
    return this;
  }

  map(prefix: string, m: Record<string, number> | null | undefined, integers: boolean): this {
    if (!m) return this;
    for (const k in m) {
      const v = m[k];
      if (integers ? !Number.isSafeInteger(v) : v === null || v === undefined || !Number.isFinite(v)) continue;
      this.out.escapedKey(prefixedKey(prefix, k));
      if (integers) this.out.integerValue(v!);
      else this.out.text(String(v));
    }
    return this;
  }
}

const TRUE = bytes('true');
const FALSE = bytes('false');
const fields = new Fields();

/** The enum value's name without its type prefix: AUTONOMY_MODE_AUTONOMOUS → "AUTONOMOUS". */
function enumName(values: Record<string, number>, prefix: string, n: number | null | undefined): string {
  const name = (values as unknown as Record<number, string | undefined>)[n ?? 0];
  return name === undefined ? String(n ?? 0) : name.startsWith(prefix) ? name.slice(prefix.length) : name;
}

/** An enum's names as quoted string field values in bytes, computed once; unknown numbers are quoted as they come. */
function quotedEnumNames(values: Record<string, number>, prefix: string): (n: number | null | undefined) => Uint8Array {
  const quoted = new Map<number, Uint8Array>();
  for (const v of Object.values(values)) if (typeof v === 'number') quoted.set(v, bytes(quoteString(enumName(values, prefix, v))));
  return (n) => quoted.get(n ?? 0) ?? Buffer.from(quoteString(enumName(values, prefix, n)));
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

/** The schema's field keys (every measurement's, from the declaration), each with its '='. */
const K = Object.fromEntries(
  Object.values(FIELDS).flatMap((fields) => Object.keys(fields).map((k) => [k, bytes(`${escapeKeyUncached(k, 'field')}=`)])),
) as Record<FieldName, Uint8Array>;

function position(f: Fields, p: michi.v1.Position.$Properties | null | undefined): void {
  if (!p) return;
  f.float(K.lat, p.lat ?? 0).float(K.lon, p.lon ?? 0);
  if (p.alt_m) f.float(K.alt_m, p.alt_m);
  if (p.accuracy_m) f.float32(K.accuracy_m, p.accuracy_m);
}

function common(f: Fields, ctx: LineContext, seq: number | null | undefined): void {
  f.int(K.seq, seq ?? 0)
    .string(K.gateway, ctx.gateway)
    .int(K.recv_ms, ctx.recvMs);
}

/** Measurements with the comma of the first tag, as bytes. */
const MEASUREMENT_BYTES = Object.fromEntries(Object.values(MEASUREMENTS).map((m) => [m, bytes(`${escapeMeasurement(m)},`)])) as Record<
  string,
  Uint8Array
>;
const CELL_TAG = bytes(`${TAGS.cell}=`);
const PILOT_TAG = bytes(`${TAGS.pilot}=`);
const SOURCE_TAG = bytes(`,${TAGS.source}=`);

/** The measurement and tags, in key order (cell, pilot, source): InfluxDB sorts them anyway, sorted input saves it the work. */
function tags(out: LineBody, measurement: string, ctx: LineContext, source: string, cell?: string): void {
  // Escaped (and checked) first, so that a refused value throws before anything is written.
  const c = cell ? escapeKey(cell, 'cell_id') : '';
  const pilot = escapeKey(ctx.pilot, 'pilot');
  const src = escapeKey(source, 'source_id');
  out.raw(MEASUREMENT_BYTES[measurement]!);
  if (c) {
    out.raw(CELL_TAG);
    out.text(c);
    out.byte(COMMA);
  }
  out.raw(PILOT_TAG);
  out.text(pilot);
  out.raw(SOURCE_TAG);
  out.text(src);
  out.byte(SPACE);
}

function timestamp(ts: number | null | undefined): number {
  if (!Number.isSafeInteger(ts) || (ts as number) <= 0) {
    throw new PayloadError(ErrorCodes.INVALID_READING, `expected the source timestamp in ms since the epoch, got ${ts}`, 'ts_ms');
  }
  return ts as number;
}

/** The line of one Reading, without its newline; throws a PayloadError when it cannot be stored (LineBody.addReading undoes it). */
function writeReading(out: LineBody, reading: michi.v1.Reading.$Properties | Reading, ctx: LineContext): void {
  const kind = readingKind(reading);
  const f = fields.on(out);
  let ts: number;
  switch (kind) {
    case 'state': {
      const s = reading.state as michi.v1.VehicleState.$Properties;
      ts = timestamp(s.ts_ms);
      tags(out, MEASUREMENTS.state, ctx, s.source_id ?? '');
      position(f, s.position);
      f.float32(K.speed_mps, s.speed_mps ?? 0)
        .float32(K.heading_deg, s.heading_deg ?? 0)
        .float32(K.accel_mps2, s.accel_mps2 ?? 0)
        .quotedBytes(K.mode, quotedMode(s.mode))
        // Optional measurements (telemetry.proto's presence rule): absent is left out, a present 0 is written.
        .float(K.odometer_m, s.odometer_m)
        .float32(K.battery_pct, s.battery_pct)
        .map(FIELD_PREFIXES.signal, s.signals, false);
      common(f, ctx, s.seq);
      break;
    }
    case 'link': {
      const l = reading.link as michi.v1.LinkSample.$Properties;
      ts = timestamp(l.ts_ms);
      tags(out, MEASUREMENTS.link, ctx, l.source_id ?? '', l.cell_id ?? '');
      // The radio figures are optional: one the modem did not report is left out, never written as 0
      // (a 0 would enter the KPI percentiles as a measurement).
      f.int(K.pci, l.pci).string(K.band, l.band);
      // 0 dBm is outside RSRP's range: senders from before `optional` meant "not measured" by it.
      if (l.rsrp_dbm) f.float32(K.rsrp_dbm, l.rsrp_dbm);
      f.float32(K.rsrq_db, l.rsrq_db)
        .float32(K.sinr_db, l.sinr_db)
        .float32(K.rtt_ms, l.rtt_ms)
        .float32(K.ul_mbps, l.ul_mbps)
        .float32(K.dl_mbps, l.dl_mbps)
        .string(K.slice, l.slice)
        .bool(K.handover, l.handover ?? false);
      position(f, l.position);
      common(f, ctx, l.seq);
      break;
    }
    case 'sensor': {
      const s = reading.sensor as michi.v1.SensorReading.$Properties;
      ts = timestamp(s.ts_ms);
      tags(out, MEASUREMENTS.sensor, ctx, s.source_id ?? '');
      f.quotedBytes(K.sensor_kind, quotedSensorKind(s.sensor_kind))
        .map(FIELD_PREFIXES.count, s.counts, true)
        .map(FIELD_PREFIXES.measure, s.measures, false);
      common(f, ctx, s.seq);
      break;
    }
    case 'event': {
      const e = reading.event as michi.v1.Event.$Properties;
      ts = timestamp(e.ts_ms);
      tags(out, MEASUREMENTS.event, ctx, e.source_id ?? '');
      f.quotedBytes(K.type, quotedEventType(e.type))
        .quotedBytes(K.cause, quotedEventCause(e.cause))
        .quotedBytes(K.severity, quotedSeverity(e.severity))
        .string(K.geofence_id, e.geofence_id)
        .string(K.detail, e.detail);
      if (e.duration_ms) f.int(K.duration_ms, e.duration_ms);
      position(f, e.position);
      common(f, ctx, e.seq);
      break;
    }
  }
  out.byte(SPACE);
  out.integer(ts);
}

/** One validated Reading as one line of InfluxDB line protocol (timestamp in ms), for tools and tests; ingest writes into a LineBody. */
export function readingToLine(reading: michi.v1.Reading.$Properties | Reading, ctx: LineContext): string {
  const one = new LineBody(1);
  one.addReading(reading, ctx);
  return one.body().toString('utf8');
}
