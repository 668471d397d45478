import { describe, expect, it } from 'vitest';
import { testPilot } from '../test/pilot-fixture.js';
import { SimErrorCodes } from './errors.js';
import { Fleet, type FleetPilot, type SimReading } from './fleet.js';

const T0 = Date.UTC(2026, 10, 28);

/** `seconds` of readings: every second each vehicle's state, then its link sample when asked. */
function run(pilot: FleetPilot, seconds: number, kinds: readonly ('state' | 'link')[], seed = 42): SimReading[] {
  const fleet = new Fleet(pilot, { seed });
  const out: SimReading[] = [];
  for (let t = 0; t < seconds; t++) {
    if (t > 0) fleet.advance(1);
    for (const v of fleet.vehicles) {
      for (const kind of kinds) {
        const r = fleet.reading(v, kind, T0 + t * 1000);
        if (r) out.push(r);
      }
    }
  }
  return out;
}

describe('Fleet', () => {
  it('builds the vehicles of a pilot, each on its gateway and topics', () => {
    const fleet = new Fleet(testPilot());
    expect(fleet.vehicles.map((v) => [v.model.id, v.model.kind, v.gatewayId])).toEqual([
      ['bus-1', 'bus', 'gw-a'],
      ['bus-2', 'bus', 'gw-a'],
      ['robot-1', 'delivery-robot', 'gw-b'],
    ]);
    expect(fleet.vehicles[0]!.topics).toEqual({
      state: 'michi/v1/test-town/gw-a/bus-1/state',
      link: 'michi/v1/test-town/gw-a/bus-1/link',
      event: 'michi/v1/test-town/gw-a/bus-1/event',
    });
    expect(fleet.gatewayIds()).toEqual(['gw-a', 'gw-b']);
  });

  it('starts a vehicle at its startOffsetM, and spreads the others over their route', () => {
    const fleet = new Fleet(testPilot());
    const [bus1, bus2, robot] = fleet.vehicles.map((v) => v.model);
    expect(bus1!.positionM).toBeCloseTo(100, 9);
    // bus-2 is the only unplaced vehicle on its loop: it starts at 0; the robot likewise on its path.
    expect(bus2!.positionM).toBe(0);
    expect(robot!.positionM).toBe(0);
    const three = new Fleet(
      testPilot({
        vehicles: ['a', 'b', 'c'].map((id) => ({ id, kind: 'bus' as const, routeId: 'loop-rect', gatewayId: 'gw-a', nominalSpeedKmh: 20 })),
      }),
    );
    const cycle = three.vehicles[0]!.model.route.cycleM;
    expect(three.vehicles.map((v) => v.model.positionM / cycle)).toEqual([0, 1 / 3, 2 / 3].map((f) => expect.closeTo(f, 9)));
  });

  it('numbers each source from 1, one up per reading of any kind', () => {
    const readings = run(testPilot(), 30, ['state', 'link']);
    for (const id of ['bus-1', 'bus-2', 'robot-1']) {
      const mine = readings.filter((r) => r.sourceId === id);
      expect(mine).toHaveLength(60);
      expect(mine.map((r) => r.body.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      expect(mine.map((r) => r.kind).slice(0, 4)).toEqual(['state', 'link', 'state', 'link']);
    }
  });

  it('takes no sequence number for a link sample it cannot make (no cell sites)', () => {
    const readings = run(testPilot({ cellSites: [] }), 10, ['state', 'link']);
    expect(readings.every((r) => r.kind === 'state')).toBe(true);
    expect(readings.filter((r) => r.sourceId === 'bus-1').map((r) => r.body.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it("gives the same readings for the same seed, and keeps a vehicle's readings when others are added", () => {
    const a = run(testPilot(), 120, ['state', 'link'], 9);
    expect(run(testPilot(), 120, ['state', 'link'], 9)).toEqual(a);
    expect(run(testPilot(), 120, ['state', 'link'], 10)).not.toEqual(a);

    const pilot = testPilot();
    const more = testPilot({
      vehicles: [
        ...pilot.vehicles,
        { id: 'bus-9', kind: 'bus', routeId: 'loop-rect', gatewayId: 'gw-a', nominalSpeedKmh: 20, startOffsetM: 900 },
      ],
    });
    const bus1 = (rs: SimReading[]): SimReading[] => rs.filter((r) => r.sourceId === 'bus-1');
    expect(bus1(run(more, 120, ['state', 'link'], 9))).toEqual(bus1(a));
  });

  it('makes the same states whether or not link samples are asked for', () => {
    const states = (rs: SimReading[]): unknown[] => rs.filter((r) => r.kind === 'state').map((r) => ({ ...r.body, seq: 0 }));
    expect(states(run(testPilot(), 120, ['state', 'link']))).toEqual(states(run(testPilot(), 120, ['state'])));
  });

  it('refuses a vehicle whose route or gateway the pilot does not define', () => {
    const pilot = testPilot();
    const v = pilot.vehicles[0]!;
    expect(() => new Fleet({ ...pilot, vehicles: [{ ...v, routeId: 'nowhere' }] })).toThrow(
      expect.objectContaining({ code: SimErrorCodes.PILOT, message: expect.stringContaining('route "nowhere"') }),
    );
    expect(() => new Fleet({ ...pilot, vehicles: [{ ...v, gatewayId: 'gw-x' }] })).toThrow(
      expect.objectContaining({ code: SimErrorCodes.PILOT }),
    );
  });
});
