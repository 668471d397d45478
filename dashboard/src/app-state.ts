// What the dashboard's wiring modules share: the signed-in user, the pilot shown, the map's layers,
// the mode, and the selection. app.ts creates it once; each module reads and writes the fields it owns.

import type { Bilingual, Me, PilotDetail, PilotSummary, SensorStatus, TileSource, VehicleStatus } from './api-types.js';
import type { MessageKey } from './i18n.js';
import { LiveLinkHistory } from './link-history.js';
import type { PilotMap } from './map/pilot-map.js';
import type { SensorMarkers } from './map/sensor-markers.js';
import type { Trails } from './map/trails.js';
import type { VehicleLayer } from './map/vehicle-layer.js';
import type { ReplaySession } from './replay/replay-session.js';
import type { ReplayPose } from './replay/timeline.js';
import type { ViewMode } from './url-state.js';
import type { SeriesPoint } from './views/charts.js';

/** Kept as a key and parameters, not text, so that a language switch re-words it. */
export type BannerState = { key: MessageKey; params?: Record<string, string | Bilingual>; tone: 'error' | 'warning' } | null;

export const DEFAULT_TIME_ZONE = 'Asia/Tokyo';
export const LIVE_RANGE_MS = 3600_000;
export const PANEL_REFRESH_MS = 30_000;
/** How far back the detail panel's charts reach. */
export const HISTORY_MS = 5 * 60_000;

export interface AppState {
  me: Me | null;
  tiles: TileSource | null;
  pilots: PilotSummary[];
  pilot: PilotDetail | null;
  pilotMap: PilotMap | null;
  layer: VehicleLayer | null;
  trails: Trails | null;
  sensorMarkers: SensorMarkers | null;
  replay: ReplaySession | null;
  mode: ViewMode;
  banner: BannerState;
  stopped: boolean;
  selectedVehicle: string | null;
  liveStatuses: VehicleStatus[];
  selectedSensor: string | null;
  sensorStatuses: readonly SensorStatus[];
  /** Live speeds per vehicle, for the detail panel's chart. */
  history: Map<string, SeriesPoint[]>;
  linkHistory: LiveLinkHistory;
  replayPoses: ReadonlyMap<string, ReplayPose>;
}

export function createAppState(mode: ViewMode, tiles: TileSource | null): AppState {
  return {
    me: null,
    tiles,
    pilots: [],
    pilot: null,
    pilotMap: null,
    layer: null,
    trails: null,
    sensorMarkers: null,
    replay: null,
    mode,
    banner: null,
    stopped: false,
    selectedVehicle: null,
    liveStatuses: [],
    selectedSensor: null,
    sensorStatuses: [],
    history: new Map(),
    linkHistory: new LiveLinkHistory(HISTORY_MS),
    replayPoses: new Map(),
  };
}
