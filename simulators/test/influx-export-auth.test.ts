// `michi-sim record --influx` against an InfluxDB with authentication: the read-only user's
// credentials go in an Authorization header (never in the URL, where request logs keep them), a
// wrong password is refused with InfluxDB's answer and without the password, and a URL carrying
// credentials is refused before any request.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfluxDb, type InfluxHandle } from '../../scripts/test-support/index.js';
import { exportFromInflux, type InfluxExportOptions } from '../src/influx-export.js';
import { michiSim } from './michi-sim-process.js';

const READER = { username: 'michi_reader', password: 'reader-password-of-the-test' };
let influx: InfluxHandle;
const t0 = Date.now() - 60_000;

beforeAll(async () => {
  influx = await startInfluxDb({ admin: { username: 'michi_admin', password: 'admin-password-of-the-test' } });
  await influx.query(`CREATE USER "${READER.username}" WITH PASSWORD '${READER.password}'; GRANT READ ON "michi" TO "${READER.username}"`);
  await influx.write(
    [1, 2, 3].map((i) => `vehicle_state,pilot=test-town,gateway=gw-a,source=bus-1 seq=${i}i,lat=36.38,lon=139.07 ${t0 + i}`),
  );
}, 60_000);

afterAll(async () => {
  await influx?.stop();
});

async function exported(opts: Partial<InfluxExportOptions>): Promise<number[]> {
  const seqs: number[] = [];
  const base = { url: influx.url, database: 'michi', pilotId: 'test-town', fromMs: t0, toMs: t0 + 1_000, kinds: ['state'] as const };
  for await (const r of exportFromInflux({ ...base, ...opts })) seqs.push(Number(r.body.seq));
  return seqs;
}

describe('exporting from an InfluxDB with authentication', () => {
  it('reads as the read-only user', async () => {
    expect(await exported(READER)).toEqual([1, 2, 3]);
  });

  it('is refused without credentials or with a wrong password, and the password is in no message', async () => {
    await expect(exported({})).rejects.toThrow(/InfluxDB \/query answered 401/);
    const err = await exported({ ...READER, password: 'not-the-password' }).catch((e: unknown) => e as Error);
    expect(String(err)).toMatch(/401.*authorization failed/);
    expect(String(err)).not.toContain('not-the-password');
  });

  it('refuses a URL carrying credentials before sending them anywhere', async () => {
    const url = influx.url.replace('http://', `http://${READER.username}:${READER.password}@`);
    const err = await exported({ url }).catch((e: unknown) => e as Error);
    expect(String(err)).toMatch(/without credentials/);
    expect(String(err)).not.toContain(READER.password);
  });
});

describe('michi-sim record --influx', () => {
  async function record(fromMs: number, toMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const dir = await mkdtemp(path.join(tmpdir(), 'michi-record-'));
    try {
      return await michiSim(
        [
          'record',
          '--pilot',
          'test-town',
          '--influx',
          influx.url,
          '--influx-user',
          READER.username,
          '--influx-password-env',
          'MICHI_TEST_READER_PW',
          '--from',
          String(fromMs),
          '--to',
          String(toMs),
          '--out',
          path.join(dir, 'out.mcap'),
        ],
        { env: { ...process.env, MICHI_TEST_READER_PW: READER.password } },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('records the range and exits 0', async () => {
    const out = await record(t0, t0 + 1_000);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('recorded 3 readings of test-town');
  });

  it('warns and exits 1 when the range holds no readings, rather than leaving an empty file unremarked', async () => {
    const out = await record(t0 - 3_600_000, t0 - 1_800_000);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain('recorded 0 readings');
    expect(out.stderr).toContain('no readings of this pilot in this range');
  });
});
