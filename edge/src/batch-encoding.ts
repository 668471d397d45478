/**
 * Builds an upstream michi.v1.Batch from readings that are already encoded (as the buffer holds
 * them), without decoding and re-encoding each one: a Batch is its header fields followed by one
 * `items` field (4, length-delimited) per Reading, and protobuf lets fields come in any order.
 * Byte for byte what v1.Batch.decode reads back as the same Batch.
 */
import { deflateSync } from 'node:zlib';
import { soleBytesField, v1, writeBytesFields } from '@michi/proto';
import type { BufferedItem } from './buffer-store.js';

/** Batch.items (ingest.proto): field 4. */
const BATCH_ITEMS_FIELD = 4;

export interface BatchHeader {
  pilot_id: string;
  gateway_id: string;
  first_seq: number;
  sent_ts_ms: number;
  /** Per item: ms from its receipt to sent_ts_ms (empty: not reported). */
  held_ms?: number[];
}

export function encodeBatchOfEncoded(header: BatchHeader, items: readonly Uint8Array[]): Uint8Array {
  return writeBytesFields(v1.Batch.encode({ ...header, items: [] }), BATCH_ITEMS_FIELD, items).finish();
}

/**
 * Whether `bytes` is structurally one michi.v1.Reading: exactly one body field (1 to 4,
 * length-delimited) spanning the rest. Catches a row damaged on disk without decoding it.
 */
export function isWellFormedReading(bytes: Uint8Array): boolean {
  const field = soleBytesField(bytes);
  return field !== undefined && field >= 1 && field <= 4;
}

export interface UplinkBatch {
  /** What goes on the wire: the encoded Batch, deflated with compression `deflate`. */
  body: Uint8Array;
  /** The encoded Batch's bytes before compression. */
  rawBytes: number;
  /** The rows in the batch, in order (none when every row was damaged). */
  seqs: number[];
  /** How long each of them was held here: sent_ts_ms minus its receipt, ms. */
  heldMs: number[];
  /** Rows that are not a michi.v1.Reading (damaged on disk): never acknowledgeable, so never sent. */
  corrupt: number[];
}

/**
 * One upstream batch of buffered rows. The rows are encoded Readings, validated before they were
 * buffered: they go into the Batch as they are.
 */
export function uplinkBatch(
  header: Omit<BatchHeader, 'first_seq' | 'held_ms'>,
  items: readonly BufferedItem[],
  compression: 'none' | 'deflate',
): UplinkBatch {
  const encoded: Uint8Array[] = [];
  const seqs: number[] = [];
  const heldMs: number[] = [];
  const corrupt: number[] = [];
  for (const item of items) {
    if (isWellFormedReading(item.bytes)) {
      encoded.push(item.bytes);
      seqs.push(item.seq);
      // A clock stepped back while the row waited would make this negative; uint32 on the wire.
      heldMs.push(Math.max(0, header.sent_ts_ms - item.receivedMs));
    } else {
      corrupt.push(item.seq);
    }
  }
  const payload = encodeBatchOfEncoded({ ...header, first_seq: seqs[0] ?? 0, held_ms: heldMs }, encoded);
  // Level 1: most of the gain (readings repeat ids, cells and enums) for a fraction of the CPU.
  const body = compression === 'deflate' ? deflateSync(payload, { level: 1 }) : payload;
  return { body, rawBytes: payload.byteLength, seqs, heldMs, corrupt };
}
