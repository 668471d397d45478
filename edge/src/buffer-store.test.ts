import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { encodeReading } from '@michi/proto';
import { waitFor } from '../../scripts/test-support/index.js';
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
      const row = other.prepare('SELECT seq, kind, priority FROM readings').get();
      other.close();
      expect(row).toEqual({ seq, kind: 'event', priority: 2 });
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('commits a deletion within a moment even when no reading arrives', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'michi-buffer-'));
    const path = join(dir, 'buffer.sqlite');
    const store = new BufferStore({ path, maxBytes: 1 << 20, commitIntervalMs: 5, commitMaxItems: 1_000 });
    const count = () => {
      const other = new Database(path, { readonly: true });
      const n = (other.prepare('SELECT COUNT(*) AS n FROM readings').get() as { n: number }).n;
      other.close();
      return n;
    };
    try {
      const seqs = await Promise.all([1, 2, 3].map((i) => store.append(testReading(i))));
      expect(count()).toBe(3);
      expect(store.delete(seqs.slice(0, 2))).toBe(2);
      await waitFor(() => count() === 1, { what: 'the deletion on disk', timeoutMs: 5_000 });
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('migrates a version-1 buffer (the first agent) with its rows and seqs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'michi-buffer-'));
    const path = join(dir, 'buffer.sqlite');
    const v1 = new Database(path);
    v1.exec(`CREATE TABLE readings (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, source TEXT NOT NULL,
      priority INTEGER NOT NULL, ts_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL, size INTEGER NOT NULL, payload BLOB NOT NULL);
      PRAGMA user_version = 1;`);
    const payload = encodeReading(testReading(7, 'link'));
    v1.prepare("INSERT INTO readings VALUES (41, 'link', 'bus-1', 0, 0, 5, ?, ?)").run(payload.byteLength, payload);
    v1.close();
    const store = new BufferStore({ path, maxBytes: 1 << 20, commitIntervalMs: 5, commitMaxItems: 1_000 });
    try {
      expect(store.peek(0, 10).map((i) => i.seq)).toEqual([41]);
      expect(store.stats()).toMatchObject({ depth: 1, bytes: payload.byteLength, oldestTs: 5 });
      expect(await store.append(testReading(8))).toBe(42);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
