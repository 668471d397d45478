/**
 * Where a scripted trigger puts a vehicle relative to its pilot's geofences (GeoJSON polygons,
 * [lon, lat]): inside a polygon, at a no-go zone's centroid, or just outside the operational area.
 * Planar in a local equirectangular frame: geofences span a few kilometres, where that is exact to
 * well under a metre.
 */
import { EARTH_RADIUS_M, type LonLat } from './route-geometry.js';

/** A GeoJSON Polygon's rings: the outer boundary first, then any holes. */
export type PolygonRings = readonly (readonly LonLat[])[];

const RAD = Math.PI / 180;

/** Metres east and north of `origin`, and back. */
function frame(origin: LonLat): { toXY: (p: LonLat) => [number, number]; toLonLat: (x: number, y: number) => [number, number] } {
  const kx = EARTH_RADIUS_M * RAD * Math.cos(origin[1] * RAD);
  const ky = EARTH_RADIUS_M * RAD;
  return {
    toXY: (p) => [(p[0] - origin[0]) * kx, (p[1] - origin[1]) * ky],
    toLonLat: (x, y) => [origin[0] + x / kx, origin[1] + y / ky],
  };
}

/** Even-odd rule on one ring (its closing position repeated or not). */
function inRing(p: LonLat, ring: readonly LonLat[]): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i]!;
    const [xj, yj] = ring[j]!;
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Inside the outer ring and in none of its holes (RFC 7946 §3.1.6). */
export function inPolygon(p: LonLat, rings: PolygonRings): boolean {
  const [outer, ...holes] = rings;
  return outer !== undefined && inRing(p, outer) && !holes.some((h) => inRing(p, h));
}

/**
 * A point inside the polygon at its area centroid; when the polygon is concave enough that the
 * centroid falls outside, the middle of the widest stretch of the polygon along the centroid's
 * parallel instead.
 */
export function interiorPoint(rings: PolygonRings): LonLat {
  const outer = rings[0]!;
  const f = frame(outer[0]!);
  const xy = outer.map(f.toXY);
  let a2 = 0;
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < xy.length - 1; i++) {
    const [x0, y0] = xy[i]!;
    const [x1, y1] = xy[i + 1]!;
    const c = x0 * y1 - x1 * y0;
    a2 += c;
    cx += (x0 + x1) * c;
    cy += (y0 + y1) * c;
  }
  const [x, y] = [cx / (3 * a2), cy / (3 * a2)];
  const centroid = f.toLonLat(x, y);
  if (inPolygon(centroid, rings)) return centroid;
  const crossings: number[] = [];
  for (let i = 0; i < xy.length - 1; i++) {
    const [x0, y0] = xy[i]!;
    const [x1, y1] = xy[i + 1]!;
    if (y0 > y !== y1 > y) crossings.push(x0 + ((y - y0) * (x1 - x0)) / (y1 - y0));
  }
  crossings.sort((p, q) => p - q);
  let best: [number, number] = [crossings[0]!, crossings[1]!];
  for (let i = 0; i + 1 < crossings.length; i += 2) {
    if (crossings[i + 1]! - crossings[i]! > best[1] - best[0]) best = [crossings[i]!, crossings[i + 1]!];
  }
  return f.toLonLat((best[0] + best[1]) / 2, y);
}

/**
 * The point `marginM` beyond the boundary of `areas` nearest to `from`: where a vehicle that strayed
 * out of its operational area would be. Outside every one of the polygons; undefined if no edge
 * offers such a point (areas that tile each other completely).
 */
export function pointJustOutside(areas: readonly PolygonRings[], from: LonLat, marginM: number): LonLat | undefined {
  const f = frame(from);
  let best: { p: LonLat; d: number } | undefined;
  for (const rings of areas) {
    const ring = rings[0]!.map(f.toXY);
    for (let i = 0; i < ring.length - 1; i++) {
      const [ax, ay] = ring[i]!;
      const [bx, by] = ring[i + 1]!;
      const len = Math.hypot(bx - ax, by - ay);
      if (len === 0) continue;
      // The foot of the perpendicular from `from` (the origin) on the edge, kept on the edge.
      const t = Math.min(1, Math.max(0, (-ax * (bx - ax) - ay * (by - ay)) / (len * len)));
      const fx = ax + t * (bx - ax);
      const fy = ay + t * (by - ay);
      const nx = -(by - ay) / len;
      const ny = (bx - ax) / len;
      for (const side of [1, -1]) {
        const p = f.toLonLat(fx + side * nx * marginM, fy + side * ny * marginM);
        if (areas.some((a) => inPolygon(p, a))) continue;
        const d = Math.hypot(fx + side * nx * marginM, fy + side * ny * marginM);
        if (!best || d < best.d) best = { p, d };
      }
    }
  }
  return best?.p;
}
