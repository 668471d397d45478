import { describe, expect, it } from 'vitest';
import { EARTH_RADIUS_M, RouteGeometry, bearingDeg, haversineM, type LonLat } from './route-geometry.js';

/** One degree of a great circle: R·π/180. */
const ONE_DEGREE_M = (EARTH_RADIUS_M * Math.PI) / 180; // 111 195.08 m

describe('haversineM and bearingDeg', () => {
  it('measures a degree of a meridian and of the equator as R·π/180', () => {
    expect(haversineM([139, 35], [139, 36])).toBeCloseTo(ONE_DEGREE_M, 3);
    expect(haversineM([0, 0], [1, 0])).toBeCloseTo(ONE_DEGREE_M, 3);
  });

  it('measures a degree of longitude at 60° N as the great circle, not the parallel', () => {
    // The chord through both points: 2R·asin(cos 60° · sin 0.5°) = 55 597.01 m (the parallel is 55 597.54 m).
    const expected = 2 * EARTH_RADIUS_M * Math.asin(Math.cos(Math.PI / 3) * Math.sin(Math.PI / 360));
    expect(haversineM([0, 60], [1, 60])).toBeCloseTo(expected, 3);
    expect(expected).toBeCloseTo(55_597.01, 1);
  });

  it('gives 0 for north, 90 for east, 180 for south, 270 for west', () => {
    expect(bearingDeg([139, 36], [139, 36.01])).toBeCloseTo(0, 9);
    expect(bearingDeg([139, 0], [139.01, 0])).toBeCloseTo(90, 9);
    expect(bearingDeg([139, 36.01], [139, 36])).toBeCloseTo(180, 9);
    expect(bearingDeg([139.01, 0], [139, 0])).toBeCloseTo(270, 9);
  });
});

// A rectangle in Maebashi, walked anticlockwise from its south-west corner: north, east, south, west.
const SW: LonLat = [139.06, 36.38];
const NW: LonLat = [139.06, 36.39];
const NE: LonLat = [139.07, 36.39];
const SE: LonLat = [139.07, 36.38];
const RECT: LonLat[] = [SW, NW, NE, SE, SW];

describe('RouteGeometry', () => {
  it('sums the haversine lengths of its segments', () => {
    const route = new RouteGeometry(RECT, true);
    const expected = haversineM(SW, NW) + haversineM(NW, NE) + haversineM(NE, SE) + haversineM(SE, SW);
    expect(route.lengthM).toBeCloseTo(expected, 6);
    expect(haversineM(SW, NW)).toBeCloseTo(ONE_DEGREE_M / 100, 3); // 1 111.95 m
    expect(route.cycleM).toBe(route.lengthM);
  });

  it('finds the point at a distance, with the heading of the segment', () => {
    const route = new RouteGeometry(RECT, true);
    const north = haversineM(SW, NW);
    const mid = route.pointAt(north / 2);
    expect(mid.lon).toBeCloseTo(139.06, 9);
    expect(mid.lat).toBeCloseTo(36.385, 6);
    expect(mid.headingDeg).toBeCloseTo(0, 6);
    const east = route.pointAt(north + 10);
    expect(east.lat).toBeCloseTo(36.39, 9);
    expect(east.headingDeg).toBeCloseTo(90, 1);
    expect(route.pointAt(route.lengthM - 10).headingDeg).toBeCloseTo(270, 1);
  });

  it('gives a vertex the heading of the segment the vehicle drives next', () => {
    const route = new RouteGeometry(RECT, true);
    const atNw = route.pointAt(haversineM(SW, NW));
    expect([atNw.lon, atNw.lat]).toEqual([NW[0], NW[1]]);
    expect(atNw.headingDeg).toBeCloseTo(90, 1);
  });

  it('wraps a loop: after one length the vehicle is back at the start', () => {
    const route = new RouteGeometry(RECT, true);
    for (const d of [0, 123.4, 2_000, 3_500]) {
      expect(route.pointAt(d + route.lengthM)).toEqual(route.pointAt(d));
      expect(route.pointAt(d + 3 * route.lengthM).lat).toBeCloseTo(route.pointAt(d).lat, 9);
    }
    expect(route.pointAt(route.lengthM)).toEqual(route.pointAt(0));
  });

  it('closes a loop whose last position is not its first', () => {
    const open = new RouteGeometry([SW, NW, NE, SE], true);
    expect(open.lengthM).toBeCloseTo(new RouteGeometry(RECT, true).lengthM, 6);
  });

  it('drives an out-and-back route to its end and back, heading turned round', () => {
    const line: LonLat[] = [SW, NW, NE];
    const route = new RouteGeometry(line, false);
    expect(route.cycleM).toBeCloseTo(2 * route.lengthM, 9);
    for (const d of [5, 500, 1_500, 2_000]) {
      const out = route.pointAt(d);
      const back = route.pointAt(route.cycleM - d);
      expect(back.lon).toBeCloseTo(out.lon, 9);
      expect(back.lat).toBeCloseTo(out.lat, 9);
      // Signed difference in (-180, 180]: opposite directions differ by 180 either way.
      expect(Math.abs(((back.headingDeg - out.headingDeg + 540) % 360) - 180)).toBeCloseTo(180, 6);
    }
    const end = route.pointAt(route.lengthM);
    expect([end.lon, end.lat]).toEqual([NE[0], NE[1]]);
    expect(end.headingDeg).toBeCloseTo(270, 1); // turned round at the end: heading back west
    expect(route.pointAt(route.cycleM + 5)).toEqual(route.pointAt(5));
  });

  it('skips repeated positions instead of making a segment without a heading', () => {
    const route = new RouteGeometry([SW, SW, NW, NW, NE], false);
    expect(route.lengthM).toBeCloseTo(haversineM(SW, NW) + haversineM(NW, NE), 6);
    expect(Number.isFinite(route.pointAt(0).headingDeg)).toBe(true);
    expect(() => new RouteGeometry([SW, SW], false)).toThrow(RangeError);
  });

  it('projects a point beside the line onto the distance along it', () => {
    const route = new RouteGeometry(RECT, true);
    // 20 m west of the middle of the north-bound side.
    const beside: LonLat = [139.06 - 20 / (ONE_DEGREE_M * Math.cos((36.385 * Math.PI) / 180)), 36.385];
    expect(route.project(beside)).toBeCloseTo(haversineM(SW, NW) / 2, 0);
    expect(route.project(NE)).toBeCloseTo(haversineM(SW, NW) + haversineM(NW, NE), 3);
  });

  it('lists where a vehicle passes a point: once on a loop, each way on an out-and-back route', () => {
    const loop = new RouteGeometry(RECT, true);
    expect(loop.passes(100)).toEqual([100]);
    const line = new RouteGeometry([SW, NW], false);
    expect(line.passes(100)).toEqual([100, 2 * line.lengthM - 100]);
    expect(line.passes(0)).toEqual([0]);
    expect(line.passes(line.lengthM)).toEqual([line.lengthM]);
  });
});
