// The operating-state record against the real stack: readings published over MQTT as a gateway
// into the cloud (real InfluxDB) become chained entries; the record is then verified, and attacked
// on its stored files, through the real `michi-cloud verify-records` command in a child process.
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfluxDb, type InfluxHandle } from '../../scripts/test-support/index.js';
import { startCloud, type CloudService } from '../src/cloud-service.js';
import { loadCloudConfig } from '../src/config.js';
import { chainEntry, type RecordEntry } from '../src/records/record-entry.js';
import type { StoredEntry } from '../src/records/index.js';
import { eventOf } from './alarms-support.js';
import { michiCloud } from './cloud-process.js';
import {
  API_TOKENS,
  PILOT,
  SECRET_ENV,
  cloudConfigFile,
  batch,
  connectGateway,
  publishBatch,
  testLogger,
  topicOf,
  vehicleState,
} from './support.js';

const DAY_MS = 86_400_000;
const MODE = { MANUAL: 1, AUTONOMOUS: 2, MINIMAL_RISK: 5 } as const;
const EVENT = { TAKEOVER: 1, EMERGENCY_STOP: 3, GEOFENCE_ENTER: 5 } as const;

let influx: InfluxHandle;
let cloud: CloudService | undefined;
let dir: string;
let config: string;
const clients: MqttClient[] = [];
let seq = 1;

/** A cloud configuration file as an operator writes it, with the record in `recordDir`. */
function configFile(recordDir: string, influxUrl: string): string {
  return cloudConfigFile(influxUrl, { records: { dbFile: join(recordDir, 'records.sqlite'), headsFile: join(recordDir, 'heads.jsonl') } });
}

beforeAll(async () => {
  influx = await startInfluxDb();
  dir = mkdtempSync(join(tmpdir(), 'michi-records-'));
  config = configFile(dir, influx.url);
  cloud = await startCloud(loadCloudConfig(config, SECRET_ENV), { logger: testLogger });
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await cloud?.close();
  await influx?.stop();
});

async function send(gateway: string, items: Parameters<typeof batch>[1]): Promise<Uint8Array> {
  let c = clients.find((x) => x.options.username === gateway);
  if (!c) {
    c = await connectGateway(cloud!.mqttPort, gateway);
    clients.push(c);
  }
  const payload = batch(gateway, items, seq);
  seq += items.length;
  await publishBatch(c, topicOf(gateway), payload);
  return payload;
}

const state = (source: string, ts: number, mode: number, lat = 36.385) =>
  vehicleState(source, ts, seq++, { mode, position: { lat, lon: 139.0733 } });

function entries(vehicle: string): StoredEntry[] {
  return cloud!.records!.store.entries({ pilot: PILOT, vehicle, fromMs: 0, toMs: Number.MAX_SAFE_INTEGER });
}

/** What a person checks of a mode change: when, from what to what, late or not. */
const modeChanges = (vehicle: string) =>
  entries(vehicle)
    .map((s) => s.entry)
    .filter((e) => e.kind === 'mode-change')
    .map((e) => ({ ts: e.sourceTsMs, ...(e.data as object), late: e.late }));

describe('what the record holds', () => {
  const t0 = Date.now() - 60_000;

  it('mode changes and events, with positions, source and receive times, gateway and reading identity', async () => {
    const before = Date.now();
    await send('gw-a', [
      state('bus-1', t0, MODE.AUTONOMOUS),
      state('bus-1', t0 + 1_000, MODE.AUTONOMOUS),
      state('bus-1', t0 + 2_000, MODE.MANUAL, 36.386),
    ]);
    await send('gw-a', [
      state('bus-1', t0 + 3_000, MODE.MANUAL, 36.387),
      // no position of its own: the newest state's (t0 + 3 s)
      { event: { ...eventOf(EVENT.TAKEOVER, 'bus-1', t0 + 3_500, seq++).event, position: null } },
      { event: { ...eventOf(EVENT.EMERGENCY_STOP, 'bus-1', t0 + 4_000, seq++).event, position: { lat: 36.3881234, lon: 139.0745678 } } },
      eventOf(EVENT.GEOFENCE_ENTER, 'bus-1', t0 + 4_500, seq++), // not part of the record
    ]);
    expect(modeChanges('bus-1')).toEqual([
      { ts: t0, fromMode: null, fromTsMs: null, toMode: 'AUTONOMOUS', late: false },
      { ts: t0 + 2_000, fromMode: 'AUTONOMOUS', fromTsMs: t0 + 1_000, toMode: 'MANUAL', late: false },
    ]);
    const all = entries('bus-1').map((s) => s.entry);
    expect(all.map((e) => [e.n, e.kind])).toEqual([
      [0, 'mode-change'],
      [1, 'mode-change'],
      [2, 'takeover'],
      [3, 'emergency-stop'],
    ]);
    const [, manual, takeover, stop] = all as [RecordEntry, RecordEntry, RecordEntry, RecordEntry];
    expect(manual).toMatchObject({
      gateway: 'gw-a',
      reading: { kind: 'state' },
      position: { latE7: 363_860_000, lonE7: 1_390_733_000, from: 'reading' },
    });
    expect(manual.recvMs).toBeGreaterThanOrEqual(before);
    expect(takeover).toMatchObject({ sourceTsMs: t0 + 3_500, position: { latE7: 363_870_000, from: 'latest-state' } });
    expect(takeover.data).toMatchObject({ type: 'TAKEOVER', cause: 'PEDESTRIAN', severity: 'WARNING', durationMs: 4_200 });
    expect(stop.position).toEqual({ latE7: 363_881_234, lonE7: 1_390_745_678, from: 'reading' });
    // Chained: each names the hash of the one before.
    const stored = entries('bus-1');
    for (let i = 1; i < stored.length; i++) expect(stored[i]!.entry.prevHash).toBe(stored[i - 1]!.hash);
  });

  it('a resent batch appends nothing', async () => {
    const payload = await send('gw-a', [state('bus-1', t0 + 5_000, MODE.AUTONOMOUS), eventOf(EVENT.TAKEOVER, 'bus-1', t0 + 5_500, seq++)]);
    const count = entries('bus-1').length;
    await publishBatch(
      clients.find((c) => c.options.username === 'gw-a')!,
      topicOf('gw-a'),
      payload,
    );
    await publishBatch(
      clients.find((c) => c.options.username === 'gw-a')!,
      topicOf('gw-a'),
      payload,
    );
    expect(entries('bus-1').length).toBe(count);
    expect(modeChanges('bus-1').at(-1)).toMatchObject({ ts: t0 + 5_000, fromMode: 'MANUAL', toMode: 'AUTONOMOUS' });
  });

  it('a backlog drained after live data is recorded, late, with each change it reveals', async () => {
    const T = t0 + 10_000;
    // Live data first, as the edge sends it after an outage…
    await send('gw-b', [state('bus-2', T + 10_000, MODE.AUTONOMOUS)]);
    // …then the backlog, oldest first: the vehicle had stopped in a minimal-risk condition meanwhile.
    await send('gw-b', [
      state('bus-2', T, MODE.AUTONOMOUS),
      state('bus-2', T + 3_000, MODE.MINIMAL_RISK),
      eventOf(EVENT.EMERGENCY_STOP, 'bus-2', T + 3_000, seq++),
    ]);
    await send('gw-b', [state('bus-2', T + 4_000, MODE.MINIMAL_RISK), state('bus-2', T + 6_000, MODE.AUTONOMOUS)]);
    expect(modeChanges('bus-2')).toEqual([
      { ts: T + 10_000, fromMode: null, fromTsMs: null, toMode: 'AUTONOMOUS', late: false },
      { ts: T, fromMode: null, fromTsMs: null, toMode: 'AUTONOMOUS', late: true },
      { ts: T + 3_000, fromMode: 'AUTONOMOUS', fromTsMs: T, toMode: 'MINIMAL_RISK', late: true },
      { ts: T + 10_000, fromMode: 'MINIMAL_RISK', fromTsMs: T + 3_000, toMode: 'AUTONOMOUS', late: true },
      { ts: T + 6_000, fromMode: 'MINIMAL_RISK', fromTsMs: T + 4_000, toMode: 'AUTONOMOUS', late: true },
    ]);
    expect(entries('bus-2').find((s) => s.entry.kind === 'emergency-stop')?.entry).toMatchObject({
      sourceTsMs: T + 3_000,
      late: true,
      gateway: 'gw-b',
    });
  });

  it('GET /pilots/:pilot/records: entries with their hashes for operators, 403 for viewers', async () => {
    const res = await fetch(`${cloud!.url}/api/v1/pilots/${PILOT}/records?vehicle=bus-1&from=${t0}&to=${t0 + 5_000}`, {
      headers: { authorization: `Bearer ${API_TOKENS.operator}` },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { entries: { hash: string; entry: RecordEntry }[]; truncated: boolean };
    expect(body.entries.map((e) => e.entry.kind)).toEqual(['mode-change', 'mode-change', 'takeover', 'emergency-stop', 'mode-change']);
    expect(body.entries.map((e) => e.hash)).toEqual(
      entries('bus-1')
        .slice(0, 5)
        .map((s) => s.hash),
    );
    const viewer = await fetch(`${cloud!.url}/api/v1/pilots/${PILOT}/records`, {
      headers: { authorization: `Bearer ${API_TOKENS.viewer}` },
    });
    expect(viewer.status).toBe(403);
  });

  it('retention removes the oldest entries and leaves a checkpoint the chain signs off', () => {
    const stored = entries('bus-1');
    // Everything received before the third entry is past retention.
    const cutoff = stored[2]!.entry.recvMs;
    const older = stored.filter((s) => s.entry.recvMs < cutoff);
    expect(older.length).toBeGreaterThan(0);
    const appended = cloud!.records!.applyRetention(cutoff + 183 * DAY_MS);
    const retention = appended.find((s) => s.entry.vehicle === 'bus-1')!.entry;
    expect(retention).toMatchObject({
      kind: 'retention',
      data: { removedCount: older.length, removedThroughN: older.at(-1)!.entry.n, lastRemovedHash: older.at(-1)!.hash },
    });
    const kept = entries('bus-1');
    expect(kept[0]!.entry.n).toBe(older.length);
    expect(kept[0]!.entry.prevHash).toBe(older.at(-1)!.hash);
    expect(kept.at(-1)!.entry.kind).toBe('retention');
  });
});

describe('michi-cloud verify-records', () => {
  /** A copy of the closed record's files with its own configuration, to attack. */
  function copyOfRecord(): { config: string; db: Database.Database } {
    const copy = mkdtempSync(join(tmpdir(), 'michi-records-attacked-'));
    copyFileSync(join(dir, 'records.sqlite'), join(copy, 'records.sqlite'));
    copyFileSync(join(dir, 'heads.jsonl'), join(copy, 'heads.jsonl'));
    return { config: configFile(copy, influx.url), db: new Database(join(copy, 'records.sqlite')) };
  }
  /** Attacks a copy of the record's database, then runs verify-records on it as an operator would. */
  async function verifyAttacked(attack: (db: Database.Database) => void, ...args: string[]) {
    const { config, db } = copyOfRecord();
    try {
      attack(db);
    } finally {
      db.close();
    }
    return { config, ...(await michiCloud(['verify-records', '--config', config, ...args])) };
  }

  beforeAll(async () => {
    // The cloud stops as an operator stops it; its database is then one file (WAL checkpointed).
    await cloud!.close();
    cloud = undefined;
  });

  it('exits 0 on the intact record, retention included, and exports it as JSON lines that hash as stored', async () => {
    const ok = await michiCloud(['verify-records', '--config', config]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/ok test-town\/bus-1: \d+ entries, n=2…\d+/);
    expect(ok.stdout).toContain('all 2 chains intact');
    const exported = await michiCloud(['export-records', '--config', config, '--vehicle', 'bus-2']);
    expect(exported.code).toBe(0);
    const lines = exported.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { hash: string; entry: RecordEntry });
    expect(lines.map((l) => l.entry.n)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const l of lines) {
      const { entry, hash } = chainEntry(l.entry, l.entry.n, l.entry.prevHash);
      expect(hash).toBe(l.hash);
      expect(entry).toEqual(l.entry);
    }
  });

  it('exits 2 with the usage for an unknown option, and naming the setting for a record that is not there', async () => {
    const bad = await michiCloud(['verify-records', '--vehicel', 'bus-1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown option --vehicel');
    expect(bad.stderr).toContain('usage: michi-cloud verify-records');
    const missing = await michiCloud([
      'verify-records',
      '--config',
      configFile(mkdtempSync(join(tmpdir(), 'michi-records-none-')), influx.url),
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/records\.dbFile: no record database .*records\.sqlite/);
  });

  it('names an altered entry', async () => {
    const r = await verifyAttacked((db) => {
      db.prepare(
        `UPDATE record_entries SET body = replace(body, '"MINIMAL_RISK"', '"AUTONOMOUS"') WHERE vehicle = 'bus-2' AND n = 2`,
      ).run();
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('BROKEN test-town/bus-2 at n=2 (altered)');
    expect(r.stdout).toContain('ok test-town/bus-1');
    // Only the chain asked for:
    expect((await michiCloud(['verify-records', '--config', r.config, '--vehicle', 'bus-1'])).code).toBe(0);
  });

  it('names an inserted entry, even one with a valid hash of its own', async () => {
    const r = await verifyAttacked((db) => {
      const rows = db.prepare(`SELECT n, body, hash FROM record_entries WHERE vehicle = 'bus-2' ORDER BY n`).all() as {
        n: number;
        body: string;
        hash: string;
      }[];
      const copied = JSON.parse(rows[1]!.body) as RecordEntry;
      const forged = chainEntry({ ...copied, sourceTsMs: copied.sourceTsMs + 1 }, 2, rows[1]!.hash);
      db.prepare(`UPDATE record_entries SET n = n + 1000 WHERE vehicle = 'bus-2' AND n >= 2`).run();
      db.prepare(`UPDATE record_entries SET n = n - 999 WHERE vehicle = 'bus-2' AND n >= 1000`).run();
      db.prepare(
        `INSERT INTO record_entries (pilot, vehicle, n, kind, source_ts_ms, recv_ms, identity, body, hash) VALUES (?, 'bus-2', 2, 'mode-change', 0, 0, 'forged', ?, ?)`,
      ).run(PILOT, forged.canonical, forged.hash);
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('BROKEN test-town/bus-2 at n=3 (inserted)');
  });

  it('names a deleted entry in the middle', async () => {
    const r = await verifyAttacked((db) => {
      db.prepare(`DELETE FROM record_entries WHERE vehicle = 'bus-2' AND n = 3`).run();
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('BROKEN test-town/bus-2 at n=3 (deleted): vehicle "bus-2" of pilot "test-town": entry n=3 is missing');
  });

  it('names deleted last entries, by the heads file', async () => {
    const r = await verifyAttacked((db) => {
      db.prepare(`DELETE FROM record_entries WHERE vehicle = 'bus-2' AND n >= 4`).run();
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('BROKEN test-town/bus-2 at n=4 (deleted)');
    expect(r.stderr).toContain('the chain ends at n=3, but the heads file recorded n=5');
  });

  it('names a chain rewritten from an altered entry on, by the heads file', async () => {
    const r = await verifyAttacked((db) => {
      const rows = db.prepare(`SELECT n, body FROM record_entries WHERE vehicle = 'bus-2' ORDER BY n`).all() as {
        n: number;
        body: string;
      }[];
      let prev = (JSON.parse(rows[0]!.body) as RecordEntry).prevHash;
      const update = db.prepare(`UPDATE record_entries SET body = ?, hash = ? WHERE vehicle = 'bus-2' AND n = ?`);
      for (const row of rows) {
        const e = JSON.parse(row.body) as RecordEntry;
        if (row.n === 2) e.late = false;
        const re = chainEntry(e, e.n, prev);
        update.run(re.canonical, re.hash, row.n);
        prev = re.hash;
      }
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('BROKEN test-town/bus-2 at n=5 (rewritten)');
  });

  it('names entries removed from the start outside retention', async () => {
    let first = -1;
    const r = await verifyAttacked(
      (db) => {
        first = (db.prepare(`SELECT MIN(n) AS n FROM record_entries WHERE vehicle = 'bus-1'`).get() as { n: number }).n;
        db.prepare(`DELETE FROM record_entries WHERE vehicle = 'bus-1' AND n = ?`).run(first);
      },
      '--pilot',
      PILOT,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`BROKEN test-town/bus-1 at n=${first} (deleted)`);
  });
});
