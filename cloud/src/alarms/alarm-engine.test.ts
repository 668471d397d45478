// The engine against a real SQLite store, with an injected clock: pending, keep-firing, flaps,
// hysteresis, escalation, one open alarm per key, resends and backlogs, silence, restarts.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { PilotSchema, type Pilot, type michi } from '@michi/proto';
import { CloudMetrics } from '../metrics.js';
import type { AlarmChange } from './alarm-change.js';
import { AlarmEngine } from './alarm-engine.js';
import { AlarmStore } from './alarm-store.js';

const FIXTURE = new URL('../../test/fixtures/seeds/test-town.json', import.meta.url);
const T0 = Date.UTC(2026, 11, 6, 10, 0, 0);
const GW = { pilot: 'test-town', gateway: 'gw-a', topic: 'michi/v1/test-town/gw-a/batch' };
const logger = pino({ level: 'silent' });

type Reading = michi.v1.Reading.$Properties;

function pilot(alarms: Record<string, unknown> = {}, patch: (p: Record<string, unknown>) => void = () => {}): Pilot {
  const raw = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, unknown>;
  // The silence rules are off unless a test names them: otherwise every tick of the other tests raises them.
  const rules = { 'source-silent': { enabled: false }, 'gateway-silent': { enabled: false }, ...(alarms['rules'] as object) };
  raw['alarms'] = { ...alarms, rules };
  patch(raw);
  return PilotSchema.parse(raw);
}

const state = (ts: number, extra: Partial<michi.v1.VehicleState.$Properties> = {}, source = 'bus-1'): Reading => ({
  state: {
    source_id: source,
    ts_ms: ts,
    seq: 1,
    position: { lat: 36.385, lon: 139.073 },
    speed_mps: 5,
    mode: 2,
    battery_pct: 80,
    ...extra,
  },
});
const link = (ts: number, extra: Partial<michi.v1.LinkSample.$Properties>): Reading => ({
  link: { source_id: 'bus-1', ts_ms: ts, seq: 1, cell_id: 'c', ...extra },
});
const event = (ts: number, type: number): Reading => ({ event: { source_id: 'bus-1', ts_ms: ts, seq: 1, type } });

class Harness {
  now = T0;
  readonly changes: AlarmChange[] = [];
  readonly file: string;
  store: AlarmStore;
  engine: AlarmEngine;
  readonly metrics = new CloudMetrics(undefined, { defaultMetrics: false });

  constructor(
    readonly pilots: Pilot[],
    file?: string,
  ) {
    this.file = file ?? join(mkdtempSync(join(tmpdir(), 'michi-alarms-')), 'alarms.sqlite');
    this.store = new AlarmStore(this.file);
    this.engine = this.make();
  }

  make(): AlarmEngine {
    const engine = new AlarmEngine(
      this.pilots,
      { lateAfterMs: 30_000, tickIntervalMs: 1_000, keepClearedMs: 86_400_000 },
      { store: this.store, logger, metrics: this.metrics, now: () => this.now },
    );
    engine.onChange((c) => this.changes.push(c));
    return engine;
  }

  /** A batch received at the harness's now (cloud time), its readings at their own source times. */
  send(...items: Reading[]): void {
    this.engine.observeBatch(
      GW,
      this.now,
      items,
      items.map((_, i) => i),
    );
  }

  /** Kinds of the changes of one rule (and source), in order. */
  kinds(rule?: string, source?: string): string[] {
    return this.changes
      .filter((c) => (rule === undefined || c.alarm.rule === rule) && (source === undefined || c.alarm.source === source))
      .map((c) => c.kind);
  }

  close(): void {
    this.engine.close();
    this.store.close();
  }
}

let h: Harness | undefined;
afterEach(() => h?.close());

describe('alarm lifecycle', () => {
  it('raises only after pendingS of source time, counts a return within keepFiringS as a flap, clears after keepFiringS', () => {
    h = new Harness([pilot({ rules: { 'minimal-risk': { pendingS: 2, keepFiringS: 3 } } })]);
    h.send(state(T0, { mode: 5 }));
    h.send(state(T0 + 1_000, { mode: 5 }));
    expect(h.kinds()).toEqual([]);
    h.send(state(T0 + 2_000, { mode: 5 }));
    expect(h.kinds()).toEqual(['raised']);
    const raised = h.changes[0]!.alarm;
    expect(raised).toMatchObject({ id: `test-town.bus-1.minimal-risk.${T0 + 2_000}`, severity: 'critical', state: 'active', count: 1 });
    h.send(state(T0 + 3_000, { mode: 2 }));
    h.send(state(T0 + 4_000, { mode: 5 })); // back within keepFiringS: a flap, not a new alarm
    h.send(state(T0 + 5_000, { mode: 2 }));
    h.send(state(T0 + 7_000, { mode: 2 }));
    expect(h.kinds()).toEqual(['raised']);
    h.send(state(T0 + 8_000, { mode: 2 }));
    expect(h.kinds()).toEqual(['raised', 'cleared']);
    expect(h.changes[1]!.alarm).toMatchObject({ id: raised.id, state: 'cleared', flaps: 1, count: 2, clearedBy: 'condition' });
    expect(h.changes[1]!.changeId).toBeGreaterThan(h.changes[0]!.changeId);
  });

  it('keeps one alarm per (pilot, source, rule) and emits updated at most once per updateIntervalS', () => {
    h = new Harness([pilot({ updateIntervalS: 10 })]);
    for (let i = 0; i < 25; i++) {
      h.now = T0 + i * 1_000;
      h.send(state(T0 + i * 1_000, { mode: 5, speed_mps: 0 }));
      h.engine.tick(h.now);
    }
    expect(h.kinds('minimal-risk')).toEqual(['raised', 'updated', 'updated']);
    expect(h.changes.filter((c) => c.alarm.rule === 'minimal-risk').at(-1)!.alarm.count).toBe(21);
    expect(h.engine.openAlarms('test-town')).toHaveLength(1);
    expect(h.engine.openAlarms('test-town')[0]!.count).toBe(25);
    expect(h.store.listOpen('test-town').map((a) => a.rule)).toEqual(['minimal-risk']);
  });

  it('ignores a reading not newer than the newest of its source and kind: a resent batch raises nothing twice', () => {
    h = new Harness([pilot()]);
    const batch = [event(T0, 1), state(T0, { mode: 5 })];
    h.send(...batch);
    h.send(...batch);
    expect(h.kinds().sort()).toEqual(['raised', 'raised']);
    expect(h.changes.map((c) => c.alarm.rule).sort()).toEqual(['minimal-risk', 'takeover']);
    h.engine.close(); // saves unsaved counts
    expect(
      h.store
        .listOpen('test-town')
        .map((a) => [a.rule, a.count])
        .sort(),
    ).toEqual([
      ['minimal-risk', 1],
      ['takeover', 1],
    ]);
  });

  it('does not raise from a late reading (draining backlog), raises gateway-backlog, and lets a late reading clear an open alarm', () => {
    h = new Harness([pilot()]);
    h.now = T0 + 60_000;
    h.send(state(T0, { mode: 5 }), state(T0 + 1_000, { mode: 5 }));
    expect(h.kinds('minimal-risk')).toEqual([]);
    expect(h.kinds('gateway-backlog')).toEqual(['raised']);
    expect(h.changes.find((c) => c.alarm.rule === 'gateway-backlog')!.alarm).toMatchObject({
      source: 'gw-a',
      sourceType: 'gateway',
      worstValue: 59,
    });
    // Live again: raises; the backlog alarm clears lagS after the last batch behind.
    h.send(state(T0 + 59_000, { mode: 5 }));
    expect(h.kinds('minimal-risk')).toEqual(['raised']);
    h.now = T0 + 89_000;
    h.engine.tick();
    expect(h.kinds('gateway-backlog')).toEqual(['raised']);
    h.now = T0 + 90_000;
    h.engine.tick();
    expect(h.kinds('gateway-backlog')).toEqual(['raised', 'cleared']);
    // A late reading of a backlog (newer than the last evaluated) clears an open alarm.
    h.now = T0 + 120_000;
    h.send(state(T0 + 60_000, { mode: 2 }));
    expect(h.kinds('minimal-risk')).toEqual(['raised', 'cleared']);
  });

  it('link-degraded: raised below the raise threshold after forS, cleared only past the clear threshold; absent figures not judged', () => {
    h = new Harness([pilot({ rules: { 'link-degraded': { forS: 2 } } })]);
    h.send(link(T0, { rsrp_dbm: -112 }));
    h.send(link(T0 + 1_000, { rsrp_dbm: 0, sinr_db: 10 })); // RSRP 0 is "not measured"; SINR fine: not degraded, pending restarts
    h.send(link(T0 + 2_000, { rsrp_dbm: -112 }));
    h.send(link(T0 + 3_000, { rtt_ms: 200 }));
    expect(h.kinds()).toEqual([]);
    h.send(link(T0 + 4_000, { rsrp_dbm: -115 }));
    expect(h.kinds()).toEqual(['raised']);
    h.send(link(T0 + 5_000, { rsrp_dbm: -107 })); // above raise, below clear: still degraded
    h.send(link(T0 + 6_000, {})); // nothing measured: not judged
    expect(h.kinds()).toEqual(['raised']);
    h.send(link(T0 + 7_000, { rsrp_dbm: -104, sinr_db: 5, rtt_ms: 20 }));
    expect(h.kinds()).toEqual(['raised', 'cleared']);
    expect(h.changes[1]!.alarm).toMatchObject({ worstValue: -115, unit: 'dBm', count: 2 });
  });

  it('low-battery with hysteresis; geofences: outside the operational area, inside a no-go zone, over a slow zone limit', () => {
    const noGo = {
      type: 'Polygon',
      coordinates: [
        [
          [139.0725, 36.384],
          [139.0735, 36.384],
          [139.0735, 36.385],
          [139.0725, 36.385],
          [139.0725, 36.384],
        ],
      ],
    };
    const slow = {
      type: 'Polygon',
      coordinates: [
        [
          [139.074, 36.386],
          [139.0745, 36.386],
          [139.0745, 36.387],
          [139.074, 36.387],
          [139.074, 36.386],
        ],
      ],
    };
    h = new Harness([
      pilot({}, (p) => {
        (p['geofences'] as unknown[]).push(
          { id: 'gf-nogo', name: { ja: '禁止', en: 'No go' }, kind: 'no-go', geometry: noGo },
          { id: 'gf-slow', name: { ja: '徐行', en: 'Slow' }, kind: 'slow-zone', speedLimitKmh: 10, geometry: slow },
        );
      }),
    ]);
    let ts = T0;
    const at = (lat: number, lon: number, extra: Partial<michi.v1.VehicleState.$Properties> = {}) =>
      h!.send(state((ts += 1_000), { position: { lat, lon }, ...extra }));
    at(36.3845, 139.073); // in the no-go zone
    at(36.3865, 139.0742, { speed_mps: 4 }); // in the slow zone, 14.4 km/h
    at(36.39, 139.08); // outside the operational area
    at(36.3865, 139.0742, { speed_mps: 2 }); // back in the slow zone at 7.2 km/h
    expect(h.kinds('in-no-go-zone')).toEqual(['raised', 'cleared']);
    expect(h.kinds('over-slow-zone-limit')).toEqual(['raised', 'cleared']);
    expect(h.changes.find((c) => c.alarm.rule === 'over-slow-zone-limit')!.alarm.worstValue).toBe(4);
    expect(h.kinds('outside-operational-area')).toEqual(['raised', 'cleared']);
    at(36.3865, 139.0742, { battery_pct: 19 });
    at(36.3865, 139.0742, { battery_pct: 24 }); // above raise, not above clear: still low
    at(36.3865, 139.0742, { battery_pct: undefined }); // not measured: not judged
    expect(h.kinds('low-battery')).toEqual(['raised']);
    at(36.3865, 139.0742, { battery_pct: 26 });
    expect(h.kinds('low-battery')).toEqual(['raised', 'cleared']);
  });

  it('escalates an unacknowledged alarm every escalateAfterS; acknowledging stops it; clear and errors', () => {
    h = new Harness([pilot({ escalateAfterS: 300 })]);
    h.send(event(T0, 3));
    const id = h.changes[0]!.alarm.id;
    h.now = T0 + 299_000;
    h.engine.tick();
    expect(h.kinds('emergency-stop')).toEqual(['raised']);
    h.now = T0 + 300_000;
    h.engine.tick();
    h.now = T0 + 600_000;
    h.engine.tick();
    expect(h.kinds('emergency-stop')).toEqual(['raised', 'escalated', 'escalated']);
    expect(h.changes.filter((c) => c.alarm.rule === 'emergency-stop').at(-1)!.alarm.escalations).toBe(2);
    expect(h.engine.acknowledge(id, 'ops-token', 'driver called')).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'ops-token' });
    h.now = T0 + 1_200_000;
    h.engine.tick();
    expect(h.kinds('emergency-stop')).toEqual(['raised', 'escalated', 'escalated', 'acknowledged']);
    expect(h.engine.clear(id, 'ops-token')).toMatchObject({ state: 'cleared', clearedBy: 'ops-token' });
    expect(() => h!.engine.clear(id, 'ops-token')).toThrow(expect.objectContaining({ code: 'MICHI_ERR_ALARM_CLEARED' }));
    expect(() => h!.engine.acknowledge('test-town/nope/takeover/1', 'x')).toThrow(expect.objectContaining({ code: 'MICHI_ERR_NOT_FOUND' }));
    expect(h.store.get(id)).toMatchObject({ state: 'cleared', acknowledgeComment: 'driver called' });
    expect(h.store.history('test-town', { fromMs: T0, toMs: T0 + 2_000_000 }).map((c) => c.kind)).toEqual([
      'cleared',
      'acknowledged',
      'escalated',
      'escalated',
      'raised',
    ]);
  });

  it('auto-clears an event alarm autoClearS after its last event; without autoClearS it stays', () => {
    h = new Harness([pilot({ rules: { takeover: { autoClearS: 60 } } })]);
    h.send(event(T0, 1), event(T0, 4));
    h.now = T0 + 30_000;
    h.send(event(T0 + 30_000, 1));
    h.now = T0 + 89_000;
    h.engine.tick(); // the second takeover's count is saved once updateIntervalS has passed
    expect(h.kinds('takeover')).toEqual(['raised', 'updated']);
    h.now = T0 + 90_000;
    h.engine.tick();
    expect(h.kinds('takeover')).toEqual(['raised', 'updated', 'cleared']);
    expect(h.changes.filter((c) => c.alarm.rule === 'takeover').at(-1)!.alarm).toMatchObject({ count: 2, clearedBy: 'condition' });
    expect(h.kinds('remote-intervention')).toEqual(['raised']);
  });

  it('source-silent after its silenceS, cleared when it reports; not raised while its gateway is silent', () => {
    h = new Harness([
      pilot(
        { rules: { 'source-silent': {}, 'gateway-silent': { afterS: 30 } } },
        (p) => ((p['vehicles'] as Record<string, unknown>[])[0]!['silenceS'] = 5),
      ),
    ]);
    h.now = T0 + 4_000;
    h.send(state(T0 + 4_000));
    h.now = T0 + 8_000;
    h.send({ sensor: { source_id: 'lidar-1', ts_ms: T0 + 8_000, seq: 1 } }); // gw-a goes on sending
    h.now = T0 + 8_900;
    h.engine.tick();
    expect(h.kinds('source-silent', 'bus-1')).toEqual([]);
    h.now = T0 + 9_000; // bus-1 silent 5 s; gw-a alive (its last batch 1 s ago)
    h.engine.tick();
    expect(h.kinds('source-silent', 'bus-1')).toEqual(['raised']);
    expect(h.changes.at(-1)!.alarm).toMatchObject({ worstValue: 5, unit: 's', sourceType: 'vehicle' });
    h.send(state(T0 + 9_000));
    expect(h.kinds('source-silent', 'bus-1')).toEqual(['raised', 'cleared']);
    // Everything silent for 40 s: the gateways' alarms say so; bus-1 and lidar-1 (gw-a) raise nothing.
    h.now = T0 + 50_000;
    h.engine.tick();
    expect(
      h.changes
        .filter((c) => c.kind === 'raised' && c.alarm.rule === 'gateway-silent')
        .map((c) => c.alarm.source)
        .sort(),
    ).toEqual(['gw-a', 'gw-b', 'gw-nosecret']);
    expect(h.kinds('source-silent', 'bus-1')).toEqual(['raised', 'cleared']);
    expect(h.kinds('source-silent', 'lidar-1')).toEqual([]);
    h.send();
    expect(h.changes.filter((c) => c.kind === 'cleared' && c.alarm.rule === 'gateway-silent').map((c) => c.alarm.source)).toEqual(['gw-a']);
  });

  it('puts back open alarms after a restart: same id, a continuing condition raises no second one, a resent event nothing', () => {
    h = new Harness([pilot()]);
    h.send(state(T0, { mode: 5 }), event(T0, 3));
    const ids = h.changes.map((c) => c.alarm.id).sort();
    // No close(): as after kill -9, only what was committed is there.
    h.store = new AlarmStore(h.file);
    h.engine = h.make();
    expect(
      h.engine
        .openAlarms('test-town')
        .map((a) => a.id)
        .sort(),
    ).toEqual(ids);
    h.send(state(T0 + 1_000, { mode: 5 }), event(T0, 3));
    expect(h.kinds('minimal-risk')).toEqual(['raised']);
    expect(h.kinds('emergency-stop')).toEqual(['raised']);
    expect(h.engine.openAlarms('test-town').find((a) => a.rule === 'minimal-risk')!.count).toBe(2);
  });
});

describe('alarm store', () => {
  it('drops cleared alarms keepClearedMs after their last change, keeps open ones and the history', () => {
    h = new Harness([pilot()]);
    h.send(event(T0, 1), event(T0, 3));
    h.engine.clear(h.changes.find((c) => c.alarm.rule === 'takeover')!.alarm.id, 'ops');
    h.now = T0 + 86_400_000 - 1;
    h.engine.tick(); // the first tick prunes: nothing old enough yet
    expect(h.store.get(h.changes[0]!.alarm.id)).toBeDefined();
    h.now = T0 + 86_400_000 + 60 * 60 * 1_000;
    h.engine.tick();
    expect(h.store.get(h.changes[0]!.alarm.id)).toBeUndefined();
    expect(h.store.listOpen('test-town').map((a) => a.rule)).toEqual(['emergency-stop']);
    expect(h.store.history('test-town', { fromMs: 0, toMs: Infinity, rule: 'takeover' }).map((c) => c.kind)).toEqual(['cleared', 'raised']);
  });

  it('writes each change in one transaction with the change sinks: a failing sink leaves no change behind', () => {
    h = new Harness([pilot()]);
    const queued: number[] = [];
    h.store.addChangeSink({ enqueue: (c) => queued.push(c.changeId) });
    h.send(event(T0, 1));
    expect(queued).toEqual([h.changes[0]!.changeId]);
    h.store.addChangeSink({
      enqueue: () => {
        throw new Error('outbox full');
      },
    });
    h.send(event(T0 + 1_000, 4));
    expect(h.kinds()).toEqual(['raised']); // the failed change reached no listener
    expect(h.store.history('test-town', { fromMs: 0, toMs: Infinity }).map((c) => c.alarm.rule)).toEqual(['takeover']);
    expect(h.store.listOpen('test-town').map((a) => a.rule)).toEqual(['takeover']);
  });
});
