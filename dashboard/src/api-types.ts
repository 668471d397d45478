// The JSON shapes of the cloud's /api/v1 as the dashboard reads them: the types of the zod
// schemas the cloud's routes are declared with (@michi/proto/api, proto/src/api/), under the names
// the dashboard uses. Types only: zod stays out of the browser bundle.

import type {
  AlarmCount,
  CoverageResponse,
  EventView,
  MeResponse,
  PilotDetail,
  SensorView,
  SEVERITIES,
  VehicleStateView,
  VehicleView,
  LiveMessage,
} from '@michi/proto/api';

export type {
  Alarm,
  AlarmChange,
  AlarmChangeKind,
  AlarmRule,
  AlarmSeverity,
  AlarmState,
  AutonomyMode,
  Bilingual,
  CoverageCell,
  Kpis,
  LinkPoint,
  LinkSampleView,
  LinksResponse,
  LiveMessage,
  LiveVehicleState,
  LonLat,
  PilotDetail,
  PilotSummary,
  Report,
  ReportCause,
  ReportColumn,
  ReportDay,
  ReportFigures,
  ReportLang,
  Role,
  SourceCompleteness,
  Track,
  TrackPoint,
  TracksResponse,
} from '@michi/proto/api';

export type PilotRoute = PilotDetail['routes'][number];
export type PilotStop = PilotDetail['stops'][number];
export type PilotGeofence = PilotDetail['geofences'][number];
export type PilotCellSite = PilotDetail['cellSites'][number];
export type PilotVehicle = PilotDetail['vehicles'][number];
export type PilotSensor = PilotDetail['sensors'][number];
/** A pilot's public view: ids aliased, positions `publicPositionDelayS` late and snapped to `publicCoarsenM` metres. */
export type PilotPrivacy = PilotDetail['privacy'];
export type GeofenceKind = PilotGeofence['kind'];
export type LineStringGeometry = PilotRoute['geometry'];
export type PolygonGeometry = PilotGeofence['geometry'];

/** The latest state the cloud holds for a vehicle: any figure may be null (not reported, or hidden from viewers). */
export type VehicleState = VehicleStateView;
/** GET /api/v1/pilots/:pilot/vehicles: one entry per vehicle; `state` null until it has reported. */
export type VehicleStatus = VehicleView;
export type Me = MeResponse;
export type SensorStatus = SensorView;
export type Severity = (typeof SEVERITIES)[number];
export type MichiEvent = EventView;
export type Coverage = CoverageResponse;

/** Where map tiles come from in production; absent: the offline style built from the seeds. */
export type TileSource =
  | { type: 'raster'; url: string; attribution?: string; maxzoom?: number; tileSize?: number }
  | { type: 'pmtiles'; url: string; attribution?: string; maxzoom?: number; tileSize?: number }
  | { type: 'style'; url: string };

/** GET /api/v1/config: settings the dashboard needs from the deployment. */
export interface DashboardConfig {
  tiles?: TileSource | null;
}

export interface TimeRange {
  from: number;
  to: number;
}

/** GET /api/v1/pilots/:pilot/alarms/count: open alarms by severity. */
export type AlarmCounts = AlarmCount;

/** The live feed's alarm messages: a change to operators, the counts to viewers of a pilot that opted in. */
export type LiveAlarmMessage = Extract<LiveMessage, { type: 'alarm' | 'alarm-count' }>;

/** GET /api/v1/pilots/:pilot/alarms/history's filters (times in ms since the epoch). */
export interface AlarmHistoryQuery {
  from?: number;
  to?: number;
  source?: string;
  rule?: string;
  severity?: string;
  state?: string;
  limit?: number;
}
