import { v1 } from '@michi/proto';
import { describe, expect, it } from 'vitest';
import { testPilot } from '../test/pilot-fixture.js';
import { AutonomyModel, type AutonomyEvent } from './autonomy-model.js';
import { FaultInjector } from './fault-injector.js';
import { Fleet, type SimReading } from './fleet.js';
import { mulberry32 } from './prng.js';
import { scalePilot } from './scale-pilot.js';
import { poisson, SensorModel } from './sensor-model.js';

const M = v1.AutonomyMode;
const T0 = Date.UTC(2026, 10, 28);

describe('AutonomyModel', () => {
  it('draws interventions at their rates per hour of driving, each with a cause, and returns to autonomy', () => {
    const model = new AutonomyModel(mulberry32(1), { takeoverPerH: 10, disengagementPerH: 5, emergencyStopPerH: 2, remoteAssistPerH: 3 });
    const events: AutonomyEvent[] = [];
    const modes = new Set<number>();
    let autonomousS = 0;
    for (let t = 0; t < 100 * 3600; t++) {
      if (model.mode === M.AUTONOMY_MODE_AUTONOMOUS) autonomousS++;
      events.push(...model.step(1, true));
      modes.add(model.mode);
    }
    const perAutonomousHour = (type: number): number => (events.filter((e) => e.body.type === type).length * 3600) / autonomousS;
    // Rates count per hour of autonomous driving; remote assists that escalate add remote interventions.
    expect(perAutonomousHour(v1.EventType.EVENT_TYPE_TAKEOVER)).toBeCloseTo(10, -0.5);
    expect(perAutonomousHour(v1.EventType.EVENT_TYPE_DISENGAGEMENT)).toBeCloseTo(5, -0.5);
    expect(perAutonomousHour(v1.EventType.EVENT_TYPE_EMERGENCY_STOP)).toBeCloseTo(2, -0.3);
    expect(events.every((e) => e.body.cause !== v1.EventCause.EVENT_CAUSE_UNSPECIFIED && (e.body.duration_ms ?? 0) > 0)).toBe(true);
    expect(modes).toEqual(
      new Set([
        M.AUTONOMY_MODE_AUTONOMOUS,
        M.AUTONOMY_MODE_MANUAL,
        M.AUTONOMY_MODE_REMOTE_ASSIST,
        M.AUTONOMY_MODE_REMOTE_DRIVING,
        M.AUTONOMY_MODE_MINIMAL_RISK,
      ]),
    );
  });

  it('starts nothing while standing, and hands a driverless vehicle to the remote operator', () => {
    const still = new AutonomyModel(mulberry32(2), { takeoverPerH: 1_000 });
    for (let t = 0; t < 3600; t++) expect(still.step(1, false)).toEqual([]);
    const robot = new AutonomyModel(
      mulberry32(2),
      { takeoverPerH: 1_000, disengagementPerH: 0, emergencyStopPerH: 0, remoteAssistPerH: 0 },
      false,
    );
    let first;
    while (!first) first = robot.step(1, true)[0];
    expect(robot.mode).toBe(M.AUTONOMY_MODE_REMOTE_DRIVING);
    // A remote driver who loses the link leaves the vehicle in a minimal-risk condition.
    expect(robot.step(1, true, true)[0]?.body).toMatchObject({
      type: v1.EventType.EVENT_TYPE_EMERGENCY_STOP,
      cause: v1.EventCause.EVENT_CAUSE_COMMUNICATION,
    });
    expect(robot.mode).toBe(M.AUTONOMY_MODE_MINIMAL_RISK);
  });
});

describe('Fleet events, sensors and clocks', () => {
  function run(seed: number): SimReading[] {
    const pilot = testPilot({
      sensors: [
        { id: 'lidar-1', kind: 'lidar', gatewayId: 'gw-a', ratePerSecond: 1 },
        { id: 'wx-1', kind: 'weather', gatewayId: 'gw-b', ratePerSecond: 1 },
      ],
    });
    const fleet = new Fleet(pilot, { seed, autonomy: { takeoverPerH: 30, emergencyStopPerH: 10 }, clock: {} });
    const out: SimReading[] = [];
    for (let t = 0; t < 1_800; t++) {
      if (t > 0) fleet.advance(1);
      for (const v of fleet.vehicles) out.push(...fleet.events(v, T0), fleet.reading(v, 'state', T0 + t * 1000)!);
      for (const s of fleet.sensors) out.push(fleet.sensorReading(s, T0 + t * 1000));
    }
    return out;
  }

  it('emits takeovers and emergency stops as events, and the vehicle halts in a minimal-risk condition', () => {
    const readings = run(5);
    const events = readings.filter((r) => r.kind === 'event');
    expect(events.length).toBeGreaterThan(5);
    const stop = events.find((e) => (e.body as { type?: number }).type === v1.EventType.EVENT_TYPE_EMERGENCY_STOP)!;
    expect(stop).toBeDefined();
    const after = readings.filter(
      (r) => r.kind === 'state' && r.sourceId === stop.sourceId && Number(r.body.ts_ms) > Number(stop.body.ts_ms) + 10_000,
    );
    expect((after[0]!.body as { mode: number; speed_mps: number }).mode).toBe(M.AUTONOMY_MODE_MINIMAL_RISK);
    expect((after[0]!.body as { speed_mps: number }).speed_mps).toBe(0);
    // One sequence per source over every kind.
    const seqs = readings.filter((r) => r.sourceId === stop.sourceId).map((r) => Number(r.body.seq));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  });

  it('reports plausible roadside counts and weather, stamps each source with its own clock, and repeats for a seed', () => {
    const readings = run(5);
    const lidar = readings
      .filter((r) => r.sourceId === 'lidar-1')
      .map((r) => r.body as { counts: Record<string, number>; measures: Record<string, number> });
    const perHour = (k: string): number => (lidar.reduce((s, b) => s + b.counts[k]!, 0) * 3600) / lidar.length;
    expect(perHour('vehicles')).toBeGreaterThan(300);
    expect(perHour('vehicles')).toBeLessThan(2_000);
    const wx = readings.filter((r) => r.sourceId === 'wx-1').map((r) => r.body as { measures: Record<string, number> });
    expect(wx.every((b) => b.measures['temperature_c']! > -10 && b.measures['temperature_c']! < 40)).toBe(true);
    const offsets = new Set(readings.filter((r) => r.kind === 'state' && Number(r.body.seq) === 1).map((r) => Number(r.body.ts_ms) - T0));
    expect(offsets.size).toBeGreaterThan(1);
    expect(JSON.stringify(run(5))).toBe(JSON.stringify(readings));
    expect(JSON.stringify(run(6))).not.toBe(JSON.stringify(readings));
  });

  it('draws Poisson counts with the asked mean', () => {
    const rng = mulberry32(9);
    for (const mean of [0.3, 4, 80]) {
      const n = Array.from({ length: 20_000 }, () => poisson(rng, mean));
      expect(n.reduce((s, x) => s + x, 0) / n.length).toBeCloseTo(mean, mean > 10 ? 0 : 1);
    }
    expect(new SensorModel('c', 'counter', rng).reading(T0, 1).counts).toHaveProperty('vehicles');
  });
});

describe('scalePilot', () => {
  it('keeps the seeded vehicles and clones them round-robin beyond', () => {
    const scaled = scalePilot(testPilot(), 10);
    expect(scaled.vehicles.map((v) => v.id)).toEqual([
      'bus-1',
      'bus-2',
      'robot-1',
      'bus-1-x03',
      'bus-2-x04',
      'robot-1-x05',
      'bus-1-x06',
      'bus-2-x07',
      'robot-1-x08',
      'bus-1-x09',
    ]);
    expect(scaled.vehicles[3]).toMatchObject({ kind: 'bus', routeId: 'loop-rect', gatewayId: 'gw-a' });
    expect(scalePilot(testPilot(), 2).vehicles).toHaveLength(2);
    expect(new Fleet(scalePilot(testPilot(), 1_000)).vehicles).toHaveLength(1_000);
  });
});

describe('FaultInjector', () => {
  it('duplicates, corrupts and holds back readings at the asked rates, the same for a seed', () => {
    const fleet = new Fleet(testPilot());
    const reading = (t: number): SimReading => fleet.reading(fleet.vehicles[t % 3]!, 'state', T0 + t * 1000)!;
    const faults = new FaultInjector(1, { duplicateRate: 0.1, malformedRate: 0.05, burstsPerH: 60, burstS: 20 });
    const out = Array.from({ length: 3_000 }, (_, t) => faults.apply(reading(t), t / 3)).flat();
    const stats = faults.stats();
    expect(stats.duplicates).toBeGreaterThan(200);
    expect(stats.malformed).toBeGreaterThan(100);
    expect(stats.bursts).toBeGreaterThan(5);
    expect(out.filter((o) => o.raw).length).toBe(stats.malformed);
    const flushed = faults.flush();
    expect(out.filter((o) => !o.raw).length + flushed.length).toBe(3_000 + stats.duplicates);
  });
});
