// The cloud's HTTP API as the dashboard uses it: the JSON shapes of /api/v1 and one client.
// The dashboard is served by the cloud at `/`, so every path is same-origin and relative.

import { ApiError } from './errors.js';

export type LonLat = [number, number];
export interface Bilingual {
  ja: string;
  en: string;
}

export type AutonomyMode = 'AUTONOMOUS' | 'MANUAL' | 'REMOTE_ASSIST' | 'REMOTE_DRIVING' | 'MINIMAL_RISK' | 'UNSPECIFIED';

export interface PilotSummary {
  id: string;
  name: Bilingual;
  municipality: Bilingual & { code: string };
  counts: { vehicles: number; sensors: number; cellSites: number };
}

export interface LineStringGeometry {
  type: 'LineString';
  coordinates: LonLat[];
}
export interface PolygonGeometry {
  type: 'Polygon';
  coordinates: LonLat[][];
}

export type GeofenceKind = 'operational' | 'slow-zone' | 'no-go';

export interface PilotRoute {
  id: string;
  name: Bilingual;
  loop: boolean;
  geometry: LineStringGeometry;
}
export interface PilotStop {
  id: string;
  name: Bilingual;
  routeId: string;
  position: LonLat;
}
export interface PilotGeofence {
  id: string;
  name: Bilingual;
  kind: GeofenceKind;
  geometry: PolygonGeometry;
}
export interface PilotCellSite {
  id: string;
  name: string;
  position: LonLat;
  cellId: string;
  pci: number;
  band: string;
  txPowerDbm: number;
}
export interface PilotVehicle {
  id: string;
  kind: string;
  name: Bilingual;
  routeId: string;
  gatewayId: string;
  nominalSpeedKmh: number;
}
export interface PilotSensor {
  id: string;
  kind: string;
  name: Bilingual;
  position: LonLat;
}

/** GET /api/v1/pilots/:pilot: the pilot definition, without secrets or gateway credentials. */
export interface PilotDetail {
  id: string;
  name: Bilingual;
  municipality: Bilingual & { code: string };
  notice: string;
  timezone?: string;
  map: { center: LonLat; zoom: number };
  routes: PilotRoute[];
  stops: PilotStop[];
  geofences: PilotGeofence[];
  cellSites: PilotCellSite[];
  vehicles: PilotVehicle[];
  sensors: PilotSensor[];
}

/** The latest state the cloud holds for a vehicle (snake_case, as the API sends it). */
export interface VehicleState {
  lat: number;
  lon: number;
  speed_mps: number;
  heading_deg: number;
  mode: AutonomyMode;
  battery_pct: number;
  /** Source timestamp, ms since the epoch (the vehicle's clock). */
  ts_ms: number;
  /** When the cloud received it, ms since the epoch (the cloud's clock). */
  recv_ms: number;
}

/** GET /api/v1/pilots/:pilot/vehicles: one entry per vehicle; `state` null until it has reported. */
export interface VehicleStatus {
  id: string;
  kind: string;
  name: Bilingual;
  state: VehicleState | null;
}

export interface MichiApi {
  listPilots(signal?: AbortSignal): Promise<PilotSummary[]>;
  getPilot(pilotId: string, signal?: AbortSignal): Promise<PilotDetail>;
  listVehicles(pilotId: string, signal?: AbortSignal): Promise<VehicleStatus[]>;
}

export interface ApiOptions {
  baseUrl?: string;
  fetch?: typeof globalThis.fetch;
}

export function createApi({ baseUrl = '/api/v1', fetch = globalThis.fetch.bind(globalThis) }: ApiOptions = {}): MichiApi {
  async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${baseUrl}${path}`, {
        headers: { accept: 'application/json' },
        // The cloud answers with the latest state; a cached answer would freeze the markers.
        cache: 'no-store',
        signal: signal ?? null,
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new ApiError(path, 0, 'the server did not answer', undefined, { cause: err });
    }
    if (!res.ok) {
      const body = (await res.json().catch(() => null)) as { code?: unknown; message?: unknown } | null;
      const message = typeof body?.message === 'string' ? body.message : `HTTP ${res.status}`;
      throw new ApiError(path, res.status, message, typeof body?.code === 'string' ? body.code : undefined);
    }
    try {
      return (await res.json()) as T;
    } catch (err) {
      throw new ApiError(path, res.status, 'the answer is not JSON', undefined, { cause: err });
    }
  }

  return {
    // Lists come wrapped in an object ({pilots: [...]}) so the API can add fields without breaking clients.
    listPilots: async (signal) => (await getJson<{ pilots: PilotSummary[] }>('/pilots', signal)).pilots,
    getPilot: async (pilotId, signal) => withDefaults(await getJson<PilotDetail>(`/pilots/${encodeURIComponent(pilotId)}`, signal)),
    listVehicles: async (pilotId, signal) =>
      (await getJson<{ vehicles: VehicleStatus[] }>(`/pilots/${encodeURIComponent(pilotId)}/vehicles`, signal)).vehicles,
  };
}

/** The seed schema defaults empty lists; tolerate an API that leaves them out rather than crash. */
function withDefaults(pilot: PilotDetail): PilotDetail {
  return {
    ...pilot,
    notice: pilot.notice ?? '',
    routes: pilot.routes ?? [],
    stops: pilot.stops ?? [],
    geofences: pilot.geofences ?? [],
    cellSites: pilot.cellSites ?? [],
    vehicles: pilot.vehicles ?? [],
    sensors: pilot.sensors ?? [],
  };
}
