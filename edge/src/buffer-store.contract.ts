/**
 * The contract every ReadingBuffer passes (as MQTT.js runs test/node/abstract_store.ts against each
 * of its stores): run it from the store's own test with a fixture that can open the same store again.
 */
import { describe, expect, it } from 'vitest';
import { encodeReading, ErrorCodes, makeReading, v1, type ReadingKind } from '@michi/proto';
import type { ReadingBuffer } from './buffer-store.js';

export interface BufferLimits {
  maxBytes: number;
  commitIntervalMs: number;
  commitMaxItems: number;
}

export interface BufferStoreFixture {
  /** Opens the store; a second call after close() opens the same data again. */
  open(limits?: Partial<BufferLimits>): ReadingBuffer;
  dispose(): Promise<void>;
}

const T0 = Date.UTC(2026, 10, 28, 9, 0, 0);

export function testReading(i: number, kind: ReadingKind = 'state', source = 'bus-1') {
  switch (kind) {
    case 'state':
      return makeReading('state', {
        source_id: source,
        ts_ms: T0 + i * 1000,
        seq: i,
        speed_mps: (i % 20) + 0.5,
        position: { lat: 36.7, lon: 137.2 },
      });
    case 'link':
      return makeReading('link', {
        source_id: source,
        ts_ms: T0 + i * 1000,
        seq: i,
        cell_id: 'cell-1',
        pci: 17,
        band: 'n79',
        rsrp_dbm: -90,
      });
    case 'sensor':
      return makeReading('sensor', {
        source_id: source,
        ts_ms: T0 + i * 1000,
        seq: i,
        sensor_kind: v1.SensorKind.SENSOR_KIND_LIDAR,
        counts: { pedestrians: i },
      });
    case 'event':
      return makeReading('event', { source_id: source, ts_ms: T0 + i * 1000, seq: i, type: v1.EventType.EVENT_TYPE_TAKEOVER });
  }
}

function decode(bytes: Uint8Array) {
  return v1.Reading.toObject(v1.Reading.decode(bytes), { enums: String });
}

export function bufferStoreContract(name: string, makeFixture: () => Promise<BufferStoreFixture>): void {
  describe(`${name} (ReadingBuffer contract)`, () => {
    async function withStore<T>(
      limits: Partial<BufferLimits>,
      fn: (store: ReadingBuffer, f: BufferStoreFixture) => Promise<T>,
    ): Promise<T> {
      const f = await makeFixture();
      const store = f.open(limits);
      try {
        return await fn(store, f);
      } finally {
        await store.close();
        await f.dispose();
      }
    }

    it('appends readings of every kind and peeks them back in seq order, byte for byte', async () => {
      await withStore({}, async (store) => {
        const kinds: ReadingKind[] = ['state', 'link', 'sensor', 'event'];
        const readings = kinds.map((k, i) => testReading(i + 1, k));
        const seqs = await Promise.all(readings.map((r) => store.append(r)));
        expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
        expect(new Set(seqs).size).toBe(4);
        const items = store.peek(0, 10);
        expect(items.map((i) => i.seq)).toEqual(seqs);
        expect(items.map((i) => decode(i.bytes))).toEqual(readings.map((r) => v1.Reading.toObject(r, { enums: String })));
      });
    });

    it('commits at once when commitMaxItems readings wait, without waiting for the interval', async () => {
      await withStore({ commitIntervalMs: 60_000, commitMaxItems: 5 }, async (store) => {
        const started = Date.now();
        const seqs = await Promise.all([1, 2, 3, 4, 5].map((i) => store.append(testReading(i))));
        expect(Date.now() - started).toBeLessThan(5_000);
        expect(store.stats().depth).toBe(5);
        expect(seqs).toHaveLength(5);
      });
    });

    it('commits a lone reading after commitIntervalMs, and not before it resolves; peek sees it from the append on', async () => {
      await withStore({ commitIntervalMs: 30, commitMaxItems: 1_000 }, async (store) => {
        let seq: number | undefined;
        const appended = store.append(testReading(1)).then((s) => (seq = s));
        expect(seq).toBeUndefined();
        expect(store.stats()).toMatchObject({ depth: 0, pending: 1 });
        // The uplink may forward it before its commit.
        const early = store.peek(0, 10);
        expect(early).toHaveLength(1);
        expect(store.lastSeq()).toBe(early[0]!.seq);
        await appended;
        expect(store.peek(0, 10).map((i) => i.seq)).toEqual([seq]);
        expect(seq).toBe(early[0]!.seq);
        expect(store.stats()).toMatchObject({ depth: 1, pending: 0 });
      });
    });

    it('a reading the cloud acknowledges before its commit resolves at once and is never written', async () => {
      const f = await makeFixture();
      try {
        let store = f.open({ commitIntervalMs: 60_000, commitMaxItems: 1_000 });
        const kept = store.append(testReading(1));
        const acked = store.append(testReading(2, 'event'));
        const [first, second] = store.peek(0, 10).map((i) => i.seq);
        expect(store.delete([second!])).toBe(1);
        // Resolved by the acknowledgement, long before the 60 s commit.
        expect(await acked).toBe(second);
        expect(store.delete([second!])).toBe(0);
        expect(store.peek(0, 10).map((i) => i.seq)).toEqual([first]);
        expect(store.stats()).toMatchObject({ depth: 0, pending: 1 });
        await store.close();
        expect(await kept).toBe(first);

        store = f.open();
        expect(store.peek(0, 10).map((i) => i.seq)).toEqual([first]);
        expect(await store.append(testReading(3))).toBeGreaterThan(second!);
        await store.close();
      } finally {
        await f.dispose();
      }
    });

    it('peeks after a seq, at most maxItems and maxBytes, but always one item', async () => {
      await withStore({}, async (store) => {
        const seqs = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => store.append(testReading(i))));
        expect(store.peek(seqs[1]!, 3).map((i) => i.seq)).toEqual(seqs.slice(2, 5));
        expect(store.peek(seqs[5]!, 3)).toEqual([]);
        const size = store.peek(0, 1)[0]!.bytes.byteLength;
        expect(store.peek(0, 6, size * 2 + 1)).toHaveLength(2);
        expect(store.peek(0, 6, 1)).toHaveLength(1);
      });
    });

    it('deletes exactly the given seqs and keeps stats in step', async () => {
      await withStore({}, async (store) => {
        const before = Date.now();
        const seqs = await Promise.all([1, 2, 3, 4].map((i) => store.append(testReading(i))));
        const sizes = store.peek(0, 10).map((i) => i.bytes.byteLength);
        const s = store.stats();
        expect(s.depth).toBe(4);
        expect(s.bytes).toBe(sizes.reduce((a, b) => a + b, 0));
        expect(s.oldestTs).toBeGreaterThanOrEqual(before);
        expect(s.oldestTs).toBeLessThanOrEqual(Date.now());

        expect(store.delete([seqs[0]!, seqs[2]!, 999_999])).toBe(2);
        expect(store.peek(0, 10).map((i) => i.seq)).toEqual([seqs[1], seqs[3]]);
        expect(store.stats()).toMatchObject({ depth: 2, bytes: sizes[1]! + sizes[3]! });
        expect(store.delete([seqs[0]!])).toBe(0);
        expect(store.delete([])).toBe(0);

        store.delete([seqs[1]!, seqs[3]!]);
        expect(store.stats()).toMatchObject({ depth: 0, bytes: 0, oldestTs: null });
      });
    });

    it('refuses an append with MICHI_ERR_BUFFER_FULL when only events fill it, and takes it again once drained', async () => {
      const size = encodeReading(testReading(1, 'event')).byteLength;
      await withStore({ maxBytes: size * 3 }, async (store) => {
        const seqs = await Promise.all([1, 2, 3].map((i) => store.append(testReading(i, 'event'))));
        await expect(store.append(testReading(4, 'event'))).rejects.toMatchObject({ code: ErrorCodes.BUFFER_FULL });
        expect(store.stats().depth).toBe(3);
        store.delete([seqs[0]!]);
        await expect(store.append(testReading(4, 'event'))).resolves.toBeGreaterThan(seqs[2]!);
      });
    });

    it('when full, evicts the oldest link samples first, then states and sensor readings, never events nor pinned rows', async () => {
      const sizes = { link: 0, state: 0, event: 0 };
      for (const k of ['link', 'state', 'event'] as const) sizes[k] = encodeReading(testReading(10, k)).byteLength;
      const room = 2 * sizes.link + 2 * sizes.state + sizes.event;
      await withStore({ maxBytes: room }, async (store) => {
        const [s1, l1, e1, s2, l2] = [
          await store.append(testReading(10, 'state')),
          await store.append(testReading(11, 'link')),
          await store.append(testReading(12, 'event')),
          await store.append(testReading(13, 'state')),
          await store.append(testReading(14, 'link')),
        ];
        store.attach({ pinned: (seq) => seq === l1 });
        // The pinned l1 stays: l2, the only other link, goes.
        const s3 = await store.append(testReading(15, 'state'));
        const left = () => store.peek(0, 100).map((i) => i.seq);
        expect(left()).not.toContain(l2);
        expect(left()).toEqual(expect.arrayContaining([l1, e1, s3]));
        // Then the oldest state (s1), never the event.
        const e2 = await store.append(testReading(16, 'event'));
        expect(left()).toContain(e1);
        expect(left()).toContain(e2);
        expect(left()).toContain(l1);
        expect(left()).not.toContain(s1);
        // Oldest first: s2 can have gone only with s1.
        expect(left().includes(s1) && !left().includes(s2)).toBe(false);
        expect(store.stats().bytes).toBeLessThanOrEqual(room);
      });
    });

    it('peeks events only, or all but events, up to a seq; lastSeq is the highest appended seq', async () => {
      await withStore({}, async (store) => {
        expect(store.lastSeq()).toBe(0);
        const kinds: ReadingKind[] = ['state', 'event', 'link', 'event', 'sensor'];
        const seqs: number[] = [];
        for (const [i, k] of kinds.entries()) seqs.push(await store.append(testReading(i + 1, k)));
        expect(store.lastSeq()).toBe(seqs[4]);
        expect(store.peek(0, 10, Infinity, { events: 'only' }).map((i) => i.seq)).toEqual([seqs[1], seqs[3]]);
        expect(store.peek(seqs[1]!, 10, Infinity, { events: 'only' }).map((i) => i.seq)).toEqual([seqs[3]]);
        expect(store.peek(0, 10, Infinity, { events: 'exclude' }).map((i) => i.seq)).toEqual([seqs[0], seqs[2], seqs[4]]);
        expect(store.peek(0, 10, Infinity, { events: 'exclude', upTo: seqs[2]! }).map((i) => i.seq)).toEqual([seqs[0], seqs[2]]);
        expect(store.peek(seqs[0]!, 10, Infinity, { upTo: seqs[3]! }).map((i) => i.seq)).toEqual(seqs.slice(1, 4));
      });
    });

    it('keeps what was committed across close and reopen, and never reuses a seq', async () => {
      const f = await makeFixture();
      try {
        let store = f.open();
        const seqs = await Promise.all([1, 2, 3].map((i) => store.append(testReading(i))));
        // Not awaited: close() must commit it before closing.
        const last = store.append(testReading(4, 'event'));
        await store.close();
        const lastSeq = await last;
        await expect(store.append(testReading(5))).rejects.toThrow(/closed/);

        store = f.open();
        expect(store.peek(0, 10).map((i) => i.seq)).toEqual([...seqs, lastSeq]);
        expect(decode(store.peek(seqs[2]!, 1)[0]!.bytes)).toMatchObject({ event: { source_id: 'bus-1', type: 'EVENT_TYPE_TAKEOVER' } });
        expect(store.stats().depth).toBe(4);
        store.delete([seqs[2]!, lastSeq]);
        await store.close();

        store = f.open();
        expect(store.peek(0, 10).map((i) => i.seq)).toEqual(seqs.slice(0, 2));
        const next = await store.append(testReading(6));
        expect(next).toBeGreaterThan(lastSeq);
        await store.close();
      } finally {
        await f.dispose();
      }
    });
  });
}
