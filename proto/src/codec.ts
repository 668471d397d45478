/**
 * The one codec: protobuf on the wire, proto3 JSON for people (mosquitto_pub, curl, logs).
 * Every decode returns a validated message or throws a PayloadError naming the field; it never
 * returns a half-valid value and never crashes on arbitrary bytes.
 */
import { michi } from './michi-pb.js';
import { ErrorCodes, PayloadError } from './errors.js';
import { normalizeJson } from './json-mapping.js';
import { type ReadingKind, isValidSegment } from './topics.js';
import { MAX_BATCH_ITEMS, MAX_TS_MS, validateBody } from './validate-reading.js';

export const v1 = michi.v1;
export type VehicleState = michi.v1.VehicleState;
export type LinkSample = michi.v1.LinkSample;
export type SensorReading = michi.v1.SensorReading;
export type MichiEvent = michi.v1.Event;
export type Reading = michi.v1.Reading;
export type Batch = michi.v1.Batch;
export type ReadingBody = VehicleState | LinkSample | SensorReading | MichiEvent;
export type ReadingBodyProperties =
  michi.v1.VehicleState.$Properties | michi.v1.LinkSample.$Properties | michi.v1.SensorReading.$Properties | michi.v1.Event.$Properties;

export type PayloadFormat = 'protobuf' | 'json';

/** The generated type of each kind's body, in the order of Reading's oneof. */
const BODY_TYPES = {
  state: v1.VehicleState,
  link: v1.LinkSample,
  sensor: v1.SensorReading,
  event: v1.Event,
} as const;
const BODY_NAMES: Record<ReadingKind, string> = { state: 'VehicleState', link: 'LinkSample', sensor: 'SensorReading', event: 'Event' };

export const DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024;

/** JSON objects start with '{'; in protobuf that byte is field 15 with the deprecated start-group wire type, which michi never uses. */
export function detectFormat(payload: Uint8Array): PayloadFormat {
  for (const b of payload) {
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) continue;
    return b === 0x7b ? 'json' : 'protobuf';
  }
  return 'protobuf';
}

function checkSize(payload: Uint8Array, maxBytes: number): void {
  if (payload.byteLength > maxBytes) {
    throw new PayloadError(ErrorCodes.TOO_LARGE, `payload of ${payload.byteLength} bytes exceeds the limit of ${maxBytes}`);
  }
}

function parseJson(payload: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  } catch (err) {
    throw new PayloadError(ErrorCodes.DECODE, `not valid JSON: ${(err as Error).message}`);
  }
}

function decodeProtobuf<T>(decode: () => T, what: string): T {
  try {
    return decode();
  } catch (err) {
    throw new PayloadError(ErrorCodes.DECODE, `not a valid protobuf ${what}: ${(err as Error).message}`);
  }
}

/** Which kind a Reading holds; throws when it holds none. */
export function readingKind(r: michi.v1.Reading.$Properties): ReadingKind {
  if (r.state) return 'state';
  if (r.link) return 'link';
  if (r.sensor) return 'sensor';
  if (r.event) return 'event';
  throw new PayloadError(ErrorCodes.INVALID_READING, 'expected one of state, link, sensor, event', 'body');
}

/** The body of a Reading, whatever its kind. */
export function readingBody(r: michi.v1.Reading.$Properties): ReadingBody {
  const body = r.state ?? r.link ?? r.sensor ?? r.event;
  if (!body) throw new PayloadError(ErrorCodes.INVALID_READING, 'expected one of state, link, sensor, event', 'body');
  return body as ReadingBody;
}

export function makeReading(kind: ReadingKind, body: ReadingBodyProperties): Reading {
  return v1.Reading.create({ [kind]: body } as michi.v1.Reading.$Properties);
}

/** Checks one Reading (exactly one body, all values in range). */
export function validateReading(r: michi.v1.Reading.$Properties, path = ''): ReadingKind {
  // Counted without an array: this runs for every item of every batch.
  const set = (r.state ? 1 : 0) + (r.link ? 1 : 0) + (r.sensor ? 1 : 0) + (r.event ? 1 : 0);
  if (set !== 1) {
    throw new PayloadError(ErrorCodes.INVALID_READING, `expected exactly one of state, link, sensor, event, got ${set}`, path);
  }
  const kind = readingKind(r);
  validateBody(kind, readingBody(r) as never, path ? `${path}.${kind}` : kind);
  return kind;
}

/**
 * Decodes what a vehicle or sensor published on a .../{kind} topic: the bare body message, as
 * protobuf or JSON (detected), validated. Returns the Reading that wraps it.
 */
export function decodeReadingPayload(kind: ReadingKind, payload: Uint8Array, maxBytes = DEFAULT_MAX_PAYLOAD_BYTES): Reading {
  checkSize(payload, maxBytes);
  const type = BODY_TYPES[kind];
  let body: ReadingBody;
  if (detectFormat(payload) === 'json') {
    body = type.fromObject(normalizeJson(BODY_NAMES[kind], parseJson(payload))) as ReadingBody;
  } else {
    body = decodeProtobuf(() => type.decode(payload) as ReadingBody, BODY_NAMES[kind]);
  }
  validateBody(kind, body as never);
  return makeReading(kind, body);
}

/** Reading's field number of each kind's body (telemetry.proto, `oneof body`). */
const READING_BODY_FIELD: Record<ReadingKind, number> = { state: 1, link: 2, sensor: 3, event: 4 };

/**
 * A protobuf body up to this size is stored as it came (see decodeReadingPayloadEncoded). The bound
 * caps what fields unknown to this version may add to a reading, which an encoding of the decoded
 * message would drop; michi's own readings are 40-400 bytes.
 */
export const PASSTHROUGH_MAX_BYTES = 1_024;

/**
 * decodeReadingPayload, and the Reading's protobuf encoding as well. A protobuf body of at most
 * PASSTHROUGH_MAX_BYTES is wrapped as it came: Reading's field tag for its kind, its length, its
 * bytes. Encoding the decoded message again cost the edge agent about 5 % of its CPU at 1,000
 * readings/s, and the result decodes to the same message: the very bytes validated here are the
 * ones the cloud decodes. JSON and larger bodies are encoded from the decoded message.
 */
export function decodeReadingPayloadEncoded(
  kind: ReadingKind,
  payload: Uint8Array,
  maxBytes = DEFAULT_MAX_PAYLOAD_BYTES,
): { reading: Reading; encoded: Uint8Array } {
  const reading = decodeReadingPayload(kind, payload, maxBytes);
  if (payload.byteLength > PASSTHROUGH_MAX_BYTES || detectFormat(payload) === 'json') return { reading, encoded: encodeReading(reading) };
  const length = payload.byteLength;
  // Tag (field << 3 | wire type 2, one byte for fields 1-15), then the length as a varint of 1 or 2
  // bytes. Written by hand: protobufjs's Writer for these two values cost the agent 2 % more CPU
  // at 1,000 readings/s (bench/edge-footprint.bench.ts, side by side, median of five rounds).
  const header = length < 0x80 ? 2 : 3;
  const encoded = Buffer.allocUnsafe(header + length);
  encoded[0] = (READING_BODY_FIELD[kind] << 3) | 2;
  if (length < 0x80) encoded[1] = length;
  else {
    encoded[1] = (length & 0x7f) | 0x80;
    encoded[2] = length >>> 7;
  }
  encoded.set(payload, header);
  return { reading, encoded };
}

/** Encodes one reading body the way a vehicle publishes it. */
export function encodeReadingPayload(kind: ReadingKind, body: ReadingBodyProperties, format: PayloadFormat = 'protobuf'): Uint8Array {
  if (format === 'json') return Buffer.from(JSON.stringify(bodyToJson(kind, body)));
  return (BODY_TYPES[kind] as typeof v1.VehicleState).encode(body as michi.v1.VehicleState.$Properties).finish();
}

/** proto3 JSON of one body: enum names, original field names, 64-bit integers as strings. */
export function bodyToJson(kind: ReadingKind, body: ReadingBodyProperties): Record<string, unknown> {
  const type = BODY_TYPES[kind] as typeof v1.VehicleState;
  const msg = body instanceof type ? body : type.fromObject(body);
  return type.toObject(msg as VehicleState, { enums: String, longs: String });
}

export function readingToJson(r: michi.v1.Reading.$Properties): Record<string, unknown> {
  return v1.Reading.toObject(r instanceof v1.Reading ? r : v1.Reading.fromObject(r), { enums: String, longs: String });
}

export function encodeReading(r: michi.v1.Reading.$Properties): Uint8Array {
  return v1.Reading.encode(r).finish();
}

/** Decodes and validates one Reading (the gateway-local gRPC item, or JSON for tests and tools). */
export function decodeReading(payload: Uint8Array, maxBytes = DEFAULT_MAX_PAYLOAD_BYTES): Reading {
  checkSize(payload, maxBytes);
  const r =
    detectFormat(payload) === 'json'
      ? v1.Reading.fromObject(normalizeJson('Reading', parseJson(payload)))
      : decodeProtobuf(() => v1.Reading.decode(payload), 'Reading');
  validateReading(r);
  return r;
}

export interface BatchProperties {
  pilot_id: string;
  gateway_id: string;
  first_seq: number;
  items: michi.v1.Reading.$Properties[];
  sent_ts_ms?: number;
  /** Per item: ms from the gateway's receipt to sent_ts_ms. */
  held_ms?: number[];
}

export function encodeBatch(b: BatchProperties): Uint8Array {
  return v1.Batch.encode(b).finish();
}

/** A batch item that failed validation: the batch is still accepted, this item never will be. */
export interface ItemRejection {
  index: number;
  code: string;
  reason: string;
}

export interface DecodedBatch {
  batch: Batch;
  /** Indices of items that passed validation, in order. */
  valid: number[];
  rejected: ItemRejection[];
}

/** Checks a Batch's header and each item; a bad header throws, a bad item is listed in `rejected`. */
export function checkBatch(batch: Batch): DecodedBatch {
  if (!isValidSegment(batch.pilot_id))
    throw new PayloadError(ErrorCodes.INVALID_READING, `expected a pilot id, got ${JSON.stringify(batch.pilot_id)}`, 'pilot_id');
  if (!isValidSegment(batch.gateway_id))
    throw new PayloadError(ErrorCodes.INVALID_READING, `expected a gateway id, got ${JSON.stringify(batch.gateway_id)}`, 'gateway_id');
  if (!Number.isSafeInteger(batch.first_seq) || batch.first_seq < 0)
    throw new PayloadError(ErrorCodes.INVALID_READING, `expected an integer >= 0, got ${batch.first_seq}`, 'first_seq');
  if (batch.sent_ts_ms && (!Number.isSafeInteger(batch.sent_ts_ms) || batch.sent_ts_ms < 0 || batch.sent_ts_ms > MAX_TS_MS)) {
    throw new PayloadError(ErrorCodes.INVALID_READING, `expected milliseconds since the epoch, got ${batch.sent_ts_ms}`, 'sent_ts_ms');
  }
  if (batch.items.length > MAX_BATCH_ITEMS)
    throw new PayloadError(ErrorCodes.TOO_LARGE, `expected at most ${MAX_BATCH_ITEMS} items, got ${batch.items.length}`, 'items');
  const valid: number[] = [];
  const rejected: ItemRejection[] = [];
  batch.items.forEach((item, index) => {
    try {
      validateReading(item, `items[${index}]`);
      valid.push(index);
    } catch (err) {
      const e = err as PayloadError;
      rejected.push({ index, code: e.code ?? ErrorCodes.INVALID_READING, reason: e.message });
    }
  });
  return { batch, valid, rejected };
}

/** Decodes an upstream Batch (protobuf or JSON) and checks it; see checkBatch. */
export function decodeBatch(payload: Uint8Array, maxBytes = 4 * 1024 * 1024): DecodedBatch {
  checkSize(payload, maxBytes);
  const batch =
    detectFormat(payload) === 'json'
      ? v1.Batch.fromObject(normalizeJson('Batch', parseJson(payload)))
      : decodeProtobuf(() => v1.Batch.decode(payload), 'Batch');
  return checkBatch(batch);
}
