/**
 * The public (viewer) view of a pilot, as its `privacy` settings in the seeds ask: vehicle and
 * sensor ids replaced by neutral aliases (`vehicle-1`, `sensor-1`, in seed order), positions
 * shown `publicPositionDelayS` late and snapped to a grid of `publicCoarsenM` metres. Operators
 * see everything as it is.
 */
import type { Pilot } from '@michi/proto';
import type { Principal } from '../auth.js';

/** Metres per degree of latitude (and of longitude at the equator) on the mean Earth sphere. */
const M_PER_DEG = 111_320;

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
  private readonly toAlias = new Map<string, string>();
  private readonly fromAlias = new Map<string, string>();

  constructor(pilot: Pilot, principal: Principal) {
    this.filtered = principal.role === 'viewer';
    this.hideIds = this.filtered && pilot.privacy.publicHideIds;
    this.delayMs = this.filtered ? pilot.privacy.publicPositionDelayS * 1000 : 0;
    this.coarsenM = this.filtered ? pilot.privacy.publicCoarsenM : 0;
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

  /** The latest source timestamp a caller may see, given the delay. */
  horizon(now: number): number {
    return now - this.delayMs;
  }
}
