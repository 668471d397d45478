// michi-edge as a process: exit codes, start-up, a graceful stop on SIGTERM, and device-password.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { devicePassword } from '@michi/proto';
import { waitFor } from '../../scripts/test-support/index.js';
import { DEVICE_KEY } from './support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'michi-edge-main-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}) {
  // The sources, as in the tests: the "michi-src" condition resolves @michi/proto to TypeScript.
  const child = spawn(process.execPath, ['--conditions=michi-src', '--import', 'tsx', 'edge/src/main.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

describe('michi-edge', () => {
  it('exits 2 with the file and the problem when the configuration is wrong', async () => {
    const missing = run(['--config', join(dir, 'nope.yaml')]);
    expect(await missing.exited).toBe(2);
    expect(missing.err()).toMatch(/nope\.yaml: cannot read the configuration file/);

    const path = join(dir, 'unknown-pilot.yaml');
    writeFileSync(path, 'pilotId: atlantis\ngatewayId: gw-1\nlocal:\n  deviceKeyEnv: TEST_DEVICE_KEY\n');
    const unknown = run([], { MICHI_EDGE_CONFIG: path, TEST_DEVICE_KEY: DEVICE_KEY });
    expect(await unknown.exited).toBe(2);
    expect(unknown.err()).toMatch(/pilotId: expected one of the pilots in seeds \(.*"maebashi-l4-bus".*\), got "atlantis"/);

    // Secure by default: no device key, no start.
    const keyless = join(dir, 'keyless.yaml');
    writeFileSync(keyless, 'pilotId: maebashi-l4-bus\ngatewayId: gw-ekimae\n');
    const noKey = run(['-c', keyless]);
    expect(await noKey.exited).toBe(2);
    expect(noKey.err()).toMatch(
      /keyless\.yaml: local\.deviceKeyEnv: missing; expected the name of the environment variable holding the device key/,
    );
    const unset = run(['-c', keyless], { MICHI_EDGE_LOCAL__DEVICE_KEY_ENV: 'TEST_DEVICE_KEY' });
    expect(await unset.exited).toBe(2);
    expect(unset.err()).toMatch(/local\.deviceKeyEnv names TEST_DEVICE_KEY, but that environment variable is not set or empty/);
  });

  it('starts, serves /healthz, and stops cleanly on SIGTERM', async () => {
    const path = join(dir, 'edge.yaml');
    const buffer = join(dir, 'buffer.sqlite');
    writeFileSync(
      path,
      `pilotId: maebashi-l4-bus\ngatewayId: gw-ekimae\nlocal:\n  deviceKeyEnv: TEST_DEVICE_KEY\n  mqtt:\n    port: 0\nmetrics:\n  port: 0\nbuffer:\n  path: ${buffer}\nuplink:\n  url: mqtt://127.0.0.1:9\n`,
    );
    const edge = run(['-c', path], { TEST_DEVICE_KEY: DEVICE_KEY });
    try {
      const started = await waitFor(
        () =>
          edge
            .out()
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as Record<string, unknown>)
            .find((l) => l['msg'] === 'edge agent started'),
        { what: 'the start-up log line', timeoutMs: 20_000 },
      );
      expect(started).toMatchObject({ pilot: 'maebashi-l4-bus', gateway: 'gw-ekimae', devices: 3 });
      const health = await fetch(`http://127.0.0.1:${String(started['metricsPort'])}/healthz`);
      expect(health.status).toBe(200);
      edge.child.kill('SIGTERM');
      expect(await edge.exited).toBe(0);
      expect(edge.out()).toContain('"msg":"edge agent stopped"');
    } finally {
      edge.child.kill('SIGKILL');
    }
  });

  it("device-password prints each device's password from the key in the named variable", async () => {
    const ok = run(['device-password', '--key-env', 'TEST_DEVICE_KEY', 'bus-01', 'bus-02'], { TEST_DEVICE_KEY: DEVICE_KEY });
    expect(await ok.exited).toBe(0);
    expect(ok.out()).toBe(`${devicePassword(DEVICE_KEY, 'bus-01')}\n${devicePassword(DEVICE_KEY, 'bus-02')}\n`);

    const unset = run(['device-password', '--key-env', 'TEST_DEVICE_KEY', 'bus-01']);
    expect(await unset.exited).toBe(2);
    expect(unset.err()).toMatch(/TEST_DEVICE_KEY, but that environment variable is not set/);
    const short = run(['device-password', '--key-env', 'K', 'bus-01'], { K: 'short' });
    expect(await short.exited).toBe(2);
    expect(short.err()).toMatch(/expected a device key of at least 32 characters/);
    const badId = run(['device-password', '--key-env', 'K', 'bus/01'], { K: DEVICE_KEY });
    expect(await badId.exited).toBe(2);
    expect(badId.err()).toMatch(/expected a device id/);
  });
});
