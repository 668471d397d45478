// The dashboard's shared state: what its wiring modules read of one another. Each field has one
// owner, the only module that writes it (store.ts enforces it); the others read it with `get` or
// `subscribe` to its changes. app.ts creates the store and hands each owner its writer.
//
//   field            owner (module) what
//   me               boot           who is signed in (GET /me)
//   tiles            boot           the map's tile source (the build's, then the cloud's /config)
//   pilots           boot           the pilots' list (GET /pilots)
//   pilot            app            the pilot shown (GET /pilots/{id})
//   mode             app            live or replay
//   banner           app            the message over the page (others ask app's setBanner)
//   stopped          app            the page has been torn down
//   pilotMap         map-mount      the MapLibre map, made once, shown each pilot
//   layer            map-mount      the vehicles on the map (markers or dots), per pilot
//   trails           map-mount      the vehicles' trails on the map, per pilot
//   sensorMarkers    map-mount      the roadside sensors on the map, per pilot
//   selectedVehicle  selection      the vehicle whose panel is open
//   selectedSensor   selection      the sensor whose panel is open
//   liveStatuses     live-mode      the live feed's latest snapshot
//   history          live-mode      live speeds per vehicle, for the panel's chart
//   linkHistory      live-mode      live 5G samples per vehicle, for the panel's charts
//   replay           replay-mode    the replay session, while in replay
//   replayPoses      replay-mode    the vehicles' poses at the replay cursor
//   sensorStatuses   sensor-poll    the sensors' latest readings (GET /sensors)
//   alarms           alarm-console  the pilot's open alarms, sorted (operators; GET /alarms + live changes)
//   alarmCounts      alarm-console  open alarms by severity for a viewer of a pilot that opted in; null: none shown
//
// A new slice: add its fields to AppState, their initial values to createAppState and their owner
// to OWNERS; the owner takes `store.writer('<owner>')` (alarm-console takes
// `store.writer('alarm-console')`), a panel reads with `store.get('alarms')` or subscribes. The
// owner of a pilot-scoped slice resets it itself on `subscribe('pilot', ...)`.

import type {
  Alarm,
  AlarmCounts,
  Bilingual,
  LinkPoint,
  Me,
  PilotDetail,
  PilotSummary,
  SensorStatus,
  TileSource,
  VehicleStatus,
} from './api-types.js';
import type { MessageKey } from './i18n.js';
import type { PilotMap } from './map/pilot-map.js';
import type { SensorMarkers } from './map/sensor-markers.js';
import type { Trails } from './map/trails.js';
import type { VehicleLayer } from './map/vehicle-layer.js';
import type { ReplaySession } from './replay/replay-session.js';
import type { ReplayPose } from './replay/timeline.js';
import { createStore, type OwnedBy, type ReadStore, type Store, type Writer } from './store.js';
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
  pilots: readonly PilotSummary[];
  pilot: PilotDetail | null;
  mode: ViewMode;
  banner: BannerState;
  stopped: boolean;
  pilotMap: PilotMap | null;
  layer: VehicleLayer | null;
  trails: Trails | null;
  sensorMarkers: SensorMarkers | null;
  selectedVehicle: string | null;
  selectedSensor: string | null;
  liveStatuses: readonly VehicleStatus[];
  /** A container its owner fills in place (no notification): read it when drawing. */
  history: ReadonlyMap<string, readonly SeriesPoint[]>;
  /** Likewise. */
  linkHistory: { of(vehicleId: string): readonly LinkPoint[] };
  replay: ReplaySession | null;
  replayPoses: ReadonlyMap<string, ReplayPose>;
  sensorStatuses: readonly SensorStatus[];
  alarms: readonly Alarm[];
  alarmCounts: AlarmCounts | null;
}

const OWNERS = {
  me: 'boot',
  tiles: 'boot',
  pilots: 'boot',
  pilot: 'app',
  mode: 'app',
  banner: 'app',
  stopped: 'app',
  pilotMap: 'map-mount',
  layer: 'map-mount',
  trails: 'map-mount',
  sensorMarkers: 'map-mount',
  selectedVehicle: 'selection',
  selectedSensor: 'selection',
  liveStatuses: 'live-mode',
  history: 'live-mode',
  linkHistory: 'live-mode',
  replay: 'replay-mode',
  replayPoses: 'replay-mode',
  sensorStatuses: 'sensor-poll',
  alarms: 'alarm-console',
  alarmCounts: 'alarm-console',
} as const satisfies Record<keyof AppState, string>;

type StateOwner = (typeof OWNERS)[keyof AppState];
type AppStore = Store<AppState, typeof OWNERS>;
/** What every module reads the shared state through. */
export type AppStateReader = ReadStore<AppState>;
/** The writer handle of `N`: its own fields and no other. */
export type AppStateWriter<N extends StateOwner> = Writer<AppState, OwnedBy<AppState, typeof OWNERS, N>>;

export function createAppState(mode: ViewMode, tiles: TileSource | null): AppStore {
  return createStore<AppState, typeof OWNERS>(
    {
      me: null,
      tiles,
      pilots: [],
      pilot: null,
      mode,
      banner: null,
      stopped: false,
      pilotMap: null,
      layer: null,
      trails: null,
      sensorMarkers: null,
      selectedVehicle: null,
      selectedSensor: null,
      liveStatuses: [],
      history: new Map(),
      linkHistory: { of: () => [] },
      replay: null,
      replayPoses: new Map(),
      sensorStatuses: [],
      alarms: [],
      alarmCounts: null,
    },
    OWNERS,
  );
}
