import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '@michi/proto';
import { loadEdgeConfig, parseEdgeConfig } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'michi-edge-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every edge needs a device key (local.deviceKeyEnv); these tests name GW_DEVICE_KEY. */
const DEVICE_KEY = 'device-key-for-config-tests-0123456789';
const KEY_ENV = { GW_DEVICE_KEY: DEVICE_KEY };

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('edge configuration', () => {
  it('fills every default from pilotId and gatewayId alone', () => {
    const c = parseEdgeConfig({ pilotId: 'maebashi-l4-bus', gatewayId: 'gw-ekimae', local: { deviceKeyEnv: 'GW_DEVICE_KEY' } }, KEY_ENV);
    expect(c).toMatchObject({
      seedsDir: 'seeds',
      local: { mqtt: { host: '127.0.0.1', port: 1884, maxPayloadBytes: 65_536 }, deviceKeyEnv: 'GW_DEVICE_KEY', revokedDevices: [] },
      buffer: { path: '.data/edge/gw-ekimae/buffer.sqlite', maxBytes: 256 * 1024 * 1024, commitIntervalMs: 100, commitMaxItems: 1_000 },
      uplink: {
        mode: 'mqtt',
        url: 'mqtt://127.0.0.1:1883',
        username: 'gw-ekimae',
        batchMaxItems: 500,
        batchMaxDelayMs: 50,
        backlogMaxReadingsPerS: 5_000,
        maxInflightBatches: 8,
        maxLiveBatchesInFlight: 4,
        reconnectMinMs: 500,
        reconnectMaxMs: 30_000,
      },
      metrics: { host: '127.0.0.1', port: 9464 },
      log: { level: 'info' },
    });
    expect(Object.isFrozen(c.uplink)).toBe(true);
    expect(c.uplinkPassword).toBeUndefined();
    expect(c.deviceKey).toBe(DEVICE_KEY);
  });

  it('loads a YAML file, then MICHI_EDGE_* overrides, and resolves the secret without ever showing it', () => {
    const path = file(
      'edge.yaml',
      'pilotId: maebashi-l4-bus\ngatewayId: gw-ekimae\nlocal:\n  deviceKeyEnv: GW_DEVICE_KEY\nuplink:\n  url: mqtts://cloud.example.jp:8883\n  passwordEnv: GW_SECRET\n',
    );
    const c = loadEdgeConfig(path, {
      MICHI_EDGE_CONFIG: path,
      MICHI_EDGE_UPLINK__BATCH_MAX_ITEMS: '200',
      MICHI_EDGE_METRICS__PORT: '0',
      GW_SECRET: 'hunter2-very-secret',
      MICHI_EDGE_LOCAL__REVOKED_DEVICES: '["bus-02"]',
      ...KEY_ENV,
    });
    expect(c.local.revokedDevices).toEqual(['bus-02']);
    expect(c.uplink).toMatchObject({ url: 'mqtts://cloud.example.jp:8883', batchMaxItems: 200, passwordEnv: 'GW_SECRET' });
    expect(c.metrics.port).toBe(0);
    expect(c.uplinkPassword).toBe('hunter2-very-secret');
    expect(JSON.stringify(c)).not.toContain('hunter2');
    expect(inspect(c, { depth: 10 })).not.toContain('hunter2');
    expect(c.deviceKey).toBe(DEVICE_KEY);
    expect(JSON.stringify(c)).not.toContain(DEVICE_KEY);
    expect(inspect(c, { depth: 10 })).not.toContain(DEVICE_KEY);
  });

  it('refuses a missing secret variable, naming it', () => {
    const local = { deviceKeyEnv: 'GW_DEVICE_KEY' };
    expect(() => parseEdgeConfig({ pilotId: 'p1', gatewayId: 'gw', local, uplink: { passwordEnv: 'GW_SECRET' } }, KEY_ENV)).toThrow(
      /uplink.passwordEnv names GW_SECRET, but that environment variable is not set/,
    );
  });

  it('requires a device key (secure by default): named, set, and long enough', () => {
    expect(() => parseEdgeConfig({ pilotId: 'p1', gatewayId: 'gw' })).toThrow(
      /local.deviceKeyEnv: missing; expected the name of the environment variable holding the device key/,
    );
    const local = { deviceKeyEnv: 'GW_DEVICE_KEY' };
    expect(() => parseEdgeConfig({ pilotId: 'p1', gatewayId: 'gw', local }, {})).toThrow(
      /local.deviceKeyEnv names GW_DEVICE_KEY, but that environment variable is not set or empty/,
    );
    expect(() => parseEdgeConfig({ pilotId: 'p1', gatewayId: 'gw', local }, { GW_DEVICE_KEY: 'short' })).toThrow(
      /local.deviceKeyEnv \(GW_DEVICE_KEY\): expected a device key of at least 32 characters/,
    );
    expect(() => parseEdgeConfig({ pilotId: 'p1', gatewayId: 'gw', local: { deviceKeyEnv: 'MICHI_EDGE_KEY' } }, KEY_ENV)).toThrow(
      /outside the MICHI_EDGE_ prefix/,
    );
    expect(() => parseEdgeConfig({ pilotId: 'p1', gatewayId: 'gw', local: { ...local, revokedDevices: ['bus/1'] } }, KEY_ENV)).toThrow(
      /local.revokedDevices\[0\]: expected the device id/,
    );
  });

  it('says what is missing or wrong, with the file and the path', () => {
    const path = file('bad.yaml', 'gatewayId: "gw/1"\nuplink:\n  url: http://x\n  batchMaxItems: 0\nbuffer:\n  bogus: 1\n');
    let err: (Error & { code?: string }) | undefined;
    try {
      loadEdgeConfig(path, {});
    } catch (e) {
      err = e as Error;
    }
    expect(err?.code).toBe(ErrorCodes.CONFIG);
    const text = err?.message ?? '';
    expect(text).toContain(`${path}: pilotId: missing; expected the pilot id as in seeds/`);
    expect(text).toContain(`${path}: gatewayId: expected the gateway id: 1 to 64 letters`);
    expect(text).toContain(`${path}: uplink.url: expected an mqtt:// or mqtts:// URL`);
    expect(text).toContain(`${path}: uplink.batchMaxItems:`);
    expect(text).toMatch(/buffer: Unrecognized key: "bogus"|buffer.*bogus/);
  });

  it('rejects contradictions with a message a person can act on', () => {
    const base = { pilotId: 'p1', gatewayId: 'gw', local: { deviceKeyEnv: 'GW_DEVICE_KEY' } };
    expect(() => parseEdgeConfig({ ...base, buffer: { maxBytes: 4 * 1024 * 1024 } })).toThrow(
      /buffer.maxBytes: buffer.maxBytes \(4194304\) must be larger than uplink.batchMaxBytes × uplink.maxInflightBatches \(8388608\)/,
    );
    expect(() => parseEdgeConfig({ ...base, uplink: { maxInflightBatches: 2, maxLiveBatchesInFlight: 3 } })).toThrow(
      /uplink.maxLiveBatchesInFlight: uplink.maxLiveBatchesInFlight \(3\) must be at most uplink.maxInflightBatches \(2\)/,
    );
    expect(() => parseEdgeConfig({ ...base, uplink: { reconnectMinMs: 5_000, reconnectMaxMs: 1_000 } })).toThrow(
      /uplink.reconnectMaxMs \(1000\) must be at least uplink.reconnectMinMs \(5000\)/,
    );
    expect(() =>
      parseEdgeConfig({ ...base, local: { ...base.local, mqtt: { maxPayloadBytes: 1024 * 1024 } }, uplink: { batchMaxBytes: 512 * 1024 } }),
    ).toThrow(/uplink.batchMaxBytes \(524288\) must be at least local.mqtt.maxPayloadBytes/);
    expect(() => parseEdgeConfig({ ...base, uplink: { passwordEnv: 'MICHI_EDGE_SECRET' } })).toThrow(/outside the MICHI_EDGE_ prefix/);
    expect(() => parseEdgeConfig({ ...base, uplink: { url: 'mqtt://gw:secret@cloud:1883' } })).toThrow(
      /uplink.url: expected a URL without credentials/,
    );
  });
});
