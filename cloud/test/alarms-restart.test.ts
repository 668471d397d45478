// Open alarms survive kill -9 of the cloud: the michi-cloud process is started as an operator runs
// it, raises an alarm from readings sent over MQTT, is killed with SIGKILL and started again on the
// same alarm database; the alarm is still open with the same id, a continuing condition updates it
// rather than raising a second one, and the resend of an event raises nothing.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfluxDb, waitFor, type InfluxHandle } from '../../scripts/test-support/index.js';
import { alarmSeeds, eventOf } from './alarms-support.js';
import { startCloudProcess } from './cloud-process.js';
import { TEST_AUTH, batch, connectGateway, publishBatch, topicOf, vehicleState } from './support.js';

interface Row {
  id: string;
  state: string;
  body: string;
}

let influx: InfluxHandle;
const children: ReturnType<typeof startCloudProcess>[] = [];

beforeAll(async () => {
  influx = await startInfluxDb();
});
afterAll(async () => {
  for (const c of children) c.child.kill('SIGKILL');
  await influx?.stop();
});

describe('alarms across kill -9 of the cloud', () => {
  it('exits 2 naming alarms.dbFile when the alarm database cannot be opened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'michi-alarm-baddb-'));
    const notADir = join(dir, 'a-file');
    writeFileSync(notADir, '');
    const config = join(dir, 'cloud.yaml');
    writeFileSync(
      config,
      `seedsDir: ${alarmSeeds({})}\nmqtt:\n  port: 0\nhttp:\n  port: 0\nmetrics:\n  port: 0\ninflux:\n  url: ${influx.url}\n` +
        `alarms:\n  dbFile: ${join(notADir, 'alarms.sqlite')}\nauth: ${JSON.stringify(TEST_AUTH)}\n`,
    );
    const p = startCloudProcess(config);
    children.push(p);
    expect(await p.exited).toBe(2);
    expect(p.out()).toContain(`alarms.dbFile: cannot open the alarm database ${join(notADir, 'alarms.sqlite')}`);
  });

  it('keeps an open alarm with its id; a continuing condition raises no second one; a resent event raises nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'michi-alarm-restart-'));
    const dbFile = join(dir, 'alarms.sqlite');
    const config = join(dir, 'cloud.yaml');
    const seedsDir = alarmSeeds({
      updateIntervalS: 0.1,
      rules: { 'source-silent': { enabled: false }, 'gateway-silent': { enabled: false } },
    });
    writeFileSync(
      config,
      `seedsDir: ${seedsDir}\nmqtt:\n  port: 0\nhttp:\n  port: 0\nmetrics:\n  port: 0\ninflux:\n  url: ${influx.url}\n` +
        `alarms:\n  dbFile: ${dbFile}\nrecords:\n  dbFile: ${join(dir, 'records.sqlite')}\nlog:\n  level: info\nauth: ${JSON.stringify(TEST_AUTH)}\n`,
    );
    const db = () => new Database(dbFile, { readonly: true });
    const openRows = (): Row[] => {
      const d = db();
      try {
        return d.prepare("SELECT id, state, body FROM alarms WHERE state != 'cleared' ORDER BY rule").all() as Row[];
      } finally {
        d.close();
      }
    };

    const first = startCloudProcess(config);
    children.push(first);
    const t = Date.now();
    const stopEvent = batch('gw-a', [eventOf(3, 'bus-1', t, 1)], 1);
    let gw = await connectGateway(await first.mqttPort(), 'gw-a');
    await publishBatch(gw, topicOf('gw-a'), batch('gw-a', [vehicleState('bus-1', t, 2, { mode: 5 })], 2));
    await publishBatch(gw, topicOf('gw-a'), stopEvent);
    const before = await waitFor(() => (openRows().length === 2 ? openRows() : undefined), { timeoutMs: 10_000, what: 'two open alarms' });
    expect(before.map((r) => r.id)).toEqual([`test-town.bus-1.emergency-stop.${t}`, `test-town.bus-1.minimal-risk.${t}`]);
    gw.end(true);
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');

    const second = startCloudProcess(config);
    children.push(second);
    gw = await connectGateway(await second.mqttPort(), 'gw-a');
    try {
      await publishBatch(gw, topicOf('gw-a'), batch('gw-a', [vehicleState('bus-1', t + 1_000, 3, { mode: 5 })], 3));
      await publishBatch(gw, topicOf('gw-a'), stopEvent);
      const after = await waitFor(
        () => {
          const rows = openRows();
          const mrm = rows.find((r) => r.id.includes('minimal-risk'));
          return mrm && (JSON.parse(mrm.body) as { count: number }).count === 2 ? rows : undefined;
        },
        { timeoutMs: 10_000, what: 'the restored alarm updated by the continuing condition' },
      );
      expect(after.map((r) => r.id)).toEqual(before.map((r) => r.id));
      expect(JSON.parse(after[0]!.body)).toMatchObject({ rule: 'emergency-stop', count: 1, state: 'active' });
      const d = db();
      try {
        const raised = d.prepare("SELECT alarm_id FROM alarm_changes WHERE kind = 'raised' ORDER BY change_id").all() as {
          alarm_id: string;
        }[];
        expect(raised.map((r) => r.alarm_id)).toEqual([`test-town.bus-1.minimal-risk.${t}`, `test-town.bus-1.emergency-stop.${t}`]);
      } finally {
        d.close();
      }
      expect(second.out()).toContain('open alarms restored');
    } finally {
      gw.end(true);
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});
