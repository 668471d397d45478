import { describe, expect, it } from 'vitest';
import { testPilot } from '../test/pilot-fixture.js';
import { checkTriggers } from './alarm-triggers.js';
import { Fleet } from './fleet.js';
import { inPolygon, interiorPoint, pointJustOutside, type PolygonRings } from './geofence-geometry.js';
import type { LonLat } from './route-geometry.js';

/** Per vehicle, the simulated seconds at which it made no state reading, over `seconds` at 1 Hz. */
function silentSeconds(seed: number, seconds: number): Map<string, number[]> {
  const fleet = new Fleet(testPilot(), { seed, autonomy: false, quiet: { perH: 60, durationS: 20 } });
  const out = new Map<string, number[]>();
  for (let t = 0; t < seconds; t++) {
    fleet.advance(t - fleet.simTimeS);
    for (const v of fleet.vehicles) {
      if (fleet.reading(v, 'state', t * 1000) === undefined) out.set(v.model.id, [...(out.get(v.model.id) ?? []), t]);
    }
  }
  return out;
}

describe('--quiet', () => {
  it('silences random vehicles for the given time, the same ones for the same seed', () => {
    const once = silentSeconds(5, 3600);
    expect(silentSeconds(5, 3600)).toEqual(once);
    expect(silentSeconds(6, 3600)).not.toEqual(once);
    // About 60 spells of 20 s an hour over three vehicles (Poisson: well within 30..90).
    const total = [...once.values()].reduce((n, ts) => n + ts.length, 0);
    expect(total / 20).toBeGreaterThan(30);
    expect(total / 20).toBeLessThan(90);
    expect(once.size).toBe(3);
    // Each spell is a run of 20 s or more (two spells may overlap or follow each other).
    for (const ts of once.values()) {
      let run = 1;
      for (let i = 1; i <= ts.length; i++) {
        if (ts[i] === ts[i - 1]! + 1) run++;
        else {
          expect(run).toBeGreaterThanOrEqual(20);
          run = 1;
        }
      }
    }
  });
});

describe('checkTriggers', () => {
  it('refuses two triggers that set the same thing of one vehicle at the same time, and allows the rest', () => {
    const pilot = testPilot();
    expect(() =>
      checkTriggers(pilot, [
        { kind: 'leave-area', atS: 10, durationS: 30 },
        { kind: 'no-go', atS: 30, durationS: 5, vehicleId: 'bus-1' },
      ]),
    ).toThrow('--trigger leave-area@10+30 and no-go@30+5 overlap on vehicle "bus-1": both set its position');
    expect(() =>
      checkTriggers(pilot, [
        { kind: 'speeding', atS: 0, durationS: 30 },
        { kind: 'speeding', atS: 30, durationS: 30 }, // one after the other
        { kind: 'speeding', atS: 10, durationS: 30, vehicleId: 'bus-2' }, // another vehicle
        { kind: 'silent', atS: 5, durationS: 30 }, // silences add up
        { kind: 'silent', atS: 10, durationS: 30 },
        { kind: 'low-battery', atS: 5, durationS: 30 }, // another group
      ]),
    ).not.toThrow();
  });
});

describe('geofence geometry', () => {
  const square: PolygonRings = [
    [
      [139.0, 36.0],
      [139.01, 36.0],
      [139.01, 36.01],
      [139.0, 36.01],
      [139.0, 36.0],
    ],
  ];

  it('puts a point just outside the nearest edge, and outside every area', () => {
    const p = pointJustOutside([square], [139.009, 36.005], 30)!;
    expect(inPolygon(p, square)).toBe(false);
    // East of the east edge by 30 m (at 36° N a degree of longitude is ~90 km).
    expect(p[0]).toBeCloseTo(139.01 + 30 / 90_000, 4);
    expect(p[1]).toBeCloseTo(36.005, 6);
    // With a neighbour to the east, the way out is elsewhere: north or south.
    const east: PolygonRings = [square[0]!.map(([lon, lat]) => [lon + 0.01, lat] as LonLat)];
    const q = pointJustOutside([square, east], [139.009, 36.005], 30)!;
    expect(inPolygon(q, square) || inPolygon(q, east)).toBe(false);
    expect(Math.abs(q[1] - 36.005)).toBeGreaterThan(0.004);
  });

  it('finds a point inside a concave polygon whose centroid is outside it', () => {
    // A U: the centroid falls in the notch.
    const u: PolygonRings = [
      [
        [0 + 139, 36],
        [0.03 + 139, 36],
        [0.03 + 139, 36.03],
        [0.02 + 139, 36.03],
        [0.02 + 139, 36.005],
        [0.01 + 139, 36.005],
        [0.01 + 139, 36.03],
        [0 + 139, 36.03],
        [0 + 139, 36],
      ],
    ];
    expect(inPolygon(interiorPoint(u), u)).toBe(true);
    expect(interiorPoint(square)[0]).toBeCloseTo(139.005, 6);
    expect(interiorPoint(square)[1]).toBeCloseTo(36.005, 6);
  });
});
