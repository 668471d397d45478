// The operating-state record across kill -9 of the cloud process: what a gateway had acknowledged is
// in the record and verifies; after a restart, the edge's resend of that batch appends nothing and a
// new change is derived from the modes the record kept.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfluxDb, type InfluxHandle } from '../../scripts/test-support/index.js';
import type { RecordEntry } from '../src/records/record-entry.js';
import { eventOf } from './alarms-support.js';
import { michiCloud, startCloudProcess } from './cloud-process.js';
import { FIXTURE_SEEDS, TEST_AUTH, batch, connectGateway, publishBatch, topicOf, vehicleState } from './support.js';

let influx: InfluxHandle;
const children: ReturnType<typeof startCloudProcess>[] = [];

beforeAll(async () => {
  influx = await startInfluxDb();
});
afterAll(async () => {
  for (const c of children) c.child.kill('SIGKILL');
  await influx?.stop();
});

function configFile(dir: string, records: string): string {
  const file = join(dir, 'cloud.yaml');
  writeFileSync(
    file,
    `seedsDir: ${FIXTURE_SEEDS}\nmqtt:\n  port: 0\nhttp:\n  port: 0\nmetrics:\n  port: 0\ninflux:\n  url: ${influx.url}\n` +
      `alarms:\n  dbFile: ${join(dir, 'alarms.sqlite')}\n${records}log:\n  level: info\nauth: ${JSON.stringify(TEST_AUTH)}\n`,
  );
  return file;
}

async function startAndConnect(config: string) {
  const p = startCloudProcess(config);
  children.push(p);
  const gw = await connectGateway(await p.mqttPort(), 'gw-a');
  return { p, gw };
}

describe('the record across kill -9', () => {
  it('exits 2 naming records.dbFile when the record database cannot be opened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'michi-records-baddb-'));
    writeFileSync(join(dir, 'a-file'), '');
    const p = startCloudProcess(configFile(dir, `records:\n  dbFile: ${join(dir, 'a-file', 'records.sqlite')}\n`));
    children.push(p);
    expect(await p.exited).toBe(2);
    expect(p.out()).toContain(`records.dbFile: cannot open the record database ${join(dir, 'a-file', 'records.sqlite')}`);
  });

  it('keeps what was acknowledged, verifies, and appends neither the resend nor anything twice after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'michi-records-kill-'));
    const dbFile = join(dir, 'records.sqlite');
    const config = configFile(dir, `records:\n  dbFile: ${dbFile}\n`);
    const t = Date.now() - 30_000;
    const first = batch(
      'gw-a',
      [vehicleState('bus-1', t, 1, { mode: 2 }), vehicleState('bus-1', t + 1_000, 2, { mode: 1 }), eventOf(1, 'bus-1', t + 1_500, 3)],
      1,
    );

    const one = await startAndConnect(config);
    await publishBatch(one.gw, topicOf('gw-a'), first); // acknowledged: the record has it
    one.p.child.kill('SIGKILL');
    expect(await one.p.exited).toBe('SIGKILL');
    one.gw.end(true);

    const verified = await michiCloud(['verify-records', '--config', config]);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain('ok test-town/bus-1: 3 entries, n=0…2');

    const two = await startAndConnect(config);
    // The edge resends what it had not seen acknowledged, then goes on: one state in the same mode, then a change.
    await publishBatch(two.gw, topicOf('gw-a'), first);
    await publishBatch(
      two.gw,
      topicOf('gw-a'),
      batch('gw-a', [vehicleState('bus-1', t + 2_000, 4, { mode: 1 }), vehicleState('bus-1', t + 3_000, 5, { mode: 2 })], 4),
    );
    two.p.child.kill('SIGKILL');
    await two.p.exited;
    two.gw.end(true);

    const db = new Database(dbFile, { readonly: true });
    const rows = db.prepare(`SELECT body FROM record_entries WHERE vehicle = 'bus-1' ORDER BY n`).all() as { body: string }[];
    db.close();
    const entries = rows.map((r) => JSON.parse(r.body) as RecordEntry);
    expect(entries.map((e) => [e.kind, e.sourceTsMs])).toEqual([
      ['mode-change', t],
      ['mode-change', t + 1_000],
      ['takeover', t + 1_500],
      ['mode-change', t + 3_000],
    ]);
    expect(entries[3]!.data).toEqual({ fromMode: 'MANUAL', fromTsMs: t + 2_000, toMode: 'AUTONOMOUS' });
    expect((await michiCloud(['verify-records', '--config', config])).code).toBe(0);
  });
});
