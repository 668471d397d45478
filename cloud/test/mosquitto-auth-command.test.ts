// The documented command of docs/scaling.md, as a person runs it: `michi-ingest-worker --mosquitto-auth
// DIR` writes the password and ACL files, then Debian's Mosquitto, started as root the way its service
// is, drops to its own user and must still read them: a gateway logs in with its secret, a wrong
// secret is refused. Run as root, the files were root's 0600 and Mosquitto locked every gateway out.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startMosquitto, type MosquittoHandle } from '../../scripts/test-support/index.js';
import { FIXTURE_SEEDS, SECRETS, SECRET_ENV } from './support.js';

const WORKER_MAIN = fileURLToPath(new URL('../src/worker-main.ts', import.meta.url));
const WORKER_PASSWORD = 'worker-password-of-the-command-test';
const asRoot = process.getuid?.() === 0;

let dir: string;
let broker: MosquittoHandle | undefined;

function connectAs(username: string, password: string): Promise<number> {
  return new Promise((resolve) => {
    const c = mqtt.connect(broker!.url, { username, password, clientId: `edge-${username}`, reconnectPeriod: 0, connectTimeout: 5_000 });
    c.once('connect', () => {
      c.end(true);
      resolve(0);
    });
    c.once('error', (err) => {
      c.end(true);
      resolve((err as { code?: number }).code ?? -1);
    });
  });
}

function runCommand(args: string[]): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, ['--conditions=michi-src', '--import', 'tsx', WORKER_MAIN, ...args], {
    env: { ...process.env, ...SECRET_ENV, MICHI_TEST_WORKER_PASSWORD: WORKER_PASSWORD },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'michi-mosquitto-auth-'));
  // Mosquitto's own user must be able to reach the files, as under /etc/mosquitto.
  chmodSync(dir, 0o755);
  writeFileSync(
    join(dir, 'cloud.yaml'),
    stringify({ seedsDir: FIXTURE_SEEDS, worker: { brokerUrl: 'mqtt://127.0.0.1:1883', passwordEnv: 'MICHI_TEST_WORKER_PASSWORD' } }),
  );
});

afterAll(async () => {
  await broker?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('michi-ingest-worker --mosquitto-auth', () => {
  it('writes files that the Mosquitto it configures can read after dropping privileges', async () => {
    const out = join(dir, 'michi');
    const r = runCommand(['--config', join(dir, 'cloud.yaml'), '--mosquitto-auth', out]);
    expect(r.status, r.output).toBe(0);
    for (const file of ['passwd', 'acl']) {
      const st = statSync(join(out, file));
      expect((st.mode & 0o777).toString(8), file).toBe('600');
      if (asRoot) expect(st.uid, `${file} belongs to the mosquitto user`).not.toBe(0);
    }

    // Started as root (as the Debian service is), Mosquitto switches to the "mosquitto" user.
    broker = await startMosquitto({ extraConfig: `user mosquitto\ninclude_dir ${out}\n` });
    expect(await connectAs('gw-a', 'not-the-secret')).toBe(5);
    expect(await connectAs('gw-a', SECRETS['gw-a'])).toBe(0);
  });
});
