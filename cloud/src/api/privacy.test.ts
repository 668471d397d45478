// The coverage resolution a caller gets: H3 cells no finer than the pilot's coarsening grid for
// viewers (the HTTP route is exercised in cloud/test/api-auth.test.ts).
import { getHexagonEdgeLengthAvg, UNITS } from 'h3-js';
import { describe, expect, it } from 'vitest';
import type { Pilot } from '@michi/proto';
import { coarsen, finestH3Resolution, PilotPrivacy } from './privacy.js';

const pilot = (publicCoarsenM: number) =>
  ({ vehicles: [], sensors: [], privacy: { publicHideIds: false, publicPositionDelayS: 0, publicCoarsenM } }) as unknown as Pilot;
const viewer = { id: 'town', role: 'viewer', pilots: '*' } as const;
const operator = { id: 'ops', role: 'operator', pilots: '*' } as const;

describe('finestH3Resolution', () => {
  it('is the finest resolution whose average hexagon edge is at least the coarsening', () => {
    expect(finestH3Resolution(0)).toBe(15);
    expect(finestH3Resolution(50)).toBe(10); // res 10 ≈ 76 m, res 11 ≈ 29 m
    expect(finestH3Resolution(100)).toBe(9); // res 9 ≈ 201 m
    expect(finestH3Resolution(2_000_000)).toBe(0); // nothing is that coarse: the coarsest there is
    for (let m = 1; m <= 5_000; m += 7) {
      const res = finestH3Resolution(m);
      expect(getHexagonEdgeLengthAvg(res, UNITS.m)).toBeGreaterThanOrEqual(m);
      expect(getHexagonEdgeLengthAvg(res + 1, UNITS.m)).toBeLessThan(m);
    }
  });
});

describe('PilotPrivacy.coverageResolution', () => {
  it("clamps a viewer's resolution to the coarsening grid and leaves coarser ones alone", () => {
    const p = new PilotPrivacy(pilot(50), viewer);
    expect(p.coverageResolution(15)).toBe(10);
    expect(p.coverageResolution(10)).toBe(10);
    expect(p.coverageResolution(9)).toBe(9);
  });

  it('leaves operators, and viewers of a pilot that does not coarsen, every resolution', () => {
    expect(new PilotPrivacy(pilot(50), operator).coverageResolution(15)).toBe(15);
    expect(new PilotPrivacy(pilot(0), viewer).coverageResolution(15)).toBe(15);
  });

  it('gives viewers of the demo pilots the dashboard’s res 9 (50 m and 100 m grids)', () => {
    expect(new PilotPrivacy(pilot(50), viewer).coverageResolution(9)).toBe(9);
    expect(new PilotPrivacy(pilot(100), viewer).coverageResolution(9)).toBe(9);
  });
});

describe('PilotPrivacy: what a viewer learns besides the snapped position (finding 3)', () => {
  const p = new PilotPrivacy(pilot(50), viewer);

  it('samples once per ⌈grid / 15 m/s⌉ s: 4 s on 50 m, 7 s on 100 m, none for operators or without a grid', () => {
    expect(p.samplePeriodMs).toBe(4_000);
    expect(new PilotPrivacy(pilot(100), viewer).samplePeriodMs).toBe(7_000);
    expect(new PilotPrivacy(pilot(50), operator).samplePeriodMs).toBe(0);
    expect(new PilotPrivacy(pilot(0), viewer).samplePeriodMs).toBe(0);
  });

  it('times a reading by the end of its period and moves the horizon in whole periods, at least one behind', () => {
    expect(p.timestamp(1_000_000)).toBe(1_004_000);
    expect(p.timestamp(1_003_999)).toBe(1_004_000);
    expect(p.timestamp(1_004_000)).toBe(1_008_000);
    expect(p.delayMs).toBe(4_000); // the pilot's delay is 0: one period
    expect(p.horizon(1_009_500)).toBe(1_003_999);
    expect(p.horizon(1_011_999)).toBe(1_003_999);
    expect(p.horizon(1_012_000)).toBe(1_007_999);
    expect(new PilotPrivacy(pilot(50), operator).horizon(1_009_500)).toBe(1_009_500);
  });

  it('bands speed, drops heading, steps the battery', () => {
    expect([0, 0.4, 2.7, 2.8, 8.3, 8.4, 30].map((s) => p.speed(s))).toEqual([0, 0, 0, 10 / 3.6, 10 / 3.6, 30 / 3.6, 30 / 3.6]);
    expect(p.speed(null)).toBeNull();
    expect(p.heading(123)).toBeNull();
    expect(p.battery(82.49)).toBe(80);
    const op = new PilotPrivacy(pilot(50), operator);
    expect([op.speed(5.55), op.heading(12.3), op.battery(82.49)]).toEqual([5.55, 12.3, 82.49]);
  });

  it('keeps the last track point of each period, coarsened, whatever else the range holds', () => {
    const pt = (ts_ms: number, lat: number) => ({ ts_ms, lat, lon: 139.07, speed_mps: 5, heading_deg: 90, mode: 'AUTONOMOUS' });
    const out = p.trackPoints([pt(1_000_000, 36.38), pt(1_001_000, 36.3801), pt(1_003_000, 36.3802), pt(1_004_000, 36.3803)]);
    expect(out.map((q) => q.ts_ms)).toEqual([1_004_000, 1_008_000]);
    expect(out[0]).toMatchObject({ lat: coarsen(36.3802, 139.07, 50)[0], speed_mps: 10 / 3.6, heading_deg: null, mode: 'AUTONOMOUS' });
  });
});
