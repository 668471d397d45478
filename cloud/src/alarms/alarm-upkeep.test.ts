// The alarm database's upkeep, on a real SQLite file with a clock the test moves: the history is
// pruned by age in small deletes (open alarms keep theirs), and at start-up the open alarms of
// sources no longer in the seeds are cleared, stored, logged and sent to a real webhook receiver.
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { PilotSchema, type Pilot, type michi } from '@michi/proto';
import { waitFor } from '../../../scripts/test-support/index.js';
import { CloudConfigSchema } from '../config.js';
import type { AlarmChange } from './alarm-change.js';
import { AlarmEngine, SOURCE_REMOVED } from './alarm-engine.js';
import { AlarmStore } from './alarm-store.js';
import { AlarmWebhooksSchema, resolveWebhooks } from './webhook-config.js';
import { WebhookOutbox } from './webhook-outbox.js';

const FIXTURE = new URL('../../test/fixtures/seeds/test-town.json', import.meta.url);
const T0 = Date.UTC(2026, 3, 1, 9, 0, 0);
const DAY = 86_400_000;
const KEEP_HISTORY_MS = 400 * DAY;
const GW = { pilot: 'test-town', gateway: 'gw-a', topic: 'michi/v1/test-town/gw-a/batch' };

/** The fixture pilot without its silence rules (every tick would raise them), minus `without` vehicles. */
function pilot(without: readonly string[] = []): Pilot {
  const raw = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, unknown>;
  raw['alarms'] = { rules: { 'source-silent': { enabled: false }, 'gateway-silent': { enabled: false } } };
  raw['vehicles'] = (raw['vehicles'] as { id: string }[]).filter((v) => !without.includes(v.id));
  return PilotSchema.parse(raw);
}

const state = (source: string, ts: number, mode: number): michi.v1.Reading.$Properties => ({
  state: { source_id: source, ts_ms: ts, seq: 1, position: { lat: 36.385, lon: 139.073 }, speed_mps: 0, mode, battery_pct: 80 },
});

class Cloud {
  now = T0;
  readonly logs: Record<string, unknown>[] = [];
  readonly store: AlarmStore;
  readonly engine: AlarmEngine;

  constructor(
    readonly file: string,
    pilots: Pilot[],
    setUp: (store: AlarmStore) => void = () => {},
  ) {
    this.store = new AlarmStore(file);
    setUp(this.store);
    const logger = pino({ level: 'info' }, { write: (line: string) => void this.logs.push(JSON.parse(line) as Record<string, unknown>) });
    this.engine = new AlarmEngine(
      pilots,
      { lateAfterMs: 30_000, tickIntervalMs: 1_000, keepClearedMs: 30 * DAY, keepHistoryMs: KEEP_HISTORY_MS, historyPruneRows: 7 },
      { store: this.store, logger, now: () => this.now },
    );
  }

  /** `source` reports `mode` now (5: minimal risk, 2: autonomous). */
  report(source: string, mode: number): void {
    this.engine.observeBatch(GW, this.now, [state(source, this.now, mode)], [0]);
  }

  historyOf(source: string): AlarmChange[] {
    return this.store.history('test-town', { fromMs: 0, toMs: Infinity, source, limit: 100_000 });
  }

  close(): void {
    this.engine.close();
    this.store.close();
  }
}

const scratchFile = (): string => join(mkdtempSync(join(tmpdir(), 'michi-alarm-upkeep-')), 'alarms.sqlite');

const open: { close(): void }[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

describe('alarm history retention', () => {
  it('deletes changes older than keepHistoryDays a few rows per turn, keeping open alarms’ changes and recent ones', async () => {
    const file = scratchFile();
    const cloud = new Cloud(file, [pilot()]);
    open.push(cloud);
    // A year ago: bus-1 in and out of minimal risk 20 times (40 changes); bus-2 into it, and still there.
    for (let i = 0; i < 20; i++) {
      cloud.report('bus-1', 5);
      cloud.now += 1_000;
      cloud.report('bus-1', 2);
      cloud.now += 1_000;
    }
    cloud.report('bus-2', 5);
    const bus2Alarm = cloud.engine.openAlarms('test-town')[0]!;
    // Then, just inside the retention, one more alarm of bus-1.
    cloud.now = T0 + KEEP_HISTORY_MS - DAY;
    cloud.report('bus-1', 5);
    cloud.now += 1_000;
    cloud.report('bus-1', 2);
    expect(cloud.historyOf('bus-1')).toHaveLength(42);

    cloud.now = T0 + KEEP_HISTORY_MS + DAY;
    let otherWorkRan = false;
    setImmediate(() => (otherWorkRan = true));
    const done = cloud.engine.prune();
    // One small delete, then the event loop's turn: ingest never waits behind the whole prune.
    expect(cloud.historyOf('bus-1')).toHaveLength(42 - 7);
    await done;
    expect(otherWorkRan).toBe(true);

    const bus1 = cloud.historyOf('bus-1');
    expect(bus1.map((c) => c.kind)).toEqual(['cleared', 'raised']);
    expect(bus1.every((c) => c.atMs >= T0 + KEEP_HISTORY_MS - DAY)).toBe(true);
    // Open for more than a year: its raise stays, with the alarm.
    expect(cloud.historyOf('bus-2').map((c) => [c.kind, c.alarm.id])).toEqual([['raised', bus2Alarm.id]]);
    expect(cloud.logs.find((l) => l['msg'] === 'alarm history pruned')).toMatchObject({ pruned: 40 });

    // The file itself, as the next start reads it.
    cloud.close();
    open.length = 0;
    const again = new Cloud(file, [pilot()]);
    open.push(again);
    expect(again.historyOf('bus-1')).toHaveLength(2);
    expect(again.engine.openAlarms('test-town').map((a) => a.id)).toEqual([bus2Alarm.id]);
  });

  it('runs at the first tick and then hourly', async () => {
    const cloud = new Cloud(scratchFile(), [pilot()]);
    open.push(cloud);
    cloud.report('bus-1', 5);
    cloud.now += 1_000;
    cloud.report('bus-1', 2);
    cloud.now = T0 + KEEP_HISTORY_MS - 1;
    cloud.engine.tick(); // the first tick prunes: nothing old enough yet
    await cloud.engine.prune(); // waits for the tick's prune, if still running
    expect(cloud.historyOf('bus-1')).toHaveLength(2);
    cloud.now = T0 + KEEP_HISTORY_MS + 30 * 60_000;
    cloud.engine.tick(); // within the hour: not again
    expect(cloud.historyOf('bus-1')).toHaveLength(2);
    cloud.now = T0 + KEEP_HISTORY_MS + 60 * 60_000;
    cloud.engine.tick();
    await waitFor(() => cloud.historyOf('bus-1').length === 0 || undefined, { what: 'the hourly prune' });
  });

  it('rejects a history kept shorter than the cleared alarms, naming both settings', () => {
    const parsed = CloudConfigSchema.safeParse({ alarms: { keepClearedDays: 30, keepHistoryDays: 7 } });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]).toMatchObject({
      path: ['alarms', 'keepHistoryDays'],
      message: expect.stringContaining('keepHistoryDays to be at least keepClearedDays') as string,
    });
    expect(CloudConfigSchema.parse({}).alarms.keepHistoryDays).toBe(400);
  });
});

describe('alarms of sources removed from the seeds', () => {
  it('are cleared at start-up as source_removed: stored, in the history, logged once, sent to the webhooks', async () => {
    const received: AlarmChange[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as AlarmChange);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    open.push({ close: () => server.close() });
    const { port } = server.address() as AddressInfo;

    const file = scratchFile();
    const before = new Cloud(file, [pilot()]);
    before.report('bus-1', 5);
    before.report('bus-2', 5);
    const [bus1, bus2] = ['bus-1', 'bus-2'].map((s) => before.engine.openAlarms('test-town').find((a) => a.source === s)!);
    before.close();

    // bus-2 retired from the pilot; the cloud restarts with a webhook for every change.
    const webhooks = resolveWebhooks(
      AlarmWebhooksSchema.parse([{ id: 'ops', url: `http://127.0.0.1:${port}/hook`, secretEnv: 'OPS_SECRET' }]),
      () => 's3cret',
    );
    let outbox: WebhookOutbox | undefined;
    const after = new Cloud(file, [pilot(['bus-2'])], (store) => {
      outbox = new WebhookOutbox(store.db, webhooks, { logger: pino({ level: 'silent' }) });
      store.addChangeSink(outbox);
    });
    open.push({ close: () => void outbox!.close().then(() => after.close()) });
    outbox!.start();

    expect(after.engine.openAlarms('test-town').map((a) => a.id)).toEqual([bus1!.id]);
    expect(after.store.listOpen('test-town').map((a) => a.id)).toEqual([bus1!.id]);
    expect(after.store.get(bus2!.id)).toMatchObject({ state: 'cleared', clearedBy: SOURCE_REMOVED, clearedAtMs: after.now });
    expect(after.historyOf('bus-2').map((c) => c.kind)).toEqual(['cleared', 'raised']);
    const logged = after.logs.filter((l) => l['msg'] === 'open alarms of sources no longer in the seeds cleared');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ cleared: 1, pilots: ['test-town'], level: 40 });

    const hook = await waitFor(() => received.find((c) => c.alarm.id === bus2!.id), { what: 'the cleared change at the webhook' });
    expect(hook).toMatchObject({ kind: 'cleared', alarm: { source: 'bus-2', state: 'cleared', clearedBy: 'source_removed' } });
    expect(received.every((c) => c.alarm.source === 'bus-2')).toBe(true);
  });
});
