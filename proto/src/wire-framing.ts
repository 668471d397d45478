/**
 * The one place michi frames protobuf by hand: length-delimited fields around bytes that are
 * already encoded (a Batch of buffered Readings, an UploadRequest around a Batch), and reading
 * such fields back without decoding what they hold. Varints and lengths are protobufjs's Reader
 * and Writer, the ones the generated code uses, so no package writes its own.
 * Protobuf lets a message's fields come in any order and merges repeated occurrences of an
 * embedded message (protobuf encoding guide, "Last One Wins" and "Field Order").
 */
import $protobuf from 'protobufjs/minimal.js';
import { ErrorCodes, PayloadError } from './errors.js';

/** Wire type 2: a varint length, then that many bytes. */
const LENGTH_DELIMITED = 2;

const keyOf = (field: number): number => ((field << 3) | LENGTH_DELIMITED) >>> 0;

/**
 * `n` as a base-128 varint. MQTT's Remaining Length (MQTT 3.1.1 §2.2.3) is the same encoding, up to
 * 4 bytes (268,435,455), so the tests that forge MQTT packets use it too.
 */
export function varint(n: number): Uint8Array {
  return $protobuf.Writer.create().uint32(n).finish();
}

/** Appends each of `items` to `writer` as field `field`, length-delimited, and returns the writer. */
export function writeBytesFields(writer: $protobuf.Writer, field: number, items: Iterable<Uint8Array>): $protobuf.Writer {
  const key = keyOf(field);
  for (const item of items) writer.uint32(key).bytes(item);
  return writer;
}

/** A message of one field `field` holding `bytes`, length-delimited. */
export function bytesField(field: number, bytes: Uint8Array): Uint8Array {
  return writeBytesFields($protobuf.Writer.create(), field, [bytes]).finish();
}

/**
 * The contents of every length-delimited field `field` of the message `bytes`, as views into it,
 * in order; other fields are skipped. Throws PayloadError(MICHI_ERR_DECODE), naming `what`, when
 * `bytes` is not protobuf wire data (a truncated field, field number 0, a group or unknown wire type).
 */
export function readBytesFields(bytes: Uint8Array, field: number, what: string): Uint8Array[] {
  const fail = (why: string): never => {
    throw new PayloadError(ErrorCodes.DECODE, `not a valid protobuf ${what}: ${why}`);
  };
  const parts: Uint8Array[] = [];
  const reader = $protobuf.Reader.create(bytes);
  try {
    while (reader.pos < reader.len) {
      const key = reader.uint32();
      const wire = key & 7;
      if (key >>> 3 === 0) fail('field number 0');
      if (wire === LENGTH_DELIMITED) {
        const len = reader.uint32();
        if (reader.pos + len > reader.len) fail('truncated field');
        if (key >>> 3 === field) parts.push(bytes.subarray(reader.pos, reader.pos + len));
        reader.pos += len;
      } else if (wire === 0 || wire === 1 || wire === 5) {
        reader.skipType(wire);
      } else {
        fail(`wire type ${wire}`);
      }
    }
  } catch (err) {
    if (err instanceof PayloadError) throw err;
    // protobufjs's Reader throws a RangeError when a varint or fixed field runs past the end.
    fail(`truncated (${(err as Error).message})`);
  }
  return parts;
}

/**
 * The field number of `bytes` when they are exactly one length-delimited field spanning all of
 * them (a Reading is one of its body fields), else undefined. Never throws.
 */
export function soleBytesField(bytes: Uint8Array): number | undefined {
  const reader = $protobuf.Reader.create(bytes);
  try {
    const key = reader.uint32();
    if ((key & 7) !== LENGTH_DELIMITED) return undefined;
    const len = reader.uint32();
    return reader.pos + len === reader.len ? key >>> 3 : undefined;
  } catch {
    return undefined;
  }
}
