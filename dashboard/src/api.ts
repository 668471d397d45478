// The cloud's HTTP API as the dashboard uses it: one client for /api/v1, with the bearer token
// of the person signed in. The dashboard is served by the cloud at `/`, so every path is
// same-origin and relative. The JSON shapes are in api-types.ts.

import type {
  Alarm,
  AlarmCounts,
  AlarmHistoryQuery,
  Coverage,
  DashboardConfig,
  Kpis,
  LinksResponse,
  Me,
  MichiEvent,
  PilotDetail,
  PilotSummary,
  Report,
  ReportLang,
  SensorStatus,
  SourceCompleteness,
  TimeRange,
  TracksResponse,
  VehicleStatus,
} from './api-types.js';
import { ApiError } from './errors.js';

export type * from './api-types.js';

export interface EventQuery extends TimeRange {
  type?: string;
  source?: string;
  limit?: number;
}

export interface MichiApi {
  /** The token requests carry; null until someone signs in. */
  token(): string | null;
  me(signal?: AbortSignal): Promise<Me>;
  /** Deployment settings (tile sources) from config.json beside the dashboard; null when there is none. */
  config(signal?: AbortSignal): Promise<DashboardConfig | null>;
  listPilots(signal?: AbortSignal): Promise<PilotSummary[]>;
  getPilot(pilotId: string, signal?: AbortSignal): Promise<PilotDetail>;
  listVehicles(pilotId: string, signal?: AbortSignal): Promise<VehicleStatus[]>;
  listSensors(pilotId: string, signal?: AbortSignal): Promise<SensorStatus[]>;
  tracks(pilotId: string, range: TimeRange & { maxPoints?: number; source?: string }, signal?: AbortSignal): Promise<TracksResponse>;
  /** Each vehicle's 5G link history (RSRP, SINR, RTT), downsampled like the tracks. */
  links(pilotId: string, range: TimeRange & { maxPoints?: number; source?: string }, signal?: AbortSignal): Promise<LinksResponse>;
  events(pilotId: string, query: EventQuery, signal?: AbortSignal): Promise<MichiEvent[]>;
  kpis(pilotId: string, range: TimeRange, signal?: AbortSignal): Promise<Kpis>;
  coverage(pilotId: string, range: TimeRange & { res?: number }, signal?: AbortSignal): Promise<Coverage>;
  completeness(pilotId: string, range: TimeRange, signal?: AbortSignal): Promise<SourceCompleteness[]>;
  /** The report of a range, day by day (docs/reports.md). */
  report(pilotId: string, query: ReportQuery, signal?: AbortSignal): Promise<Report>;
  /** The same report as the CSV file the cloud makes, and the file name it gives it. */
  reportCsv(pilotId: string, query: ReportQuery): Promise<{ csv: Blob; fileName: string }>;
  /** Open alarms (active and acknowledged), severity then age. */
  alarms(pilotId: string, signal?: AbortSignal): Promise<Alarm[]>;
  alarmHistory(pilotId: string, query: AlarmHistoryQuery, signal?: AbortSignal): Promise<Alarm[]>;
  /** Open alarms by severity (viewers only of a pilot that opted in). */
  alarmCounts(pilotId: string, signal?: AbortSignal): Promise<AlarmCounts>;
  acknowledgeAlarm(pilotId: string, alarmId: string, comment: string): Promise<Alarm>;
  clearAlarm(pilotId: string, alarmId: string, comment?: string): Promise<Alarm>;
  /** The live feed: ws(s)://…/api/v1/live?pilot=…, and the subprotocols to offer (michi.v1, bearer.<token>). */
  live(pilotId: string): { url: string; protocols: string[] };
}

export interface ReportQuery {
  from: number;
  to: number;
  lang: ReportLang;
}

export interface ApiOptions {
  baseUrl?: string;
  fetch?: typeof globalThis.fetch;
  /** Read at each request, so signing in again applies at once. */
  token?: () => string | null;
  /** Where the page is, to turn baseUrl into a WebSocket URL. */
  pageUrl?: () => string;
  /** The deployment's dashboard settings, relative to the page. */
  configUrl?: string;
}

type Query = Record<string, string | number | undefined>;

/** The live feed's subprotocol (the cloud selects it; `bearer.<token>` beside it carries the token). */
export const LIVE_SUBPROTOCOL = 'michi.v1';

function queryString(query: Query): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
}

export function createApi({
  baseUrl = '/api/v1',
  fetch = globalThis.fetch.bind(globalThis),
  token = () => null,
  pageUrl = () => globalThis.location.href,
  configUrl = 'config.json',
}: ApiOptions = {}): MichiApi {
  /** GET, or POST with a JSON body when `body` is given; an ApiError for no answer or a refusal. */
  async function send(path: string, signal?: AbortSignal, body?: object, accept = 'application/json'): Promise<Response> {
    let res: Response;
    const headers: Record<string, string> = { accept };
    const bearer = token();
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    if (body) headers['content-type'] = 'application/json';
    try {
      res = await fetch(`${baseUrl}${path}`, {
        headers,
        ...(body ? { method: 'POST', body: JSON.stringify(body) } : {}),
        // The cloud answers with the latest state; a cached answer would freeze the markers.
        cache: 'no-store',
        signal: signal ?? null,
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new ApiError(path, 0, 'the server did not answer', undefined, { cause: err });
    }
    if (!res.ok) {
      // The cloud's errors are {error: {code, message}}; tolerate a flat {code, message} too.
      const body = (await res.json().catch(() => null)) as {
        code?: unknown;
        message?: unknown;
        error?: { code?: unknown; message?: unknown };
      } | null;
      const e = body?.error ?? body;
      const message = typeof e?.message === 'string' ? e.message : `HTTP ${res.status}`;
      throw new ApiError(path, res.status, message, typeof e?.code === 'string' ? e.code : undefined);
    }
    return res;
  }
  async function requestJson<T>(path: string, signal?: AbortSignal, body?: object): Promise<T> {
    const res = await send(path, signal, body);
    try {
      return (await res.json()) as T;
    } catch (err) {
      throw new ApiError(path, res.status, 'the answer is not JSON', undefined, { cause: err });
    }
  }
  const getJson = <T>(path: string, signal?: AbortSignal) => requestJson<T>(path, signal);
  const pilotPath = (id: string, rest = '') => `/pilots/${encodeURIComponent(id)}${rest}`;
  const alarmPath = (id: string, alarmId: string, action: string) => pilotPath(id, `/alarms/${encodeURIComponent(alarmId)}/${action}`);

  return {
    token,
    me: (signal) => getJson<Me>('/me', signal),
    async config(signal) {
      // A static file the deployment edits (the cloud serves the dashboard's directory): no rebuild
      // to change tile sources. Shipped as {"tiles": null}: the offline style.
      const res = await fetch(new URL(configUrl, pageUrl()), { cache: 'no-store', signal: signal ?? null }).catch(() => null);
      if (!res?.ok) return null;
      return (await res.json().catch(() => null)) as DashboardConfig | null;
    },
    // Lists come wrapped in an object ({pilots: [...]}) so the API can add fields without breaking clients.
    listPilots: async (signal) => (await getJson<{ pilots: PilotSummary[] }>('/pilots', signal)).pilots,
    getPilot: async (pilotId, signal) => withDefaults(await getJson<PilotDetail>(pilotPath(pilotId), signal)),
    listVehicles: async (pilotId, signal) =>
      (await getJson<{ vehicles: VehicleStatus[] }>(pilotPath(pilotId, '/vehicles'), signal)).vehicles,
    listSensors: async (pilotId, signal) => (await getJson<{ sensors: SensorStatus[] }>(pilotPath(pilotId, '/sensors'), signal)).sensors,
    tracks: (pilotId, { from, to, maxPoints = 2000, source }, signal) =>
      getJson<TracksResponse>(pilotPath(pilotId, `/tracks${queryString({ from, to, maxPoints, source })}`), signal),
    links: (pilotId, { from, to, maxPoints = 2000, source }, signal) =>
      getJson<LinksResponse>(pilotPath(pilotId, `/links${queryString({ from, to, maxPoints, source })}`), signal),
    events: async (pilotId, { from, to, type, source, limit }, signal) =>
      (await getJson<{ events: MichiEvent[] }>(pilotPath(pilotId, `/events${queryString({ from, to, type, source, limit })}`), signal))
        .events,
    kpis: (pilotId, { from, to }, signal) => getJson<Kpis>(pilotPath(pilotId, `/kpis${queryString({ from, to })}`), signal),
    coverage: (pilotId, { from, to, res = 9 }, signal) =>
      getJson<Coverage>(pilotPath(pilotId, `/coverage${queryString({ from, to, res })}`), signal),
    completeness: async (pilotId, { from, to }, signal) =>
      (await getJson<{ sources: SourceCompleteness[] }>(pilotPath(pilotId, `/completeness${queryString({ from, to })}`), signal)).sources,
    report: (pilotId, { from, to, lang }, signal) =>
      getJson<Report>(pilotPath(pilotId, `/report${queryString({ from, to, lang })}`), signal),
    async reportCsv(pilotId, { from, to, lang }) {
      const res = await send(
        pilotPath(pilotId, `/report${queryString({ from, to, lang, format: 'csv' })}`),
        undefined,
        undefined,
        'text/csv',
      );
      const named = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '');
      return { csv: await res.blob(), fileName: named?.[1] ?? `michi-report-${pilotId}.csv` };
    },
    alarms: async (pilotId, signal) => (await getJson<{ alarms: Alarm[] }>(pilotPath(pilotId, '/alarms'), signal)).alarms,
    alarmHistory: async (pilotId, query, signal) =>
      (await getJson<{ alarms: Alarm[] }>(pilotPath(pilotId, `/alarms/history${queryString({ ...query })}`), signal)).alarms,
    alarmCounts: (pilotId, signal) => getJson<AlarmCounts>(pilotPath(pilotId, '/alarms/count'), signal),
    acknowledgeAlarm: async (pilotId, alarmId, comment) =>
      (await requestJson<{ alarm: Alarm }>(alarmPath(pilotId, alarmId, 'acknowledge'), undefined, { comment })).alarm,
    clearAlarm: async (pilotId, alarmId, comment) =>
      (await requestJson<{ alarm: Alarm }>(alarmPath(pilotId, alarmId, 'clear'), undefined, comment ? { comment } : {})).alarm,
    live(pilotId) {
      const url = new URL(`${baseUrl}/live`, pageUrl());
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      url.searchParams.set('pilot', pilotId);
      // The changes of one moment in one message: one task on the main thread, not one per vehicle.
      url.searchParams.set('batch', '1');
      // A browser cannot set headers on a WebSocket: the token is offered as the subprotocol
      // `bearer.<token>` beside michi.v1 (the one the cloud selects and echoes), never in the URL,
      // where proxies, browser history and logs would keep it.
      const bearer = token();
      const protocols = bearer ? [LIVE_SUBPROTOCOL, `bearer.${bearer}`] : [LIVE_SUBPROTOCOL];
      return { url: url.toString(), protocols };
    },
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
