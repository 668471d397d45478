// The JSON shapes of the cloud's /api/v1 as the dashboard reads them (snake_case where the API
// sends it). One file, so that a change of contract shows up in one diff.

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
  /** The notice in Japanese, when the pilot definition has one. */
  noticeJa?: string;
  timezone?: string;
  map: { center: LonLat; zoom: number };
  routes: PilotRoute[];
  stops: PilotStop[];
  geofences: PilotGeofence[];
  cellSites: PilotCellSite[];
  vehicles: PilotVehicle[];
  sensors: PilotSensor[];
  /** How the pilot shows itself to viewers (operators see everything as it is). */
  privacy?: PilotPrivacy;
}

/** A pilot's public view: ids aliased, positions `publicPositionDelayS` late and snapped to `publicCoarsenM` metres. */
export interface PilotPrivacy {
  publicHideIds: boolean;
  publicPositionDelayS: number;
  publicCoarsenM: number;
}

/** A vehicle's latest 5G link sample, as /vehicles and the live feed send it in `state.link`. */
export interface LinkSampleView {
  /** Source timestamp of the sample, ms since the epoch. */
  ts_ms: number;
  /** The serving cell's NR cell identity. */
  cell: string | null;
  pci: number | null;
  /** NR band, e.g. "n79". */
  band: string | null;
  /** null when the sample had no RSRP. */
  rsrp_dbm: number | null;
  sinr_db: number | null;
  rtt_ms: number | null;
}

/** The latest state the cloud holds for a vehicle (snake_case, as the API sends it). */
export interface VehicleState {
  lat: number;
  lon: number;
  speed_mps: number;
  heading_deg: number;
  mode: AutonomyMode;
  /** null when the vehicle did not report it (not measured is not 0 %). */
  battery_pct: number | null;
  /** Source timestamp, ms since the epoch (the vehicle's clock). */
  ts_ms: number;
  /** When the cloud received it, ms since the epoch (the cloud's clock). */
  recv_ms: number;
  seq?: number;
  /** The vehicle's latest 5G link sample (whatever the state's time); null until one arrived. */
  link?: LinkSampleView | null;
}

/** GET /api/v1/pilots/:pilot/vehicles: one entry per vehicle; `state` null until it has reported. */
export interface VehicleStatus {
  id: string;
  kind: string;
  name: Bilingual;
  routeId?: string;
  state: VehicleState | null;
}

/** GET /api/v1/me: who the bearer token belongs to. */
export type Role = 'operator' | 'viewer';
export interface Me {
  id: string;
  role: Role;
  pilots: string[];
}

export interface SensorStatus {
  id: string;
  kind: string;
  name: Bilingual;
  position: LonLat;
  latest: { ts_ms: number; counts?: Record<string, number>; measures?: Record<string, number> } | null;
}

export interface TrackPoint {
  ts_ms: number;
  lat: number;
  lon: number;
  speed_mps: number;
  heading_deg: number;
  mode: AutonomyMode | string;
}
export interface Track {
  source: string;
  points: TrackPoint[];
}
export interface TracksResponse {
  from: number;
  to: number;
  tracks: Track[];
}

/** One point of GET /pilots/:pilot/links: a link sample, or the first of a downsampling bucket. */
export interface LinkPoint {
  ts_ms: number;
  /** null when the sample had no RSRP. */
  rsrp_dbm: number | null;
  sinr_db: number | null;
  rtt_ms: number | null;
}
export interface LinksResponse {
  from: number;
  to: number;
  links: { source: string; points: LinkPoint[] }[];
}

export type Severity = 'INFO' | 'WARNING' | 'CRITICAL';
export interface MichiEvent {
  ts_ms: number;
  source: string;
  type: string;
  cause?: string | null;
  severity?: Severity | string | null;
  lat?: number | null;
  lon?: number | null;
  detail?: string | null;
  duration_ms?: number | null;
  geofence_id?: string | null;
}

export interface Distribution {
  p5?: number | null;
  p50?: number | null;
  p95?: number | null;
}
export interface Kpis {
  from: number;
  to: number;
  distance_km: number;
  autonomous_distance_km: number;
  autonomous_share: number | null;
  takeovers: number;
  takeovers_per_100km: number | null;
  takeovers_by_cause: Record<string, number>;
  /** null for no distance. */
  takeovers_per_100km_by_cause: Record<string, number> | null;
  disengagements: number;
  disengagements_per_100km: number | null;
  disengagements_by_cause: Record<string, number>;
  disengagements_per_100km_by_cause: Record<string, number> | null;
  emergency_stops: number;
  speed_mean_kmh: number | null;
  speed_p95_kmh: number | null;
  availability: number | null;
  link: { rsrp_dbm: Distribution; sinr_db: Distribution; rtt_ms: Distribution };
  latency_ms: Distribution;
}

export interface CoverageCell {
  h3: string;
  lat: number;
  lon: number;
  samples: number;
  rsrp_dbm_mean: number | null;
  sinr_db_mean: number | null;
  rtt_ms_mean: number | null;
}
export interface Coverage {
  resolution: number;
  cells: CoverageCell[];
}

export interface SourceCompleteness {
  source: string;
  kind: string;
  received: number;
  first_seq: number | null;
  last_seq: number | null;
  expected: number | null;
  missing: number;
  gaps: { from_seq: number; to_seq: number }[];
  last_ts_ms: number | null;
  last_recv_ms: number | null;
  /** recv_ms − source timestamp of the newest reading. */
  lag_ms: number | null;
  /** Readings received in the last minute that were taken two minutes or more before. */
  backlog_last_minute: number;
  /** backlog_last_minute > 0: a backlog is still arriving from an edge buffer. */
  draining: boolean;
}

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
