import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, MichiError, PayloadError } from './errors.js';

describe('error codes', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

  it.each(Object.values(ErrorCodes))('%s is documented in docs/errors.md', (code) => {
    expect(doc).toContain(`| \`${code}\` |`);
  });

  it('documents every MICHI_ERR_ code any package uses', () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const used = new Set<string>();
    for (const pkg of ['proto', 'edge', 'cloud', 'simulators', 'dashboard']) {
      const dir = join(root, pkg, 'src');
      for (const f of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
        if (!f.endsWith('.ts')) continue;
        for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/MICHI_ERR_[A-Z0-9_]*[A-Z0-9]/g)) used.add(m[0]);
      }
    }
    const missing = [...used].filter((code) => !doc.includes(`| \`${code}\` |`));
    expect(missing, 'codes missing from docs/errors.md').toEqual([]);
  });

  it('carries its code, context and the field path', () => {
    const err = new PayloadError(ErrorCodes.INVALID_READING, 'expected a number', 'position.lat', { source: 'bus-01' });
    expect(err).toBeInstanceOf(MichiError);
    expect(err.message).toBe('position.lat: expected a number');
    expect(err.context).toEqual({ source: 'bus-01', path: 'position.lat' });
    expect(err.name).toBe('PayloadError');
  });
});
