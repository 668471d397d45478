import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, MichiError, PayloadError } from './errors.js';

describe('error codes', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

  it.each(Object.values(ErrorCodes))('%s is documented in docs/errors.md', (code) => {
    expect(doc).toContain(`| \`${code}\` |`);
  });

  it('carries its code, context and the field path', () => {
    const err = new PayloadError(ErrorCodes.INVALID_READING, 'expected a number', 'position.lat', { source: 'bus-01' });
    expect(err).toBeInstanceOf(MichiError);
    expect(err.message).toBe('position.lat: expected a number');
    expect(err.context).toEqual({ source: 'bus-01', path: 'position.lat' });
    expect(err.name).toBe('PayloadError');
  });
});
