/**
 * Builds an upstream michi.v1.Batch from readings that are already encoded (as the buffer holds
 * them), without decoding and re-encoding each one: a Batch is its header fields followed by one
 * `items` field (4, length-delimited) per Reading, and protobuf lets fields come in any order.
 * Byte for byte what v1.Batch.decode reads back as the same Batch.
 */
import { deflateSync } from 'node:zlib';
import { encodeBatch } from '@michi/proto';
import type { BufferedItem } from './buffer-store.js';

/** Batch.items: field 4, wire type 2 (length-delimited). */
const ITEMS_TAG = (4 << 3) | 2;

export interface BatchHeader {
  pilot_id: string;
  gateway_id: string;
  first_seq: number;
  sent_ts_ms: number;
}

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

export function encodeBatchOfEncoded(header: BatchHeader, items: readonly Uint8Array[]): Uint8Array {
  const head = encodeBatch({ ...header, items: [] });
  let size = head.byteLength;
  for (const item of items) size += 1 + varintLength(item.byteLength) + item.byteLength;
  const out = new Uint8Array(size);
  out.set(head, 0);
  let pos = head.byteLength;
  for (const item of items) {
    out[pos++] = ITEMS_TAG;
    pos = writeVarint(out, pos, item.byteLength);
    out.set(item, pos);
    pos += item.byteLength;
  }
  return out;
}

/**
 * Whether `bytes` is structurally one michi.v1.Reading: exactly one body field (1 to 4,
 * length-delimited) spanning the rest. Catches a row damaged on disk without decoding it.
 */
export function isWellFormedReading(bytes: Uint8Array): boolean {
  const tag = bytes[0];
  if (tag === undefined || (tag & 7) !== 2 || tag >> 3 < 1 || tag >> 3 > 4) return false;
  let len = 0;
  let shift = 1;
  let pos = 1;
  for (;;) {
    const b = bytes[pos++];
    if (b === undefined || pos > 6) return false;
    len += (b & 0x7f) * shift;
    shift *= 128;
    if (b < 0x80) break;
  }
  return pos + len === bytes.byteLength;
}

export interface UplinkBatch {
  /** What goes on the wire: the encoded Batch, deflated with compression `deflate`. */
  body: Uint8Array;
  /** The encoded Batch's bytes before compression. */
  rawBytes: number;
  /** The rows in the batch, in order (none when every row was damaged). */
  seqs: number[];
  /** Rows that are not a michi.v1.Reading (damaged on disk): never acknowledgeable, so never sent. */
  corrupt: number[];
}

/**
 * One upstream batch of buffered rows. The rows are encoded Readings, validated before they were
 * buffered: they go into the Batch as they are.
 */
export function uplinkBatch(
  header: Omit<BatchHeader, 'first_seq'>,
  items: readonly BufferedItem[],
  compression: 'none' | 'deflate',
): UplinkBatch {
  const encoded: Uint8Array[] = [];
  const seqs: number[] = [];
  const corrupt: number[] = [];
  for (const item of items) {
    if (isWellFormedReading(item.bytes)) {
      encoded.push(item.bytes);
      seqs.push(item.seq);
    } else {
      corrupt.push(item.seq);
    }
  }
  const payload = encodeBatchOfEncoded({ ...header, first_seq: seqs[0] ?? 0 }, encoded);
  // Level 1: most of the gain (readings repeat ids, cells and enums) for a fraction of the CPU.
  const body = compression === 'deflate' ? deflateSync(payload, { level: 1 }) : payload;
  return { body, rawBytes: payload.byteLength, seqs, corrupt };
}
