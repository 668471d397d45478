// The dashboard's behaviour: who is signed in, which pilot is shown, live or replay, where the
// vehicles come from, what the language is, and which views hear about each change. The views
// draw; this module decides.

import type { MichiApi } from './api.js';
import type {
  Bilingual,
  LinkPoint,
  LinkSampleView,
  Me,
  MichiEvent,
  PilotDetail,
  PilotSummary,
  Role,
  SensorStatus,
  TileSource,
  TimeRange,
  VehicleStatus,
} from './api-types.js';
import type { TokenStore } from './auth/session-token.js';
import { ApiError, isAbort } from './errors.js';
import { formatters } from './format.js';
import { pick, translator, type LangStore, type MessageKey } from './i18n.js';
import { linkAt, LiveLinkHistory } from './link-history.js';
import { pollLoop, type PollLoop } from './live/poll-loop.js';
import { liveVehicles, type FeedTransport, type VehicleFeed, type VehicleFeedListener } from './live/vehicle-feed.js';
import { coverageResolution, type CoverageMetric } from './map/coverage.js';
import { PilotMap } from './map/pilot-map.js';
import { SensorMarkers } from './map/sensor-markers.js';
import { Trails } from './map/trails.js';
import { createVehicleLayer, MARKER_LIMIT, type VehicleLayer } from './map/vehicle-layer.js';
import { ReplaySession } from './replay/replay-session.js';
import type { ReplayPose } from './replay/timeline.js';
import type { ViewLocation, ViewMode } from './url-state.js';
import { createBanner } from './views/banner.js';
import type { SeriesPoint } from './views/charts.js';
import { createCompletenessView } from './views/completeness-view.js';
import { createEventsList } from './views/events-list.js';
import { createHeader } from './views/header.js';
import { createKpiPanel } from './views/kpi-panel.js';
import { createLayout } from './views/layout.js';
import { createLegend } from './views/legend.js';
import { createNotice } from './views/notice.js';
import { createPilotSummary } from './views/pilot-summary.js';
import { createReplayBar } from './views/replay-bar.js';
import { createSensorDetail } from './views/sensor-detail.js';
import { createSensorList } from './views/sensor-list.js';
import { createSignIn } from './views/sign-in.js';
import { createTabs } from './views/tabs.js';
import { createVehicleDetail } from './views/vehicle-detail.js';
import { createVehicleList } from './views/vehicle-list.js';

export interface AppDeps {
  root: HTMLElement;
  api: MichiApi;
  tokens: TokenStore;
  langStore: LangStore;
  location: ViewLocation;
  /** Unexpected errors (bugs, MapLibre errors): the page keeps going, the report goes to the console. */
  reportError: (err: unknown) => void;
  /** Tile source set at build time (VITE_MICHI_TILES); the cloud's /config wins over it. */
  buildTiles?: TileSource | null;
  now?: () => number;
  startFeed?: (api: MichiApi, pilotId: string, listener: VehicleFeedListener) => VehicleFeed;
  /** Wait before asking again when the server is not up yet. */
  retryMs?: number;
}

/** Kept as a key and parameters, not text, so that a language switch re-words it. */
type BannerState = { key: MessageKey; params?: Record<string, string | Bilingual>; tone: 'error' | 'warning' } | null;

const DEFAULT_TIME_ZONE = 'Asia/Tokyo';
const LIVE_RANGE_MS = 3600_000;
const PANEL_REFRESH_MS = 30_000;
const HISTORY_MS = 5 * 60_000;
/** The live feed carries vehicles only; the sensors' latest readings are asked for this often. */
const SENSOR_POLL_MS = 5000;
/** After the map stops zooming, wait this long before asking for coverage at another resolution. */
const COVERAGE_ZOOM_DEBOUNCE_MS = 400;

export function startApp({
  root,
  api,
  tokens,
  langStore,
  location,
  reportError,
  buildTiles = null,
  now = Date.now,
  startFeed = (a, id, listener) => liveVehicles(a, id, listener),
  retryMs = 3000,
}: AppDeps): { stop(): void } {
  let me: Me | null = null;
  let tiles: TileSource | null = buildTiles;
  let pilots: PilotSummary[] = [];
  let pilot: PilotDetail | null = null;
  let pilotMap: PilotMap | null = null;
  let layer: VehicleLayer | null = null;
  let trails: Trails | null = null;
  let sensorMarkers: SensorMarkers | null = null;
  let sensorPoll: PollLoop | null = null;
  let feed: VehicleFeed | null = null;
  let transport: FeedTransport = 'polling';
  let replay: ReplaySession | null = null;
  let mode: ViewMode = location.get().mode;
  let loading: AbortController | null = null;
  let panelsAbort: AbortController | null = null;
  let selectedVehicle: string | null = null;
  let liveStatuses: VehicleStatus[] = [];
  let selectedSensor: string | null = null;
  let sensorStatuses: readonly SensorStatus[] = [];
  const history = new Map<string, SeriesPoint[]>();
  const linkHistory = new LiveLinkHistory(HISTORY_MS);
  /** The selected vehicle's link samples over the replay range, for the pilot, vehicle and range of `key`. */
  let replayLinks: { key: string; points: LinkPoint[] } | null = null;
  let replayPoses: ReadonlyMap<string, ReplayPose> = new Map();
  let replayEvents: MichiEvent[] = [];
  let coverageOn = false;
  let coverageRange: string | null = null;
  let coverageMetric: CoverageMetric = 'rsrp';
  let coverageZoomTimer: ReturnType<typeof setTimeout> | undefined;
  let banner: BannerState = null;
  let mapFailed = false;
  let stopped = false;
  let lastDetailDraw = 0;
  let lastUrlCursor = 0;
  const role = (): Role => me?.role ?? 'viewer';
  const zone = () => pilot?.timezone ?? DEFAULT_TIME_ZONE;
  const locale = () => ({ lang: langStore.get(), t: translator(langStore.get()) });

  const header = createHeader({
    onPilotChange: (id) => {
      if (banner?.key === 'error.unknownPilot' || banner?.key === 'error.forbidden') setBanner(null);
      location.set({ pilot: id, view: null }, 'push');
      void showPilot(id);
    },
    onToggleLanguage: () => langStore.set(langStore.get() === 'ja' ? 'en' : 'ja'),
    onModeChange: (next) => {
      if (next === mode) return;
      location.set({ mode: next }, 'push');
      setMode(next);
    },
    onToggleCoverage: () => {
      coverageOn = !coverageOn;
      header.setCoverage(coverageOn);
      legend.setCoverage(coverageOn);
      pilotMap?.setCoverageVisible(coverageOn);
      if (coverageOn) void loadCoverage();
    },
    onSignOut: () => {
      tokens.clear();
      window.location.reload();
    },
  });
  const bannerView = createBanner();
  const summary = createPilotSummary();
  const vehicleList = createVehicleList({ onSelect: selectVehicle });
  const legend = createLegend({
    onCoverageMetric: (metric) => {
      coverageMetric = metric;
      legend.setCoverageMetric(metric);
      pilotMap?.setCoverageMetric(metric);
    },
  });
  const notice = createNotice();
  const detail = createVehicleDetail({ onClose: () => selectVehicle(null) });
  const events = createEventsList({
    onSelect: (event) => {
      if (Number.isFinite(event.lat) && Number.isFinite(event.lon)) pilotMap?.flyTo([event.lon!, event.lat!]);
      if (mode === 'replay' && replay) replay.seek(event.ts_ms);
      if (pilot?.vehicles.some((v) => v.id === event.source)) selectVehicle(event.source, false);
      else if (pilot?.sensors.some((s) => s.id === event.source)) selectSensor(event.source, false);
    },
    onFilter: () => void loadPanels(),
    sourceName,
  });
  const kpiPanel = createKpiPanel();
  const completeness = createCompletenessView();
  const sensorList = createSensorList({ onSelect: (id) => selectSensor(id) });
  const sensorDetail = createSensorDetail({ onClose: () => selectSensor(null) });
  const tabs = createTabs(() => undefined);
  tabs.panels.vehicles.append(vehicleList.element, legend.element);
  tabs.panels.sensors.append(sensorList.element);
  tabs.panels.events.append(events.element);
  tabs.panels.kpis.append(kpiPanel.element);
  tabs.panels.data.append(completeness.element);
  const replayBar = createReplayBar({
    onLoad: (range) => {
      location.set({ from: range.from, to: range.to, t: range.from }, 'push');
      startReplay(range, range.from);
    },
    onPlayPause: () => replay?.toggle(),
    onSpeed: (speed) => replay?.setSpeed(speed),
    onScrub: (t) => replay?.seek(t),
    onTick: (event) => {
      replay?.seek(event.ts_ms);
      if (Number.isFinite(event.lat) && Number.isFinite(event.lon)) pilotMap?.flyTo([event.lon!, event.lat!]);
    },
  });
  const signIn = createSignIn((token) => {
    tokens.set(token);
    signIn.hide();
    void boot();
  });
  const layout = createLayout(root, {
    header: header.element,
    banner: bannerView.element,
    side: [summary.element, tabs.element],
    mapOverlays: [detail.element, sensorDetail.element],
    below: [replayBar.element],
    footer: notice.element,
    dialogs: [signIn.element],
  });

  function sourceName(id: string): string {
    const lang = langStore.get();
    const named = pilot?.vehicles.find((v) => v.id === id) ?? pilot?.sensors.find((s) => s.id === id);
    if (named) return pick(named.name, lang);
    return role() === 'operator' ? id : '—';
  }

  function setBanner(next: BannerState): void {
    banner = next;
    if (!next) bannerView.clear();
    else {
      const lang = langStore.get();
      const params = Object.fromEntries(Object.entries(next.params ?? {}).map(([k, v]) => [k, typeof v === 'string' ? v : pick(v, lang)]));
      bannerView.show(translator(lang)(next.key, params), next.tone);
    }
  }

  function applyLanguage(): void {
    const { lang, t } = locale();
    const fmt = formatters(lang);
    document.documentElement.lang = lang;
    document.title = pilot ? `${pick(pilot.name, lang)} · ${t('app.name')}` : t('app.name');
    header.setLanguage(lang, t, fmt);
    summary.setLanguage(lang, t, fmt);
    vehicleList.setLanguage(lang, t, fmt, now());
    sensorList.setLanguage(lang, t, fmt, now());
    legend.setLanguage(t);
    notice.setLanguage(t);
    tabs.setLanguage(t);
    detail.setLanguage(lang, t, fmt, zone());
    sensorDetail.setLanguage(lang, t, fmt, zone());
    events.setLanguage(lang, t, fmt, zone());
    kpiPanel.setLanguage(lang, t, fmt);
    completeness.setLanguage(lang, t, fmt, zone());
    replayBar.setLanguage(lang, t, fmt, zone());
    signIn.setLanguage(t);
    layer?.setLanguage(lang, t, now());
    sensorMarkers?.setLanguage(lang, t, now());
    layout.mapContainer.setAttribute('aria-label', t('map.label', { pilot: pilot ? pick(pilot.name, lang) : '' }));
    setBanner(banner);
  }

  function applyRole(): void {
    const r = role();
    header.setUser(me ? { id: me.id, role: r } : null);
    detail.setRole(r);
    sensorDetail.setRole(r);
    events.setRole(r);
    // Data completeness names sources, gateways and sequence numbers: operators only.
    tabs.setHidden('data', r !== 'operator');
    document.body.dataset.role = r;
  }

  function selectVehicle(vehicleId: string | null, fly = true): void {
    // One panel over the map at a time.
    if (vehicleId && selectedSensor) selectSensor(null);
    selectedVehicle = vehicleId;
    if (vehicleId && mode === 'live' && pilot) {
      void seedHistory(pilot.id, vehicleId);
      void seedLinkHistory(pilot.id, vehicleId);
    }
    layer?.select(vehicleId);
    vehicleList.select(vehicleId);
    const position = vehicleId ? layer?.position(vehicleId) : null;
    if (position && fly) pilotMap?.flyTo(position);
    drawDetail(true);
  }

  function selectSensor(sensorId: string | null, fly = true): void {
    if (sensorId && selectedVehicle) selectVehicle(null);
    selectedSensor = sensorId;
    sensorMarkers?.select(sensorId);
    sensorList.select(sensorId);
    const position = sensorId ? pilot?.sensors.find((s) => s.id === sensorId)?.position : null;
    if (position && fly) pilotMap?.flyTo(position);
    drawSensorDetail();
  }

  function drawSensorDetail(): void {
    const sensor = selectedSensor ? pilot?.sensors.find((s) => s.id === selectedSensor) : null;
    sensorDetail.show(sensor ? { sensor, latest: sensorStatuses.find((s) => s.id === sensor.id)?.latest ?? null, nowMs: now() } : null);
  }

  /** The speed chart of a vehicle just selected starts with its last minutes from /tracks, not empty. */
  async function seedHistory(pilotId: string, vehicleId: string): Promise<void> {
    const to = now();
    try {
      const answer = await api.tracks(pilotId, { from: to - HISTORY_MS, to, maxPoints: 600, source: vehicleId });
      const points = answer.tracks.find((t) => t.source === vehicleId)?.points ?? [];
      if (pilot?.id !== pilotId || points.length === 0) return;
      const live = history.get(vehicleId) ?? [];
      const first = live[0]?.t ?? Infinity;
      const seeded = points.filter((p) => p.ts_ms < first).map((p) => ({ t: p.ts_ms, v: p.speed_mps * 3.6 }));
      history.set(vehicleId, [...seeded, ...live]);
      drawDetail(true);
    } catch (err) {
      if (!isAbort(err)) reportError(err);
    }
  }

  /** Likewise the link charts, from /links. */
  async function seedLinkHistory(pilotId: string, vehicleId: string): Promise<void> {
    const to = now();
    try {
      const answer = await api.links(pilotId, { from: to - HISTORY_MS, to, maxPoints: 600, source: vehicleId });
      const points = answer.links.find((l) => l.source === vehicleId)?.points ?? [];
      if (pilot?.id !== pilotId || points.length === 0) return;
      linkHistory.seed(vehicleId, points);
      drawDetail(true);
    } catch (err) {
      if (!isAbort(err)) reportError(err);
    }
  }

  /** The selected vehicle's link samples over the replay range: loaded once per pilot, vehicle and range, [] until then. */
  function replayLinksOf(pilotId: string, vehicleId: string, range: TimeRange): readonly LinkPoint[] {
    const key = `${pilotId}|${vehicleId}|${range.from}-${range.to}`;
    if (replayLinks?.key === key) return replayLinks.points;
    replayLinks = { key, points: [] };
    api
      .links(pilotId, { ...range, maxPoints: 2000, source: vehicleId })
      .then((answer) => {
        if (replayLinks?.key !== key) return;
        replayLinks = { key, points: answer.links.find((l) => l.source === vehicleId)?.points ?? [] };
        drawDetail(true);
      })
      .catch((err: unknown) => {
        if (!isAbort(err)) reportError(err);
      });
    return [];
  }

  function drawDetail(force = false): void {
    const t = performance.now();
    if (!force && t - lastDetailDraw < 250) return;
    lastDetailDraw = t;
    const vehicle = selectedVehicle ? pilot?.vehicles.find((v) => v.id === selectedVehicle) : null;
    if (!vehicle) {
      detail.show(null);
      return;
    }
    if (mode === 'replay' && replay) {
      const cursor = replay.clock.time;
      const pose = replayPoses.get(vehicle.id);
      const points = replay.tracks.get(vehicle.id) ?? [];
      const window = { from: Math.max(replay.range.from, cursor - HISTORY_MS / 2), to: Math.min(replay.range.to, cursor + HISTORY_MS / 2) };
      const links = pilot ? replayLinksOf(pilot.id, vehicle.id, replay.range) : [];
      detail.show({
        vehicle,
        state: pose ? replayState(pose, cursor, linkAt(links, cursor)) : null,
        speed: points.filter((p) => p.ts_ms >= window.from && p.ts_ms <= window.to).map((p) => ({ t: p.ts_ms, v: p.speed_mps * 3.6 })),
        link: links.filter((p) => p.ts_ms >= window.from && p.ts_ms <= window.to),
        window,
        cursor,
      });
    } else {
      const status = liveStatuses.find((s) => s.id === vehicle.id);
      const t2 = now();
      detail.show({
        vehicle,
        state: status?.state ?? null,
        speed: history.get(vehicle.id) ?? [],
        link: linkHistory.of(vehicle.id),
        window: { from: t2 - HISTORY_MS, to: t2 },
        cursor: null,
      });
    }
  }

  /** A vehicle's state at `t` of the replay; `link`: its link sample at or before `t`, when loaded. */
  function replayState(pose: ReplayPose, t: number, link: LinkSampleView | null = null): VehicleStatus['state'] {
    return {
      lat: pose.lat,
      lon: pose.lon,
      speed_mps: pose.speed_mps,
      heading_deg: pose.heading,
      mode: pose.mode as never,
      battery_pct: Number.NaN,
      ts_ms: t,
      recv_ms: t,
      link,
    };
  }

  async function boot(): Promise<void> {
    while (!stopped) {
      if (!tokens.get()) {
        signIn.show(false);
        return;
      }
      try {
        me = await api.me();
        break;
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) {
          tokens.clear();
          signIn.show(true);
          return;
        }
        setBanner({ key: 'error.pilots', tone: 'error' });
        header.setStatus({ kind: 'offline' });
        await new Promise((resolve) => setTimeout(resolve, retryMs));
      }
    }
    if (stopped) return;
    applyRole();
    try {
      const config = await api.config();
      if (config?.tiles !== undefined) tiles = config.tiles;
    } catch (err) {
      reportError(err);
    }
    await loadPilots();
    if (stopped) return;
    const initial = chooseInitialPilot();
    header.setPilots(pilots, initial);
    if (initial) await showPilot(initial);
  }

  async function loadPilots(): Promise<void> {
    while (!stopped) {
      try {
        pilots = await api.listPilots();
        if (banner?.key === 'error.pilots') setBanner(null);
        return;
      } catch {
        setBanner({ key: 'error.pilots', tone: 'error' });
        header.setStatus({ kind: 'offline' });
        await new Promise((resolve) => setTimeout(resolve, retryMs));
      }
    }
  }

  function chooseInitialPilot(): string | null {
    const first = pilots[0];
    if (!first) return null;
    const wanted = location.get().pilot;
    if (wanted && pilots.some((p) => p.id === wanted)) return wanted;
    if (wanted) setBanner({ key: 'error.unknownPilot', params: { id: wanted, name: first.name }, tone: 'warning' });
    location.set({ pilot: first.id }, 'replace');
    return first.id;
  }

  function stopData(): void {
    feed?.stop();
    feed = null;
    sensorPoll?.stop();
    sensorPoll = null;
    replay?.stop();
    replay = null;
    panelsAbort?.abort();
  }

  async function showPilot(pilotId: string): Promise<void> {
    loading?.abort();
    const controller = new AbortController();
    loading = controller;
    stopData();
    header.setPilots(pilots, pilotId);
    header.setStatus({ kind: 'connecting' });
    let next: PilotDetail;
    try {
      next = await api.getPilot(pilotId, controller.signal);
    } catch (err) {
      if (isAbort(err) || controller.signal.aborted) return;
      if (err instanceof ApiError && err.status === 403) {
        setBanner({ key: 'error.forbidden', params: { id: pilotId }, tone: 'error' });
        header.setStatus({ kind: 'offline' });
        return;
      }
      setBanner({ key: 'error.pilot', params: { id: pilotId }, tone: 'error' });
      header.setStatus({ kind: 'offline' });
      // The cloud may be restarting: try again, unless it said there is no such pilot or the
      // user has moved on to another one meanwhile.
      if (!(err instanceof ApiError && err.status === 404)) {
        setTimeout(() => {
          if (loading === controller && !stopped) void showPilot(pilotId);
        }, retryMs);
      }
      return;
    }
    if (controller.signal.aborted) return;
    if (banner?.key === 'error.pilot') setBanner(null);
    pilot = next;
    selectedVehicle = null;
    liveStatuses = [];
    selectedSensor = null;
    sensorStatuses = [];
    history.clear();
    linkHistory.clear();
    coverageRange = null;
    legend.setCoverageResolution(null);
    mountMap(next);
    summary.setPilot(next, pilots.find((p) => p.id === next.id) ?? null);
    vehicleList.setVehicles(next.vehicles);
    vehicleList.select(null);
    sensorList.setSensors(next.sensors);
    sensorList.select(null);
    drawSensorDetail();
    tabs.setHidden('sensors', next.sensors.length === 0);
    legend.setPilot(next);
    notice.setNotice(next.notice || null, next.noticeJa);
    applyLanguage();
    setMode(location.get().mode, true);
  }

  function mountMap(next: PilotDetail): void {
    layer?.destroy();
    layer = null;
    trails = null;
    sensorMarkers?.destroy();
    sensorMarkers = null;
    if (mapFailed) return;
    try {
      if (pilotMap) pilotMap.show(next);
      else {
        pilotMap = new PilotMap({
          container: layout.mapContainer,
          pilot: next,
          locale,
          onError: reportError,
          tiles,
          view: location.get().view,
          onViewChange: (view) => {
            location.set({ view }, 'replace');
            // A zoom across a resolution step asks again (loadCoverage's key holds the resolution); panning does not.
            clearTimeout(coverageZoomTimer);
            if (coverageOn) coverageZoomTimer = setTimeout(() => void loadCoverage(), COVERAGE_ZOOM_DEBOUNCE_MS);
          },
          audience: role,
        });
      }
    } catch (err) {
      // No WebGL (an old machine, a locked-down browser): the list still works.
      mapFailed = true;
      reportError(err);
      setBanner({ key: 'error.map', tone: 'error' });
      return;
    }
    pilotMap.setCoverageMetric(coverageMetric);
    pilotMap.setCoverageVisible(coverageOn);
    layer = createVehicleLayer(pilotMap.map, next.vehicles.length, (id) => selectVehicle(id));
    trails = new Trails(pilotMap.map, undefined, next.vehicles.length <= MARKER_LIMIT);
    layer.setLanguage(langStore.get(), translator(langStore.get()), now());
    sensorMarkers = new SensorMarkers(pilotMap.map, (id) => selectSensor(id));
    sensorMarkers.setSensors(next.sensors);
    sensorMarkers.setLanguage(langStore.get(), translator(langStore.get()), now());
  }

  function setMode(next: ViewMode, force = false): void {
    if (next === mode && !force) return;
    mode = next;
    header.setMode(mode);
    stopData();
    trails?.clear();
    layer?.update([], now());
    replayBar.element.hidden = mode !== 'replay';
    coverageRange = null;
    if (!pilot) return;
    if (mode === 'live') startLive(pilot);
    else {
      const s = location.get();
      const to = s.to ?? now();
      const from = s.from ?? to - LIVE_RANGE_MS;
      startReplay({ from, to }, s.t);
    }
    startSensors(pilot);
    drawDetail(true);
  }

  /**
   * The sensors' latest readings from /sensors: every few seconds while live; once in replay,
   * where they are the latest ones whatever the cursor (the list says so).
   */
  function startSensors(p: PilotDetail): void {
    sensorList.setReplay(mode === 'replay');
    if (p.sensors.length === 0) return;
    const once = mode === 'replay';
    const loop: PollLoop = pollLoop(
      (signal) => api.listSensors(p.id, signal),
      {
        data(sensors, at) {
          if (once) loop.stop();
          sensorStatuses = sensors;
          sensorList.update(sensors, at);
          sensorMarkers?.update(sensors, at);
          drawSensorDetail();
        },
        // The readings shown stay; the list says they could not be refreshed, the loop tries again.
        error: () => sensorList.update(null, now(), true),
      },
      SENSOR_POLL_MS,
      { now },
    );
    sensorPoll = loop;
  }

  function startLive(p: PilotDetail): void {
    header.setStatus({ kind: 'connecting' });
    feed = startFeed(api, p.id, {
      snapshot(vehicles, at) {
        liveStatuses = vehicles;
        layer?.update(vehicles, at);
        trails?.addLive(vehicles);
        vehicleList.update(vehicles, at);
        recordHistory(vehicles);
        linkHistory.record(vehicles, now());
        header.setStatus({ kind: 'live', lastMs: at, transport }, zone());
        drawDetail();
      },
      error(err) {
        if (err instanceof ApiError && err.status === 403) setBanner({ key: 'error.forbidden', params: { id: p.id }, tone: 'error' });
        if (transport !== 'websocket') header.setStatus({ kind: 'offline' });
      },
      transport(next) {
        transport = next;
      },
    });
    void loadPanels();
  }

  function recordHistory(vehicles: readonly VehicleStatus[]): void {
    const cutoff = now() - HISTORY_MS;
    for (const v of vehicles) {
      const s = v.state;
      if (!s || !Number.isFinite(s.speed_mps)) continue;
      let series = history.get(v.id);
      if (!series) history.set(v.id, (series = []));
      const last = series[series.length - 1];
      if (!last || last.t < s.ts_ms) series.push({ t: s.ts_ms, v: s.speed_mps * 3.6 });
      while (series.length && series[0]!.t < cutoff) series.shift();
    }
  }

  function startReplay(range: TimeRange, cursor: number | null): void {
    if (!pilot) return;
    replay?.stop();
    header.setStatus({ kind: 'replay' });
    replayBar.setRange(range.from, range.to);
    replayBar.setReady(false);
    replayBar.setPlaying(false);
    const session = new ReplaySession(
      {
        api,
        pilotId: pilot.id,
        onFrame: (t, poses) => drawReplayFrame(session, t, poses),
        onState: (state, err) => {
          replayBar.setReady(state === 'ready');
          replayBar.setStatus(
            state === 'loading' ? 'replay.loading' : state === 'empty' ? 'replay.empty' : state === 'error' ? 'replay.error' : null,
          );
          if (err) reportError(err);
          document.body.dataset.replay = state;
        },
        onPlaying: (playing) => replayBar.setPlaying(playing),
      },
      range,
      cursor,
    );
    replay = session;
    replayBar.setSpeed(session.clock.speed);
    replayBar.setCursor(session.clock.time);
    // Tracks first: KPIs read every raw point of the range, and asked at the same time they would
    // compete with the tracks for the cloud and InfluxDB while the person waits for the timeline.
    void session.load().then(() => {
      if (replay === session) void loadPanels();
    });
  }

  function drawReplayFrame(session: ReplaySession, t: number, poses: ReadonlyMap<string, ReplayPose>): void {
    if (session !== replay || !pilot) return;
    replayPoses = poses;
    const statuses: VehicleStatus[] = pilot.vehicles.map((v) => {
      const pose = poses.get(v.id);
      return { id: v.id, kind: v.kind, name: v.name, state: pose ? replayState(pose, t) : null };
    });
    layer?.update(statuses, t, { jump: true });
    vehicleList.update(statuses, t);
    replayBar.setCursor(t);
    const lines = new Map<string, { coordinates: [number, number][]; mode: string }>();
    for (const [id, points] of session.tracks) {
      const pose = poses.get(id);
      if (!pose) continue;
      const coords: [number, number][] = [];
      for (const p of points) if (p.ts_ms >= t - 60_000 && p.ts_ms <= t) coords.push([p.lon, p.lat]);
      coords.push([pose.lon, pose.lat]);
      lines.set(id, { coordinates: coords, mode: pose.mode });
    }
    trails?.setLines(lines);
    drawDetail();
    // The cursor goes into the URL now and then (not every frame: history entries are not free).
    if (Math.abs(t - lastUrlCursor) >= 1000 && (!session.clock.isPlaying || performance.now() - lastUrlWrite > 1000)) {
      lastUrlCursor = t;
      lastUrlWrite = performance.now();
      location.set({ t: Math.round(t) }, 'replace');
    }
  }
  let lastUrlWrite = 0;

  function panelRange(): TimeRange {
    if (mode === 'replay' && replay) return replay.range;
    const t = now();
    return { from: t - LIVE_RANGE_MS, to: t };
  }

  async function loadPanels(): Promise<void> {
    if (!pilot) return;
    panelsAbort?.abort();
    const controller = new AbortController();
    panelsAbort = controller;
    const id = pilot.id;
    const range = panelRange();
    const which = mode;
    const signal = controller.signal;
    const jobs: Promise<unknown>[] = [
      api
        .events(id, { ...range, type: events.typeFilter || undefined, limit: 500 }, signal)
        .then((list) => {
          events.setEvents(list);
          if (which === 'replay') {
            replayEvents = list;
            replayBar.setEvents(replayEvents);
          }
        })
        .catch((err) => !isAbort(err) && events.setEvents(null, true)),
      api
        .kpis(id, range, signal)
        .then((k) => kpiPanel.setKpis(k, which))
        .catch((err) => !isAbort(err) && kpiPanel.setKpis(null, which, true)),
    ];
    if (role() === 'operator') {
      jobs.push(
        api
          .completeness(id, range, signal)
          .then((s) => completeness.setSources(s))
          .catch((err) => !isAbort(err) && completeness.setSources(null, true)),
      );
    }
    if (coverageOn) jobs.push(loadCoverage());
    await Promise.all(jobs);
  }

  async function loadCoverage(): Promise<void> {
    if (!pilot || !pilotMap) return;
    const range = panelRange();
    const res = coverageResolution(pilotMap.map.getZoom());
    const key = `${pilot.id}|${mode}|${res}|${mode === 'replay' ? `${range.from}-${range.to}` : Math.floor(range.to / PANEL_REFRESH_MS)}`;
    if (key === coverageRange) return;
    coverageRange = key;
    try {
      const coverage = await api.coverage(pilot.id, { ...range, res });
      // A newer request (another zoom, pilot or range) went out meanwhile: its answer wins.
      if (coverageRange !== key) return;
      // Drawn at the resolution the API answered, which for a viewer may be coarser than asked.
      pilotMap?.setCoverage(coverage.cells ?? []);
      legend.setCoverageResolution(coverage.resolution ?? null);
    } catch (err) {
      if (coverageRange !== key) return;
      coverageRange = null;
      if (!isAbort(err)) setBanner({ key: 'coverage.error', tone: 'warning' });
    }
  }

  // Ages ("3 s ago") and staleness advance every second even when no data arrives; live panels
  // (events, KPIs, completeness) every half minute.
  const ticker = setInterval(() => {
    const t = now();
    sensorList.refresh(t);
    sensorMarkers?.refresh(t);
    if (selectedSensor) drawSensorDetail();
    if (mode !== 'live') return;
    layer?.refresh(t);
    vehicleList.refresh(t);
  }, 1000);
  const panelTicker = setInterval(() => {
    if (mode === 'live' && pilot) void loadPanels();
  }, PANEL_REFRESH_MS);

  const unsubscribeLang = langStore.subscribe(applyLanguage);
  const unsubscribeLocation = location.onChange((state) => {
    if (state.pilot && state.pilot !== pilot?.id && pilots.some((p) => p.id === state.pilot)) void showPilot(state.pilot);
    else if (state.mode !== mode) setMode(state.mode);
  });

  header.setMode(mode);
  applyLanguage();
  void boot().catch(reportError);

  return {
    stop() {
      stopped = true;
      clearInterval(ticker);
      clearInterval(panelTicker);
      clearTimeout(coverageZoomTimer);
      unsubscribeLang();
      unsubscribeLocation();
      loading?.abort();
      stopData();
      layer?.destroy();
      sensorMarkers?.destroy();
      pilotMap?.destroy();
    },
  };
}
