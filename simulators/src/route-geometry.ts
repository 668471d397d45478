/**
 * A route as a vehicle drives it: a GeoJSON LineString ([lon, lat], RFC 7946 §3.1.4) with
 * cumulative great-circle distances, so that "where is a vehicle that has travelled d metres"
 * is a binary search and an interpolation.
 *
 * Travel distance vs. distance along the line: a loop route repeats every `lengthM`; an
 * out-and-back route is driven to its end and back, so its cycle is twice its length and on the
 * way back the position runs the line in reverse with the heading turned round.
 */

export type LonLat = readonly [number, number];

/** Mean Earth radius (IUGG), the same the seed schema measures routes with. */
export const EARTH_RADIUS_M = 6_371_008.8;

const RAD = Math.PI / 180;

export function haversineM(a: LonLat, b: LonLat): number {
  const dLat = (b[1] - a[1]) * RAD;
  const dLon = (b[0] - a[0]) * RAD;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * RAD) * Math.cos(b[1] * RAD) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Initial great-circle bearing from a to b, degrees in [0, 360), 0 = north, clockwise. */
export function bearingDeg(a: LonLat, b: LonLat): number {
  const phi1 = a[1] * RAD;
  const phi2 = b[1] * RAD;
  const dLon = (b[0] - a[0]) * RAD;
  const y = Math.sin(dLon) * Math.cos(phi2);
  const x = Math.cos(phi1) * Math.sin(phi2) - Math.sin(phi1) * Math.cos(phi2) * Math.cos(dLon);
  return normalizeDeg(Math.atan2(y, x) / RAD);
}

export function normalizeDeg(deg: number): number {
  const d = deg % 360;
  return d < 0 ? d + 360 : d;
}

export interface RoutePoint {
  lon: number;
  lat: number;
  /** Direction of travel, degrees in [0, 360), 0 = north, clockwise. */
  headingDeg: number;
}

export class RouteGeometry {
  /** Length of the line, metres. */
  readonly lengthM: number;
  /** Travel distance after which the vehicle is back where it started, heading the same way. */
  readonly cycleM: number;
  readonly loop: boolean;
  private readonly points: LonLat[];
  /** cumulative[i]: distance along the line from the first point to points[i]. */
  private readonly cumulative: number[];
  private readonly headings: number[];

  constructor(coordinates: readonly LonLat[], loop: boolean) {
    // Repeated positions would make zero-length segments, whose heading is undefined.
    const points: LonLat[] = [];
    for (const p of coordinates) {
      const last = points.at(-1);
      if (!last || last[0] !== p[0] || last[1] !== p[1]) points.push([p[0], p[1]]);
    }
    if (loop && points.length > 1) {
      const first = points[0]!;
      const last = points.at(-1)!;
      if (first[0] !== last[0] || first[1] !== last[1]) points.push(first);
    }
    if (points.length < 2) throw new RangeError('a route needs at least two distinct positions');
    this.points = points;
    this.cumulative = [0];
    this.headings = [];
    for (let i = 1; i < points.length; i++) {
      this.cumulative.push(this.cumulative[i - 1]! + haversineM(points[i - 1]!, points[i]!));
      this.headings.push(bearingDeg(points[i - 1]!, points[i]!));
    }
    this.lengthM = this.cumulative.at(-1)!;
    this.loop = loop;
    this.cycleM = loop ? this.lengthM : 2 * this.lengthM;
  }

  /** Travel distance folded into [0, cycleM). */
  wrap(travelM: number): number {
    const d = travelM % this.cycleM;
    return d < 0 ? d + this.cycleM : d;
  }

  /** How far a vehicle at travel distance `fromM` still has to go to reach `toM`, both taken mod the cycle. */
  ahead(fromM: number, toM: number): number {
    return this.wrap(toM - fromM);
  }

  /** Where a vehicle is after travelling `travelM` metres from the start of the line. */
  pointAt(travelM: number): RoutePoint {
    const d = this.wrap(travelM);
    const reverse = !this.loop && d >= this.lengthM;
    const along = reverse ? 2 * this.lengthM - d : d;
    const i = this.segmentIndex(along, reverse);
    const a = this.points[i]!;
    const b = this.points[i + 1]!;
    const segLen = this.cumulative[i + 1]! - this.cumulative[i]!;
    const t = Math.min(1, Math.max(0, (along - this.cumulative[i]!) / segLen));
    // Linear in degrees within a segment: route segments are tens of metres, where the error is
    // far below a GNSS fix's.
    const heading = this.headings[i]!;
    return {
      lon: a[0] + (b[0] - a[0]) * t,
      lat: a[1] + (b[1] - a[1]) * t,
      headingDeg: reverse ? normalizeDeg(heading + 180) : heading,
    };
  }

  /**
   * Distance along the line of the point on it nearest to `p` (on a local equirectangular
   * projection around p; plenty within a town).
   */
  project(p: LonLat): number {
    const kx = Math.cos(p[1] * RAD) * RAD * EARTH_RADIUS_M;
    const ky = RAD * EARTH_RADIUS_M;
    let best = Infinity;
    let bestAlong = 0;
    for (let i = 0; i + 1 < this.points.length; i++) {
      const a = this.points[i]!;
      const b = this.points[i + 1]!;
      const ax = (a[0] - p[0]) * kx;
      const ay = (a[1] - p[1]) * ky;
      const dx = (b[0] - a[0]) * kx;
      const dy = (b[1] - a[1]) * ky;
      const len2 = dx * dx + dy * dy;
      const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, -(ax * dx + ay * dy) / len2));
      const dist = Math.hypot(ax + t * dx, ay + t * dy);
      if (dist < best) {
        best = dist;
        bestAlong = this.cumulative[i]! + t * (this.cumulative[i + 1]! - this.cumulative[i]!);
      }
    }
    return bestAlong;
  }

  /**
   * The travel distances (within one cycle) at which a vehicle passes the point `along` metres
   * down the line: once on a loop, once each way on an out-and-back route (once at either end).
   */
  passes(along: number): number[] {
    const a = Math.min(this.lengthM, Math.max(0, along));
    if (this.loop) return [a % this.lengthM];
    if (a === 0 || a === this.lengthM) return [a];
    return [a, 2 * this.lengthM - a];
  }

  /**
   * The segment holding `along`. Going forward, a vertex belongs to the segment it starts; going
   * backward, to the one it ends, so the heading at a vertex is the one the vehicle drives next.
   */
  private segmentIndex(along: number, reverse: boolean): number {
    const c = this.cumulative;
    const last = c.length - 2;
    let lo = 0;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      const startsBefore = reverse ? c[mid]! < along : c[mid]! <= along;
      if (startsBefore) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
