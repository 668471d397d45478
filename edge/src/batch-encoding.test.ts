import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBatch, encodeBatch, encodeReading, v1 } from '@michi/proto';
import { testReading } from './buffer-store.contract.js';
import { encodeBatchOfEncoded, isWellFormedReading } from './batch-encoding.js';

describe('encodeBatchOfEncoded', () => {
  it('gives the Batch that encodeBatch gives for the decoded readings', () => {
    const readings = [testReading(1, 'state'), testReading(2, 'link'), testReading(3, 'sensor'), testReading(4, 'event')];
    const header = { pilot_id: 'maebashi-l4-bus', gateway_id: 'gw-ekimae', first_seq: 300_000_000_000, sent_ts_ms: Date.UTC(2026, 10, 28) };
    const raw = encodeBatchOfEncoded(
      header,
      readings.map((r) => encodeReading(r)),
    );
    const reference = encodeBatch({ ...header, items: readings });
    expect(v1.Batch.toObject(v1.Batch.decode(raw), { longs: Number })).toEqual(
      v1.Batch.toObject(v1.Batch.decode(reference), { longs: Number }),
    );
    const { batch, rejected } = decodeBatch(raw);
    expect(rejected).toEqual([]);
    expect(batch.items).toHaveLength(4);
  });

  it('handles item lengths across varint boundaries', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 400 }), { maxLength: 5 }), (details) => {
        const items = details.map((d, i) =>
          encodeReading(v1.Reading.create({ event: { source_id: 'bus-1', ts_ms: 1 + i, seq: i, detail: d } })),
        );
        const decoded = v1.Batch.decode(encodeBatchOfEncoded({ pilot_id: 'p', gateway_id: 'g', first_seq: 1, sent_ts_ms: 1 }, items));
        expect(decoded.items.map((r) => r.event?.detail)).toEqual(details);
      }),
    );
  });
});

describe('isWellFormedReading', () => {
  it('accepts encoded readings of every kind and refuses damaged bytes', () => {
    for (const k of ['state', 'link', 'sensor', 'event'] as const) expect(isWellFormedReading(encodeReading(testReading(1, k)))).toBe(true);
    const ok = encodeReading(testReading(1, 'state'));
    expect(isWellFormedReading(ok.subarray(0, ok.byteLength - 1))).toBe(false);
    expect(isWellFormedReading(new Uint8Array([0xff, 0xff, 0xff]))).toBe(false);
    expect(isWellFormedReading(new Uint8Array([]))).toBe(false);
    expect(isWellFormedReading(new Uint8Array([(5 << 3) | 2, 0]))).toBe(false);
  });
});
