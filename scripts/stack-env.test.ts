// What `make run` hands each process (scripts/stack-env.mjs): only its own secrets, a umask of 077,
// a log only its user can read; and the edge's buffer files, made by the real SQLite store.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSeeds } from '@michi/proto';
import { BufferStore } from '../edge/src/buffer-store.js';
import { processEnv, secretsNeeded, startProcess } from './stack-env.mjs';
import { waitFor } from './test-support/index.js';

const pilots = loadSeeds(new URL('../seeds', import.meta.url).pathname);
const dir = mkdtempSync(join(tmpdir(), 'michi-stack-env-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every secret of secrets.env, each with a value of its own. */
const needed = secretsNeeded(pilots);
const allNames = new Set([
  ...needed.cloud,
  ...Object.values(needed.edges).flat(),
  ...Object.values(needed.sims).flat(),
  'MICHI_INFLUX_ADMIN_PASSWORD',
  'MICHI_INFLUX_READER_PASSWORD',
]);
const secrets = Object.fromEntries([...allNames].map((name) => [name, `value-of-${name}`]));
/** The secrets whose values appear in an environment. */
const secretsIn = (env: Record<string, string>) =>
  Object.keys(secrets)
    .filter((name) => Object.values(env).includes(secrets[name]!))
    .sort();
/** As if the shell that ran `make run` had sourced secrets.env. */
const inherited = { PATH: process.env['PATH'], ...secrets };

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

describe('the environment of each process of make run', () => {
  it('gives an edge its own gateway secret and device key, and nothing of other gateways', () => {
    const gw = pilots[0]!.gateways[0]!;
    const env = processEnv(inherited, secrets, needed.edges[gw.id]!);
    const own = gw.credentialsRef.replace(/^env:/, '');
    expect(secretsIn(env)).toEqual([own, own.replace(/_SECRET$/, '_DEVICE_KEY')].sort());
    expect(env['PATH']).toBe(process.env['PATH']);
  });

  it('gives a simulator only its gateways device keys', () => {
    for (const p of pilots) {
      const env = processEnv(inherited, secrets, needed.sims[p.id]!);
      expect(secretsIn(env)).toEqual(p.gateways.map((gw) => gw.credentialsRef.replace(/^env:(.*)_SECRET$/, '$1_DEVICE_KEY')).sort());
    }
  });

  it('gives the cloud the gateway secrets, its InfluxDB password and the API tokens, no device key, no other InfluxDB password', () => {
    const names = secretsIn(processEnv(inherited, secrets, needed.cloud));
    expect(names).toContain('MICHI_INFLUX_CLOUD_PASSWORD');
    expect(names).toContain('MICHI_API_TOKEN_OPERATOR');
    expect(names.filter((n) => n.endsWith('_DEVICE_KEY'))).toEqual([]);
    expect(names).not.toContain('MICHI_INFLUX_ADMIN_PASSWORD');
    expect(names).not.toContain('MICHI_INFLUX_READER_PASSWORD');
    expect(names.filter((n) => n.endsWith('_SECRET'))).toHaveLength(pilots.flatMap((p) => p.gateways).length);
  });

  it('a started process holds only its secrets in /proc/<pid>/environ, runs with umask 077 and logs to a 0600 file', async () => {
    const gw = pilots[0]!.gateways[0]!;
    const log = join(dir, 'edge.log');
    writeFileSync(log, 'from an earlier run\n', { mode: 0o644 });
    const child = startProcess(['-e', 'setTimeout(() => {}, 60_000)'], processEnv(inherited, secrets, needed.edges[gw.id]!), log);
    try {
      const pid = child.pid!;
      await waitFor(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('setTimeout'), {
        what: 'the child exec',
        timeoutMs: 10_000,
      });
      const environ = Object.fromEntries(
        readFileSync(`/proc/${pid}/environ`, 'utf8')
          .split('\0')
          .filter(Boolean)
          .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      );
      expect(secretsIn(environ)).toEqual(needed.edges[gw.id]!.slice().sort());
      expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^Umask:\s+0077$/m);
      expect(mode(log)).toBe('600');
      // The caller's umask is left as it was.
      expect(process.umask()).not.toBe(0o077);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('the edge buffer files', () => {
  it('are readable by their user only, whatever the umask', async () => {
    const old = process.umask(0o022);
    try {
      const path = join(dir, 'edge', 'gw-1', 'buffer.sqlite');
      const store = new BufferStore({ path, maxBytes: 1 << 20, commitIntervalMs: 5, commitMaxItems: 1_000 });
      await store.append({ state: { source_id: 'bus-1', ts_ms: Date.now(), seq: 1 } });
      expect(mode(join(dir, 'edge', 'gw-1'))).toBe('700');
      expect(mode(path)).toBe('600');
      expect(mode(`${path}-wal`)).toBe('600');
      expect(mode(`${path}-shm`)).toBe('600');
      await store.close();
    } finally {
      process.umask(old);
    }
  });
});
