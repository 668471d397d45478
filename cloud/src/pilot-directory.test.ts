import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadSeeds } from '@michi/proto';
import { secretResolver } from './config.js';
import { PilotDirectory } from './pilot-directory.js';

const pilots = loadSeeds(fileURLToPath(new URL('../test/fixtures/seeds', import.meta.url)));
const env = { MICHI_TEST_GW_A_SECRET: 'secret-of-a' };

describe('PilotDirectory', () => {
  const directory = new PilotDirectory(pilots, secretResolver(env));

  it('logs a gateway in with its secret and gives it exactly one topic', () => {
    expect(directory.login('gw-a', Buffer.from('secret-of-a'))).toEqual({
      ok: true,
      identity: { pilot: 'test-town', gateway: 'gw-a', topic: 'michi/v1/test-town/gw-a/batch' },
    });
  });

  it('refuses, saying why, without telling a wrong password from a wrong length', () => {
    expect(directory.login('gw-a', 'secret-of-b')).toEqual({ ok: false, reason: 'bad_password' });
    expect(directory.login('gw-a', 'x')).toEqual({ ok: false, reason: 'bad_password' });
    expect(directory.login('gw-b', 'anything')).toEqual({ ok: false, reason: 'no_secret_configured' });
    expect(directory.login('gw-zzz', 'anything')).toEqual({ ok: false, reason: 'unknown_gateway' });
    expect(directory.login(undefined, undefined)).toEqual({ ok: false, reason: 'missing_credentials' });
  });

  it('knows which sources are vehicles and which are sensors, per pilot', () => {
    expect(directory.sourceType('test-town', 'bus-1')).toBe('vehicle');
    expect(directory.sourceType('test-town', 'lidar-1')).toBe('sensor');
    expect(directory.sourceType('other-town', 'bus-1')).toBeUndefined();
  });

  it('refuses to start when two pilots share a gateway id, since the id is the MQTT username', () => {
    const twin = { ...pilots[0]!, id: 'twin-town' };
    twin.gateways = pilots.find((p) => p.id === 'test-town')!.gateways;
    expect(() => new PilotDirectory([...pilots, twin], secretResolver(env))).toThrow(ConfigError);
  });
});
