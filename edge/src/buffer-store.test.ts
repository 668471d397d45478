import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { BufferStore } from './buffer-store.js';
import { bufferStoreContract, testReading } from './buffer-store.contract.js';

bufferStoreContract('BufferStore (SQLite)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'michi-buffer-'));
  return {
    open: (limits) =>
      new BufferStore({
        path: join(dir, 'nested', 'buffer.sqlite'),
        maxBytes: limits?.maxBytes ?? 16 * 1024 * 1024,
        commitIntervalMs: limits?.commitIntervalMs ?? 5,
        commitMaxItems: limits?.commitMaxItems ?? 1_000,
      }),
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('BufferStore on disk', () => {
  it('has a reading in the SQLite file, seen by another connection, by the time its append resolves', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'michi-buffer-'));
    const path = join(dir, 'buffer.sqlite');
    const store = new BufferStore({ path, maxBytes: 1 << 20, commitIntervalMs: 20, commitMaxItems: 1_000 });
    try {
      const seq = await store.append(testReading(1, 'event'));
      const other = new Database(path, { readonly: true });
      const row = other.prepare('SELECT seq, kind, source, priority FROM readings').get();
      other.close();
      expect(row).toEqual({ seq, kind: 'event', source: 'bus-1', priority: 1 });
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
