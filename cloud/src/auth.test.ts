import { describe, expect, it } from 'vitest';
import { ConfigError } from '@michi/proto';
import { AuthSchema } from './auth-config.js';
import { TokenAuthenticator, bearerToken, canReadPilot } from './auth.js';

const env: Record<string, string> = {
  OPS: 'operator-secret-0123456789',
  CITY: 'city-viewer-secret-0123',
  SAME: 'operator-secret-0123456789',
};
const resolve = (ref: string) => env[ref.replace(/^env:/, '')];
const settings = (tokens: unknown[], extra: Record<string, unknown> = {}) => AuthSchema.parse({ tokens, ...extra });

describe('TokenAuthenticator', () => {
  const auth = new TokenAuthenticator(
    settings([
      { id: 'ops', role: 'operator', pilots: ['*'], tokenEnv: 'OPS' },
      { id: 'city', role: 'viewer', pilots: ['bus'], tokenEnv: 'CITY' },
    ]),
    resolve,
    ['bus', 'robots'],
  );

  it('finds the principal of a secret, and nothing for anything else', () => {
    expect(auth.authenticate('operator-secret-0123456789')).toEqual({ id: 'ops', role: 'operator', pilots: '*' });
    expect(auth.authenticate('city-viewer-secret-0123')).toEqual({ id: 'city', role: 'viewer', pilots: ['bus'] });
    for (const wrong of ['', 'operator-secret-012345678', 'operator-secret-0123456789 ', 'OPS'])
      expect(auth.authenticate(wrong)).toBeUndefined();
  });

  it('reads the pilots of a principal', () => {
    const city = auth.authenticate('city-viewer-secret-0123')!;
    expect(canReadPilot(city, 'bus')).toBe(true);
    expect(canReadPilot(city, 'robots')).toBe(false);
    expect(canReadPilot(auth.authenticate('operator-secret-0123456789')!, 'robots')).toBe(true);
  });

  it('refuses configurations that would leave the API open or broken', () => {
    const cases: [unknown[], RegExp][] = [
      [[], /auth\.tokens is empty/],
      [[{ id: 'x', role: 'viewer', pilots: ['*'], tokenEnv: 'MISSING' }], /MISSING is not set/],
      [[{ id: 'x', role: 'viewer', pilots: ['ferry'], tokenEnv: 'OPS' }], /no pilot "ferry"/],
      [
        [
          { id: 'a', role: 'viewer', pilots: ['*'], tokenEnv: 'OPS' },
          { id: 'b', role: 'viewer', pilots: ['*'], tokenEnv: 'SAME' },
        ],
        /same secret as another token/,
      ],
    ];
    for (const [tokens, message] of cases) {
      expect(() => new TokenAuthenticator(settings(tokens), resolve, ['bus'])).toThrow(ConfigError);
      expect(() => new TokenAuthenticator(settings(tokens), resolve, ['bus'])).toThrow(message);
    }
    expect(() => new TokenAuthenticator(settings([], { allowAnonymousViewer: true }), resolve, ['bus'])).not.toThrow();
  });

  it('validates the token list', () => {
    expect(() => settings([{ id: 'x', role: 'admin', pilots: ['*'], tokenEnv: 'OPS' }])).toThrow();
    expect(() => settings([{ id: 'x', role: 'viewer', pilots: ['*', 'bus'], tokenEnv: 'OPS' }])).toThrow(/alone or a list of pilot ids/);
    expect(() =>
      settings([
        { id: 'x', role: 'viewer', pilots: ['*'], tokenEnv: 'OPS' },
        { id: 'x', role: 'viewer', pilots: ['*'], tokenEnv: 'CITY' },
      ]),
    ).toThrow(/token id to be different/);
  });
});

describe('bearerToken', () => {
  it('reads RFC 6750 Bearer headers only', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer abc')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});
