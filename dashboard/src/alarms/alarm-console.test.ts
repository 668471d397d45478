import { afterEach, describe, expect, it } from 'vitest';
import type { MichiApi } from '../api.js';
import { fakeMichiApi } from '../fake-michi-api.js';
import type { Alarm, AlarmChange, AlarmCounts, Me, PilotDetail } from '../api-types.js';
import { createAppState, type BannerState } from '../app-state.js';
import { ApiError } from '../errors.js';
import { createAlarmConsole, type AlarmConsole } from './alarm-console.js';
import { alarm } from './test-alarms.js';

const T = 1_780_000_000_000;
const PILOT = { id: 'p', vehicles: [], sensors: [], alarmViewerCount: false } as unknown as PilotDetail;
const OPERATOR: Me = { id: 'op-1', role: 'operator', pilots: ['*'] } as Me;
const VIEWER: Me = { id: 'town', role: 'viewer', pilots: ['p'] } as Me;

const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await tick(5);
  if (!check()) throw new Error(`timed out: ${what}`);
}

/** The cloud's alarm routes as far as the console uses them: `open` is what GET /alarms answers. */
class FakeAlarmApi {
  open: Alarm[] = [];
  counts: AlarmCounts = { critical: 0, warning: 0, info: 0 };
  listCalls = 0;
  countCalls = 0;
  /** Holds the next GET /alarms answer until released (a resync overtaken by a live change). */
  hold: Promise<void> | null = null;
  acks: { id: string; comment: string }[] = [];
  refuseAck: ApiError | null = null;

  api(): MichiApi {
    return fakeMichiApi({
      alarms: async () => {
        this.listCalls += 1;
        const snapshot = [...this.open];
        if (this.hold) await this.hold;
        return snapshot;
      },
      alarmCounts: async () => {
        this.countCalls += 1;
        return { ...this.counts };
      },
      acknowledgeAlarm: async (_pilot, id, comment) => {
        if (this.refuseAck) throw this.refuseAck;
        this.acks.push({ id, comment });
        const acked = { ...this.open.find((a) => a.id === id)!, state: 'acknowledged' as const, acknowledgeComment: comment };
        this.open = this.open.map((a) => (a.id === id ? acked : a));
        return acked;
      },
    });
  }
}

function change(changeId: number, kind: AlarmChange['kind'], a: Alarm): { type: 'alarm'; change: AlarmChange } {
  return { type: 'alarm', change: { changeId, kind, atMs: T + changeId, alarm: a } };
}

describe('the alarm console (the alarms slice)', () => {
  let console_: AlarmConsole | null = null;
  afterEach(() => console_?.stop());

  function setUp(me: Me, pilot: PilotDetail = PILOT, pollMs = 20) {
    const fake = new FakeAlarmApi();
    const store = createAppState('live', null);
    const boot = store.writer('boot');
    const app = store.writer('app');
    const cues: string[][] = [];
    const banners: BannerState[] = [];
    console_ = createAlarmConsole({
      state: store,
      writer: store.writer('alarm-console'),
      api: fake.api(),
      role: () => store.get('me')?.role ?? 'viewer',
      reportError: (err) => {
        throw err;
      },
      setBanner: (b) => banners.push(b),
      onNewCritical: (ids) => cues.push([...ids]),
      pollMs,
    });
    const show = () => {
      boot.set('me', me);
      app.set('pilot', pilot);
    };
    return { fake, store, app, cues, banners, show, console: console_ };
  }

  it('fills the list from GET /alarms, sorted, without a cue for alarms already open when the page opened', async () => {
    const { fake, store, cues, show } = setUp(OPERATOR);
    const battery = alarm({ source: 'bus-2', rule: 'low-battery', severity: 'warning', raisedTsMs: T - 10 });
    const mrm = alarm({ source: 'bus-1', rule: 'minimal-risk', raisedTsMs: T });
    fake.open = [battery, mrm];
    show();
    await until(() => store.get('alarms').length === 2, 'the first list');
    expect(store.get('alarms').map((a) => a.id)).toEqual([mrm.id, battery.id]);
    expect(cues).toEqual([]);
    expect(store.get('alarmCounts')).toBeNull();
  });

  it('applies live changes in changeId order, drops repeats, cues a new critical once and again when escalated, removes cleared alarms', async () => {
    const { fake, store, cues, show, console: c } = setUp(OPERATOR);
    show();
    await until(() => fake.listCalls > 0, 'the first list');
    c.feedTransport('websocket');
    await until(() => fake.listCalls >= 2, 'the resync on connect');
    const calls = fake.listCalls;

    const mrm = alarm({ source: 'bus-1', rule: 'minimal-risk', raisedTsMs: T });
    c.feedMessage(change(10, 'raised', mrm));
    expect(store.get('alarms')).toEqual([mrm]);
    expect(cues).toEqual([[mrm.id]]);

    c.feedMessage(change(10, 'raised', mrm));
    c.feedMessage(change(9, 'raised', alarm({ source: 'bus-9', rule: 'minimal-risk', raisedTsMs: T })));
    expect(store.get('alarms')).toEqual([mrm]);
    expect(cues).toHaveLength(1);

    const updated = { ...mrm, count: 5 };
    c.feedMessage(change(11, 'updated', updated));
    expect(store.get('alarms')[0]!.count).toBe(5);
    expect(cues).toHaveLength(1);

    // Nobody acknowledged it for escalateAfterS: the cloud escalates it, and the console calls again.
    const escalated = { ...updated, escalations: 1, escalatedAtMs: T + 300_000 };
    c.feedMessage(change(12, 'escalated', escalated));
    expect(cues).toEqual([[mrm.id], [mrm.id]]);
    expect(store.get('alarms')[0]!.escalations).toBe(1);
    c.feedMessage(change(12, 'escalated', escalated));
    expect(cues).toHaveLength(2);

    c.feedMessage(change(13, 'cleared', { ...escalated, state: 'cleared', clearedBy: 'condition' }));
    expect(store.get('alarms')).toEqual([]);
    // On the socket, no polling.
    await tick(80);
    expect(fake.listCalls).toBe(calls);
  });

  it('on reconnect, a resync answered before a live change does not undo that change', async () => {
    const { fake, store, show, console: c } = setUp(OPERATOR);
    show();
    await until(() => fake.listCalls > 0, 'the first list');
    let release!: () => void;
    fake.hold = new Promise((resolve) => (release = resolve));
    c.feedTransport('websocket');
    await until(() => fake.listCalls >= 2, 'the resync');
    const mrm = alarm({ source: 'bus-1', rule: 'minimal-risk', raisedTsMs: T });
    c.feedMessage(change(3, 'raised', mrm));
    fake.hold = null;
    release();
    await tick(10);
    expect(store.get('alarms')).toEqual([mrm]);
  });

  it('polls GET /alarms while the feed is off, and stops once the socket is open', async () => {
    const { fake, store, show, console: c } = setUp(OPERATOR);
    show();
    await until(() => fake.listCalls >= 3, 'polling before the socket opens');
    fake.open = [alarm({ source: 'bus-1', rule: 'minimal-risk', raisedTsMs: T })];
    await until(() => store.get('alarms').length === 1, 'a polled alarm');
    c.feedTransport('websocket');
    await tick(30);
    const calls = fake.listCalls;
    await tick(80);
    expect(fake.listCalls).toBe(calls);
    c.feedTransport('off');
    await until(() => fake.listCalls > calls + 1, 'polling again while the feed is off (replay)');
  });

  it('acknowledges with the comment and shows the answer at once; a refusal goes to the banner', async () => {
    const { fake, store, banners, show, console: c } = setUp(OPERATOR);
    const mrm = alarm({ source: 'bus-1', rule: 'minimal-risk', raisedTsMs: T });
    fake.open = [mrm];
    show();
    c.feedTransport('websocket');
    await until(() => store.get('alarms').length === 1, 'the list');
    await expect(c.acknowledge(mrm.id, 'driver called')).resolves.toBe(true);
    expect(fake.acks).toEqual([{ id: mrm.id, comment: 'driver called' }]);
    expect(store.get('alarms')[0]!.state).toBe('acknowledged');

    fake.refuseAck = new ApiError('/x', 409, 'the alarm is cleared', 'MICHI_ERR_ALARM_CLEARED');
    await expect(c.acknowledge(mrm.id, 'again')).resolves.toBe(false);
    expect(banners.at(-1)).toEqual({ key: 'alarms.ackFailed', params: { message: 'the alarm is cleared' }, tone: 'error' });
  });

  it('shows a viewer nothing unless the pilot opted in to the count; then only the count, live', async () => {
    const hidden = setUp(VIEWER);
    hidden.show();
    await tick(60);
    expect(hidden.fake.listCalls + hidden.fake.countCalls).toBe(0);
    expect(hidden.store.get('alarmCounts')).toBeNull();
    hidden.console.stop();

    const { fake, store, show, console: c } = setUp(VIEWER, { ...PILOT, alarmViewerCount: true } as PilotDetail);
    fake.counts = { critical: 1, warning: 2, info: 0 };
    show();
    await until(() => store.get('alarmCounts')?.critical === 1, 'the count');
    expect(store.get('alarmCounts')).toEqual({ critical: 1, warning: 2, info: 0 });
    expect(fake.listCalls).toBe(0);
    c.feedTransport('websocket');
    c.feedMessage({ type: 'alarm-count', critical: 0, warning: 1, info: 0 });
    expect(store.get('alarmCounts')).toEqual({ critical: 0, warning: 1, info: 0 });
    // A change meant for operators is ignored by a viewer's page.
    c.feedMessage(change(1, 'raised', alarm({ source: 'bus-1', rule: 'minimal-risk', raisedTsMs: T })));
    expect(store.get('alarms')).toEqual([]);
  });

  it('forgets the last pilot', async () => {
    const { fake, store, app, show } = setUp(OPERATOR);
    fake.open = [alarm({ source: 'bus-1', rule: 'minimal-risk', raisedTsMs: T })];
    show();
    await until(() => store.get('alarms').length === 1, 'the list');
    fake.open = [];
    app.set('pilot', { ...PILOT, id: 'q' } as PilotDetail);
    expect(store.get('alarms')).toEqual([]);
  });
});
