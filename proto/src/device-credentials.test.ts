import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkDeviceKey, devicePassword } from './device-credentials.js';

const KEY = 'k'.repeat(32);

describe('devicePassword', () => {
  it('is HMAC-SHA256(key, id) in base64url, one per device and per key', () => {
    const p = devicePassword(KEY, 'bus-01');
    expect(p).toBe(createHmac('sha256', KEY).update('bus-01').digest('base64url'));
    expect(p).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(devicePassword(KEY, 'bus-02')).not.toBe(p);
    expect(devicePassword('j'.repeat(32), 'bus-01')).not.toBe(p);
  });

  it('refuses an id that is not a topic segment, and a short key', () => {
    expect(() => devicePassword(KEY, 'bus/01')).toThrow(/device id/);
    expect(() => devicePassword(KEY, '')).toThrow(/device id/);
    expect(() => checkDeviceKey('short', 'MICHI_X')).toThrow(/MICHI_X: expected a device key of at least 32 characters/);
    expect(() => checkDeviceKey(KEY, 'MICHI_X')).not.toThrow();
  });
});
