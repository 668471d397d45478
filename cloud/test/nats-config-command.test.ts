// The documented command of docs/scaling.md, as a person runs it: `michi-ingest-worker --nats-config
// DIR` writes one configuration per node of worker.nats.cluster; nats-server itself accepts each
// (`nats-server -t`), none holds a secret in clear, and a gateway may publish its own batch subject only.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { goToolPath } from '../../scripts/test-support/index.js';
import { FIXTURE_SEEDS, SECRETS, SECRET_ENV } from './support.js';

const WORKER_MAIN = fileURLToPath(new URL('../src/worker-main.ts', import.meta.url));
const WORKER_PASSWORD = 'worker-password-of-the-nats-command-test';

let dir: string;

const WITH_PASSWORD = { ...SECRET_ENV, MICHI_TEST_WORKER_PASSWORD: WORKER_PASSWORD };

function runCommand(args: string[], env: Record<string, string> = WITH_PASSWORD): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, ['--conditions=michi-src', '--import', 'tsx', WORKER_MAIN, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'michi-nats-config-'));
  const nodes = ['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((host, i) => ({ name: `n${i + 1}`, host }));
  writeFileSync(
    join(dir, 'cloud.yaml'),
    stringify({
      seedsDir: FIXTURE_SEEDS,
      worker: {
        mode: 'nats',
        passwordEnv: 'MICHI_TEST_WORKER_PASSWORD',
        nats: { servers: ['nats://10.0.0.1:4222'], cluster: { storeDir: join(dir, 'js'), nodes } },
      },
    }),
  );
  writeFileSync(
    join(dir, 'no-cluster.yaml'),
    stringify({ seedsDir: FIXTURE_SEEDS, worker: { passwordEnv: 'MICHI_TEST_WORKER_PASSWORD' } }),
  );
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('michi-ingest-worker --nats-config DIR', () => {
  it('writes three node configurations that nats-server accepts, with hashed secrets and per-gateway permissions', () => {
    const out = join(dir, 'out');
    const r = runCommand(['--config', join(dir, 'cloud.yaml'), '--nats-config', out]);
    expect(r.output).toMatch(/wrote .*n1\.conf, .*n2\.conf, .*n3\.conf/);
    expect(r.output).toContain('gateway gw-nosecret has no secret in the environment; left out');
    expect(r.status).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['n1.conf', 'n2.conf', 'n3.conf']);
    const natsServer = goToolPath('nats-server');
    for (const name of ['n1.conf', 'n2.conf', 'n3.conf']) {
      const file = join(out, name);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const text = readFileSync(file, 'utf8');
      for (const secret of [WORKER_PASSWORD, ...Object.values(SECRETS)]) expect(text).not.toContain(secret);
      const check = spawnSync(natsServer, ['-t', '-c', file], { encoding: 'utf8' });
      expect(`${check.stdout}${check.stderr}`).toContain('configuration file');
      expect(check.status).toBe(0);
    }
    const n2 = JSON.parse(readFileSync(join(out, 'n2.conf'), 'utf8').replace(/^#.*\n/, '')) as {
      cluster: { routes: string[] };
      mqtt: { stream_replicas: number };
      accounts: { MICHI: { users: { user: string; permissions: { publish: { allow: string[] } }; allowed_connection_types: string[] }[] } };
    };
    expect(n2.cluster.routes).toEqual(['nats-route://10.0.0.1:6222', 'nats-route://10.0.0.3:6222']);
    expect(n2.mqtt.stream_replicas).toBe(3);
    const gwA = n2.accounts.MICHI.users.find((u) => u.user === 'gw-a')!;
    expect(gwA.permissions.publish.allow).toEqual(['michi.v1.test-town.gw-a.batch']);
    expect(gwA.allowed_connection_types).toEqual(['MQTT']);
    expect(n2.accounts.MICHI.users.find((u) => u.user === 'michi-ingest')!.allowed_connection_types).toEqual(['STANDARD']);
  });

  it('says what is missing: the cluster, or the workers password', () => {
    const noCluster = runCommand(['--config', join(dir, 'no-cluster.yaml'), '--nats-config', join(dir, 'x')]);
    expect(noCluster.status).toBe(2);
    expect(noCluster.output).toContain('--nats-config needs worker.nats.cluster');
    const noPassword = runCommand(['--config', join(dir, 'cloud.yaml'), '--nats-config', join(dir, 'y')], SECRET_ENV);
    expect(noPassword.status).toBe(2);
    expect(noPassword.output).toContain('MICHI_TEST_WORKER_PASSWORD');
  });
});
