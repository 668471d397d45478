// Open alarms survive kill -9 of the cloud: the michi-cloud process is started as an operator runs
// it, raises an alarm from readings sent over MQTT, is killed with SIGKILL and started again on the
// same alarm database; the alarm is still open with the same id, a continuing condition updates it
// rather than raising a second one, and the resend of an event raises nothing. An alarm of a bus
// taken out of the seeds before the restart is cleared then, as the API shows.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../scripts/test-support/index.js';
import { alarmSeeds, eventOf } from './alarms-support.js';
import { cloudProcessHarness, writeCloudConfig } from './cloud-process.js';
import { apiGet } from './fixtures/api-support.js';
import { API_TOKENS, batch, connectGateway, publishBatch, topicOf, vehicleState } from './support.js';

interface Row {
  id: string;
  state: string;
  body: string;
}

const cloud = cloudProcessHarness();

describe('alarms across kill -9 of the cloud', () => {
  it('exits 2 naming alarms.dbFile when the alarm database cannot be opened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'michi-alarm-baddb-'));
    const notADir = join(dir, 'a-file');
    writeFileSync(notADir, '');
    const config = writeCloudConfig(dir, {
      seedsDir: alarmSeeds({}),
      influxUrl: cloud.influxUrl(),
      more: `alarms:\n  dbFile: ${join(notADir, 'alarms.sqlite')}\n`,
    });
    const p = cloud.start(config);
    expect(await p.exited).toBe(2);
    expect(p.out()).toContain(`alarms.dbFile: cannot open the alarm database ${join(notADir, 'alarms.sqlite')}`);
  });

  it('keeps an open alarm with its id; a continuing condition raises no second one; a resent event raises nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'michi-alarm-restart-'));
    const dbFile = join(dir, 'alarms.sqlite');
    const seedsDir = alarmSeeds({
      updateIntervalS: 0.1,
      rules: { 'source-silent': { enabled: false }, 'gateway-silent': { enabled: false } },
    });
    const config = writeCloudConfig(dir, {
      seedsDir,
      influxUrl: cloud.influxUrl(),
      more: `alarms:\n  dbFile: ${dbFile}\nrecords:\n  dbFile: ${join(dir, 'records.sqlite')}\n`,
    });
    const db = () => new Database(dbFile, { readonly: true });
    const openRows = (): Row[] => {
      const d = db();
      try {
        return d.prepare("SELECT id, state, body FROM alarms WHERE state != 'cleared' ORDER BY rule").all() as Row[];
      } finally {
        d.close();
      }
    };

    const first = cloud.start(config);
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

    const second = cloud.start(config);
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

  it('clears, at the restart, the open alarm of a bus taken out of the seeds: source_removed, in the API and its history', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'michi-alarm-removed-'));
    const silenceOff = { rules: { 'source-silent': { enabled: false }, 'gateway-silent': { enabled: false } } };
    const configWith = (seedsDir: string) =>
      writeCloudConfig(dir, {
        seedsDir,
        influxUrl: cloud.influxUrl(),
        more: `alarms:\n  dbFile: ${join(dir, 'alarms.sqlite')}\nrecords:\n  dbFile: ${join(dir, 'records.sqlite')}\n`,
      });
    const api = async <T>(p: ReturnType<typeof cloud.start>, path: string): Promise<T> => {
      const res = await apiGet({ url: await p.url() }, `/pilots/test-town${path}`, API_TOKENS.operator);
      expect(res.status).toBe(200);
      return (res.body as { alarms: T }).alarms;
    };

    const first = cloud.start(configWith(alarmSeeds(silenceOff)));
    const t = Date.now();
    const gw = await connectGateway(await first.mqttPort(), 'gw-a');
    await publishBatch(
      gw,
      topicOf('gw-a'),
      batch('gw-a', [vehicleState('bus-1', t, 1, { mode: 5 }), vehicleState('bus-2', t, 2, { mode: 5 })], 1),
    );
    await waitFor(async () => (await api<unknown[]>(first, '/alarms')).length === 2 || undefined, {
      timeoutMs: 10_000,
      what: 'the two buses’ alarms',
    });
    gw.end(true);
    first.child.kill('SIGKILL');
    await first.exited;

    // bus-2 retired from the pilot between the two runs.
    const withoutBus2 = alarmSeeds(silenceOff, (town) => {
      town['vehicles'] = (town['vehicles'] as { id: string }[]).filter((v) => v.id !== 'bus-2');
    });
    const second = cloud.start(configWith(withoutBus2));
    try {
      await second.mqttPort();
      const now = await api<{ source: string; state: string }[]>(second, '/alarms');
      expect(now.map((a) => [a.source, a.state])).toEqual([['bus-1', 'active']]);
      const history = await api<{ id: string; state: string; clearedBy: string | null }[]>(second, '/alarms/history?source=bus-2');
      expect(history).toEqual([
        expect.objectContaining({ id: `test-town.bus-2.minimal-risk.${t}`, state: 'cleared', clearedBy: 'source_removed' }),
      ]);
      expect(second.out().match(/open alarms of sources no longer in the seeds cleared/g)).toHaveLength(1);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});
