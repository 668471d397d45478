/**
 * The public (viewer) view of a pilot, as its `privacy` settings in the seeds ask: vehicle and
 * sensor ids replaced by neutral aliases (`vehicle-1`, `sensor-1`, in seed order), positions
 * shown `publicPositionDelayS` late and snapped to a grid of `publicCoarsenM` metres, H3 coverage
 * cells no finer than that grid. Operators see everything as it is.
 */
import { getHexagonEdgeLengthAvg, UNITS } from 'h3-js';
import type { Pilot } from '@michi/proto';
import type { Principal } from '../auth.js';

/** Metres per degree of latitude (and of longitude at the equator) on the mean Earth sphere. */
const M_PER_DEG = 111_320;

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

export class PilotPrivacy {
  /** False for operators: everything is shown as it is. */
  readonly filtered: boolean;
  readonly hideIds: boolean;
  readonly delayMs: number;
  readonly coarsenM: number;
  /** The finest coverage resolution this caller gets: 15, or as coarse as the grid of `coarsenM`. */
  private readonly maxH3Res: number;
  private readonly toAlias = new Map<string, string>();
  private readonly fromAlias = new Map<string, string>();

  constructor(pilot: Pilot, principal: Principal) {
    this.filtered = principal.role === 'viewer';
    this.hideIds = this.filtered && pilot.privacy.publicHideIds;
    this.delayMs = this.filtered ? pilot.privacy.publicPositionDelayS * 1000 : 0;
    this.coarsenM = this.filtered ? pilot.privacy.publicCoarsenM : 0;
    this.maxH3Res = finestH3Resolution(this.coarsenM);
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
   * The H3 resolution a coverage request gets: the one asked for, or `maxH3Res` if that is finer.
   * Clamped rather than refused, so a map asking its usual resolution still gets cells.
   */
  coverageResolution(requested: number): number {
    return Math.min(requested, this.maxH3Res);
  }

  /** The latest source timestamp a caller may see, given the delay. */
  horizon(now: number): number {
    return now - this.delayMs;
  }
}
