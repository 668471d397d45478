// What the map shows of a pilot's vehicles, whichever way it draws them: HTML markers (named
// arrows, for tens of vehicles) or one GeoJSON circle layer (for a fleet of hundreds or more,
// where a thousand DOM elements repositioned every frame would take the main thread).

import type { Map as MapLibreMap } from 'maplibre-gl';
import type { VehicleStatus } from '../api-types.js';
import type { Lang, Translate } from '../i18n.js';
import { VehicleDots } from './vehicle-dots.js';
import { VehicleMarkers } from './vehicle-markers.js';

export interface VehicleLayer {
  /** `jump`: place at once, no glide (replay, where the timeline itself moves the vehicles). */
  update(vehicles: readonly VehicleStatus[], nowMs: number, options?: { jump?: boolean }): void;
  refresh(nowMs: number): void;
  /** How old a reading may be before it is drawn stale (longer for viewers of a delayed pilot). */
  setStaleAfter(ms: number, nowMs: number): void;
  setLanguage(lang: Lang, t: Translate, nowMs: number): void;
  select(vehicleId: string | null): void;
  position(vehicleId: string): [number, number] | null;
  destroy(): void;
}

/** Above this many vehicles the map switches from HTML markers to a circle layer. */
export const MARKER_LIMIT = 150;

export function createVehicleLayer(map: MapLibreMap, count: number, onSelect: (id: string) => void): VehicleLayer {
  return count > MARKER_LIMIT ? new VehicleDots(map, { onSelect }) : new VehicleMarkers(map, { onSelect });
}
