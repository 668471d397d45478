/**
 * The public (viewer) view of a pilot, as its `privacy` settings in the seeds ask: vehicle and
 * sensor ids replaced by neutral aliases (`vehicle-1`, `sensor-1`, in seed order), positions
 * shown `publicPositionDelayS` late and snapped to a grid of `publicCoarsenM` metres, H3 coverage
 * cells no finer than that grid. Operators see everything as it is.
 *
 * Where positions are coarsened, whatever else a viewer gets is as coarse as the grid (pen-test
 * finding 3: exact speed and heading at 1 Hz undid a 50 m grid to ~5 m by dead reckoning): one
 * point per vehicle per `samplePeriodMs` (the time to cross a cell at VIEWER_MAX_SPEED_MPS) with
 * its timestamp floored to that period, speed in bands, no heading, no seq or receive time, the
 * battery in whole steps (its drain per kilometre is an odometer). docs/security.md states what
 * an attacker recovers from that, as measured by cloud/test/security-viewer-privacy.test.ts.
 */
import { getHexagonEdgeLengthAvg, UNITS } from 'h3-js';
import type { Pilot } from '@michi/proto';
import type { Principal } from '../auth.js';

/** Metres per degree of latitude (and of longitude at the equator) on the mean Earth sphere. */
const M_PER_DEG = 111_320;

/**
 * A speed no vehicle of a pilot exceeds for long (54 km/h): at most one viewer point per the time
 * it takes to cross a grid cell at this speed, so consecutive points are about a cell apart or more
 * and the times at which the snapped position changes do not locate the vehicle within a cell.
 */
export const VIEWER_MAX_SPEED_MPS = 15;
/**
 * Lower bounds of the speed bands a viewer sees, m/s (0, 10, 30 km/h): "under 10 km/h (or
 * stopped)", "10–30 km/h", "30 km/h or more". Integrating a band gives no distance finer than a cell.
 */
export const VIEWER_SPEED_BANDS_MPS: readonly number[] = [0, 10 / 3.6, 30 / 3.6];
/** Battery steps a viewer sees, percent: a bus uses ~0.4 % per km, so 0.01 % would be 25 m. */
export const VIEWER_BATTERY_STEP_PCT = 5;

/** H3's finest resolution. */
const H3_MAX_RES = 15;
/** Average hexagon edge in metres per H3 resolution (h3-js's table: res 9 ≈ 201 m, res 10 ≈ 76 m, res 11 ≈ 29 m). */
const H3_EDGE_M = Array.from({ length: H3_MAX_RES + 1 }, (_, res) => getHexagonEdgeLengthAvg(res, UNITS.m));

/**
 * The finest H3 resolution whose average edge is at least `metres` (0 when none is that coarse):
 * cells that size say no more about where a reading was than the coarsened positions do.
 */
export function finestH3Resolution(metres: number): number {
  if (metres <= 0) return H3_MAX_RES;
  let res = 0;
  while (res < H3_MAX_RES && H3_EDGE_M[res + 1]! >= metres) res++;
  return res;
}

/**
 * Snaps a position to a grid of `metres`: latitude to multiples of metres / 111 320 degrees, then
 * longitude to multiples of metres / (111 320 × cos(snapped latitude)) degrees.
 */
export function coarsen(lat: number, lon: number, metres: number): [number, number] {
  if (metres <= 0) return [lat, lon];
  const latStep = metres / M_PER_DEG;
  const cLat = Math.round(lat / latStep) * latStep;
  const lonStep = metres / (M_PER_DEG * Math.max(0.01, Math.cos((cLat * Math.PI) / 180)));
  return [cLat, Math.round(lon / lonStep) * lonStep];
}

/** What trackPoints filters: a timed position with speed and heading. */
export interface TrackPointLike {
  ts_ms: number;
  lat: number;
  lon: number;
  speed_mps: number | null;
  heading_deg: number | null;
}

export class PilotPrivacy {
  /** False for operators: everything is shown as it is. */
  readonly filtered: boolean;
  readonly hideIds: boolean;
  readonly delayMs: number;
  readonly coarsenM: number;
  /**
   * 0 where positions are not coarsened; else a viewer's period per vehicle, ms: one point per
   * period at most, timestamped with the period's start (ceil(coarsenM / VIEWER_MAX_SPEED_MPS) s).
   */
  readonly samplePeriodMs: number;
  /** The finest coverage resolution this caller gets: 15, or as coarse as the grid of `coarsenM`. */
  private readonly maxH3Res: number;
  private readonly toAlias = new Map<string, string>();
  private readonly fromAlias = new Map<string, string>();

  constructor(pilot: Pilot, principal: Principal) {
    this.filtered = principal.role === 'viewer';
    this.hideIds = this.filtered && pilot.privacy.publicHideIds;
    this.coarsenM = this.filtered ? pilot.privacy.publicCoarsenM : 0;
    this.maxH3Res = finestH3Resolution(this.coarsenM);
    this.samplePeriodMs = this.coarsenM > 0 ? Math.ceil(this.coarsenM / VIEWER_MAX_SPEED_MPS) * 1000 : 0;
    // At least one period: the state as of the last multiple of it comes from history (InfluxDB,
    // the live feed's delay history), never from the latest reading.
    this.delayMs = this.filtered ? Math.max(pilot.privacy.publicPositionDelayS * 1000, this.samplePeriodMs) : 0;
    if (this.hideIds) {
      pilot.vehicles.forEach((v, i) => this.alias(v.id, `vehicle-${i + 1}`));
      pilot.sensors.forEach((s, i) => this.alias(s.id, `sensor-${i + 1}`));
    }
  }

  private alias(id: string, alias: string): void {
    this.toAlias.set(id, alias);
    this.fromAlias.set(alias, id);
  }

  /** The id a caller sees. */
  publicId(id: string): string {
    return this.hideIds ? (this.toAlias.get(id) ?? 'unknown') : id;
  }

  /** The real id of an id a caller sent (an alias when ids are hidden); undefined when it names nothing. */
  privateId(id: string): string | undefined {
    return this.hideIds ? this.fromAlias.get(id) : id;
  }

  position(lat: number, lon: number): [number, number] {
    return coarsen(lat, lon, this.coarsenM);
  }

  /**
   * A reading's timestamp as this caller sees it: where there is a sample period, the end of the
   * period the reading is in (a viewer gets the state as of each multiple of the period: the last
   * reading before it).
   */
  timestamp(tsMs: number): number {
    const t = this.samplePeriodMs;
    return t > 0 ? Math.floor(tsMs / t) * t + t : tsMs;
  }

  /** A speed as this caller sees it: the lower bound of its band (VIEWER_SPEED_BANDS_MPS) where positions are coarsened. */
  speed(mps: number | null): number | null {
    if (this.samplePeriodMs === 0 || mps === null) return mps;
    let band = 0;
    for (const lower of VIEWER_SPEED_BANDS_MPS) if (mps >= lower) band = lower;
    return band;
  }

  /** A heading as this caller sees it: none where positions are coarsened (it would steer a dead reckoning). */
  heading(deg: number | null): number | null {
    return this.samplePeriodMs > 0 ? null : deg;
  }

  /** A battery level as this caller sees it: rounded to VIEWER_BATTERY_STEP_PCT where positions are coarsened. */
  battery(pct: number | null): number | null {
    if (this.samplePeriodMs === 0 || pct === null) return pct;
    return Math.round(pct / VIEWER_BATTERY_STEP_PCT) * VIEWER_BATTERY_STEP_PCT;
  }

  /**
   * A track's points as this caller sees them: all of them for operators; for viewers of a coarsened
   * pilot the last point of each sample period (points sorted by time), coarsened: the same point
   * /vehicles and the live feed show for that period, whatever range or resolution was asked.
   */
  trackPoints<P extends TrackPointLike>(points: readonly P[]): P[] {
    if (this.samplePeriodMs <= 0) return [...points];
    const last = new Map<number, P>();
    for (const p of points) last.set(this.timestamp(p.ts_ms), p);
    return [...last].map(([ts, p]) => {
      const [lat, lon] = this.position(p.lat, p.lon);
      return { ...p, ts_ms: ts, lat, lon, speed_mps: this.speed(p.speed_mps), heading_deg: this.heading(p.heading_deg) };
    });
  }

  /**
   * The H3 resolution a coverage request gets: the one asked for, or `maxH3Res` if that is finer.
   * Clamped rather than refused, so a map asking its usual resolution still gets cells.
   */
  coverageResolution(requested: number): number {
    return Math.min(requested, this.maxH3Res);
  }

  /**
   * The latest source timestamp a caller may see, given the delay; with a sample period, the last
   * millisecond before a multiple of it, so that what a viewer sees changes once per period, not
   * with the moment it asks (polling /vehicles every second would give every reading).
   */
  horizon(now: number): number {
    const t = this.samplePeriodMs;
    return t > 0 ? Math.floor((now - this.delayMs) / t) * t - 1 : now - this.delayMs;
  }
}
