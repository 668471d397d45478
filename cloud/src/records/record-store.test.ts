import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EntryDraft } from './record-entry.js';
import { RecordStore } from './record-store.js';

const draft = (sourceTsMs: number, vehicle = 'bus-1'): EntryDraft => ({
  pilot: 'test-town',
  vehicle,
  kind: 'takeover',
  sourceTsMs,
  recvMs: sourceTsMs + 50,
  gateway: 'gw-a',
  reading: { kind: 'event', seq: String(sourceTsMs) },
  position: null,
  late: false,
  data: { type: 'TAKEOVER', cause: 'PEDESTRIAN', severity: 'WARNING', detail: '', durationMs: 0 },
});

describe('RecordStore', () => {
  it('appends an entry once per identity, chained, across a reopen', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'michi-record-store-')), 'r.sqlite');
    const a = new RecordStore(file);
    expect(a.append([draft(1), draft(2), draft(1)]).map((s) => s.entry.n)).toEqual([0, 1]);
    a.close();
    const b = new RecordStore(file);
    expect(b.append([draft(2), draft(3)]).map((s) => s.entry.n)).toEqual([2]);
    const stored = b.entries({ pilot: 'test-town' });
    expect(stored.map((s) => s.entry.prevHash)).toEqual(['0'.repeat(64), stored[0]!.hash, stored[1]!.hash]);
    b.close();
  });

  it('a second process appending to the same file: refused once, then chained onto what it wrote', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'michi-record-store-')), 'r.sqlite');
    const a = new RecordStore(file);
    const b = new RecordStore(file);
    a.append([draft(1)]);
    expect(() => b.append([draft(2)])).toThrow(/UNIQUE constraint failed/);
    expect(b.append([draft(2)]).map((s) => s.entry.n)).toEqual([1]);
    const stored = b.entries({ pilot: 'test-town' });
    expect(stored[1]!.entry.prevHash).toBe(stored[0]!.hash);
    a.close();
    b.close();
  });

  it('retention removes the prefix received before the cutoff and appends an entry naming the last one removed', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'michi-record-store-')), 'r.sqlite');
    const s = new RecordStore(file);
    const [first, second] = s.append([draft(1_000), draft(2_000), draft(3_000), draft(1_000, 'bus-2')]);
    const out = s.applyRetention(2_500, 10_000);
    expect(out.map((e) => [e.entry.vehicle, e.entry.n, e.entry.data])).toEqual([
      ['bus-1', 3, { removedCount: 2, removedThroughN: 1, lastRemovedHash: second!.hash, cutoffMs: 2_500 }],
      ['bus-2', 1, { removedCount: 1, removedThroughN: 0, lastRemovedHash: expect.any(String) as string, cutoffMs: 2_500 }],
    ]);
    expect(s.checkpoint('test-town', 'bus-1')).toMatchObject({ throughN: 1, lastHash: second!.hash, removedCount: 2 });
    expect(s.entries({ pilot: 'test-town', vehicle: 'bus-1' }).map((e) => e.entry.n)).toEqual([2, 3]);
    expect(first!.entry.n).toBe(0);
    s.close();
  });
});
