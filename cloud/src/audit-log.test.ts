import { describe, expect, it } from 'vitest';
import { redactUrl } from './audit-log.js';

const SECRET = 'a-secret-token-0123456789';
const isSecret = (v: string): boolean => v === SECRET;

describe('redactUrl', () => {
  it('redacts token and access_token by their decoded name, in any case or %-encoding', () => {
    for (const name of ['token', 'Token', 'TOKEN', '%74oken', '%54%4F%4B%45%4E', 'access_token', '%61ccess%5Ftoken', ' token']) {
      expect(redactUrl(`/api/v1/live?pilot=p&${name}=xyz&hz=2`)).toBe(`/api/v1/live?pilot=p&${name}=[redacted]&hz=2`);
    }
  });

  it('redacts a value that is a secret whatever its name or encoding, and a secret sent as a name', () => {
    const encoded = [...SECRET].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('');
    expect(redactUrl(`/x?a=${SECRET}&b=${encoded}&c=1`, isSecret)).toBe('/x?a=[redacted]&b=[redacted]&c=1');
    expect(redactUrl(`/x?${SECRET}&c=1`, isSecret)).toBe('/x?[redacted]&c=1');
  });

  it('redacts what cannot be decoded, drops a fragment and leaves other URLs alone', () => {
    expect(redactUrl('/x?a=%E0%A4%A&b=1')).toBe('/x?a=[redacted]&b=1');
    expect(redactUrl('/x?%ZZ=1')).toBe('/x?[redacted]');
    expect(redactUrl('/x?a=1#token=abc')).toBe('/x?a=1');
    expect(redactUrl('/api/v1/pilots/p/tracks?from=1&to=2')).toBe('/api/v1/pilots/p/tracks?from=1&to=2');
    expect(redactUrl('/api/v1/pilots')).toBe('/api/v1/pilots');
  });
});
