// The coverage resolution a caller gets: H3 cells no finer than the pilot's coarsening grid for
// viewers (the HTTP route is exercised in cloud/test/api-auth.test.ts).
import { getHexagonEdgeLengthAvg, UNITS } from 'h3-js';
import { describe, expect, it } from 'vitest';
import type { Pilot } from '@michi/proto';
import { finestH3Resolution, PilotPrivacy } from './privacy.js';

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
