import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBatch, encodeBatch, encodeReading, v1 } from '@michi/proto';
import { testReading } from './buffer-store.contract.js';
import { encodeBatchOfEncoded, isWellFormedReading, uplinkBatch } from './batch-encoding.js';

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

describe('uplinkBatch', () => {
  it('tells the cloud how long each reading was held here (Batch.held_ms), skipping damaged rows', () => {
    const sent = Date.UTC(2026, 11, 6);
    const rows = [
      { seq: 7, bytes: encodeReading(testReading(1)), receivedMs: sent - 40 },
      { seq: 8, bytes: new Uint8Array([0xff, 0xff]), receivedMs: sent - 30 },
      { seq: 9, bytes: encodeReading(testReading(2)), receivedMs: sent - 3 },
    ];
    const out = uplinkBatch({ pilot_id: 'maebashi-l4-bus', gateway_id: 'gw-ekimae', sent_ts_ms: sent }, rows, 'none');
    expect(out.corrupt).toEqual([8]);
    const { batch } = decodeBatch(out.body);
    expect([Number(batch.first_seq), Number(batch.sent_ts_ms), batch.held_ms, batch.items.length]).toEqual([7, sent, [40, 3], 2]);
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
