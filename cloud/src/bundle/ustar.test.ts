// The hand-written ustar writer against GNU tar, which lists and unpacks what it wrote: sizes on a
// block boundary and off it, an empty file, a 100-byte name, UTF-8 contents.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ustarArchive } from './ustar.js';

describe('ustarArchive', () => {
  it('is read back by GNU tar byte for byte, with the given time', () => {
    const members = [
      { name: 'empty.txt', data: new Uint8Array() },
      { name: 'block.bin', data: new Uint8Array(512).map((_, i) => i % 251) },
      { name: 'odd.csv', data: Buffer.from('\uFEFFtime,detail\r\n2026,"歩行者, 飛び出し"\r\n') },
      { name: 'n'.repeat(100), data: Buffer.from('long name') },
    ];
    const mtimeMs = Date.UTC(2026, 11, 6, 9, 15, 0);
    const archive = ustarArchive('incident-bus-01-20261206T091000Z', members, mtimeMs);
    expect(archive.byteLength % 512).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'michi-ustar-'));
    writeFileSync(join(dir, 'a.tar'), archive);
    const list = spawnSync('tar', ['--utc', '-tvf', 'a.tar'], { cwd: dir, encoding: 'utf8' });
    expect(list.stderr).toBe('');
    expect(list.stdout).toContain('2026-12-06 09:15 incident-bus-01-20261206T091000Z/block.bin');
    const x = spawnSync('tar', ['-xf', 'a.tar'], { cwd: dir, encoding: 'utf8' });
    expect(x.status, x.stderr).toBe(0);
    for (const m of members) expect(readFileSync(join(dir, 'incident-bus-01-20261206T091000Z', m.name))).toEqual(Buffer.from(m.data));
  });

  it('refuses a name longer than the ustar field instead of cutting it', () => {
    expect(() => ustarArchive('d', [{ name: 'n'.repeat(101), data: new Uint8Array() }], 0)).toThrow(RangeError);
  });
});
