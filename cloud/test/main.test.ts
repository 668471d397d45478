// The michi-cloud process as an operator runs it: a bad configuration exits 2 with a message a
// person can act on; a good one serves until SIGTERM, then exits 0.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfluxDb, waitFor, type InfluxHandle } from '../../scripts/test-support/index.js';
import { FIXTURE_SEEDS, SECRET_ENV, TEST_AUTH } from './support.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--conditions=michi-src', '--import', 'tsx', MAIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

function file(text: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'michi-cloud-main-')), 'cloud.yaml');
  writeFileSync(f, text);
  return f;
}

let influx: InfluxHandle;
beforeAll(async () => {
  influx = await startInfluxDb();
});
afterAll(async () => {
  await influx?.stop();
});

describe('michi-cloud', () => {
  it('exits 2 and names the file and the setting when the configuration is wrong', async () => {
    const f = file('http:\n  port: 99999\n');
    const p = run(['--config', f]);
    expect(await p.exited).toBe(2);
    expect(p.err()).toContain(`${f}: http.port`);
  });

  it('exits 2 and names the seed file, the path inside it and what was expected when a pilot definition is broken', async () => {
    const seeds = mkdtempSync(join(tmpdir(), 'michi-cloud-seeds-'));
    const bus = JSON.parse(readFileSync('seeds/maebashi-l4-bus.json', 'utf8')) as { vehicles: { routeId: string }[] };
    bus.vehicles[0]!.routeId = 'no-such-route';
    writeFileSync(join(seeds, 'maebashi-l4-bus.json'), JSON.stringify(bus));
    const p = run(['--config', file(`seedsDir: ${seeds}\n`)]);
    expect(await p.exited).toBe(2);
    expect(p.err()).toMatch(
      new RegExp(`${join(seeds, 'maebashi-l4-bus.json')}: vehicles\\[0\\]\\.routeId: expected the id of one of the routes`),
    );
  });

  it('serves with MICHI_CLOUD_CONFIG and stops cleanly on SIGTERM', async () => {
    const f = file(
      `seedsDir: ${FIXTURE_SEEDS}\nmqtt:\n  port: 0\nhttp:\n  port: 0\nmetrics:\n  port: 0\ninflux:\n  url: ${influx.url}\nlog:\n  level: info\nauth: ${JSON.stringify(TEST_AUTH)}\n` +
        `alarms:\n  dbFile: ${join(mkdtempSync(join(tmpdir(), 'michi-cloud-alarms-')), 'alarms.sqlite')}\n` +
        `records:\n  dbFile: ${join(mkdtempSync(join(tmpdir(), 'michi-cloud-records-')), 'records.sqlite')}\n`,
    );
    const p = run([], { MICHI_CLOUD_CONFIG: f, ...SECRET_ENV });
    try {
      const url = await waitFor(() => /"url":"(http:[^"]+)"/.exec(p.out())?.[1], { timeoutMs: 20_000, what: 'the start-up log line' });
      const health = await fetch(`${url}/api/v1/health`);
      expect(health.status).toBe(200);
      // The seeds name MICHI_TEST_GW_UNSET_SECRET, which is not set: logged by name, once.
      expect(p.out()).toContain('MICHI_TEST_GW_UNSET_SECRET');
      expect(p.out()).not.toContain(SECRET_ENV.MICHI_TEST_GW_A_SECRET);
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
    } finally {
      p.child.kill('SIGKILL');
    }
  });
});
