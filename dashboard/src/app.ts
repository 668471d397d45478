// The dashboard's composition: who is signed in, which pilot is shown, live or replay, what the
// language is. It creates the views and connects them to the modules that decide what they show
// (selection, panels, the coverage layer, the live and replay modes). The views draw; these decide.

import { createAlarmConsole } from './alarms/alarm-console.js';
import { createAlarmCue } from './alarms/alarm-cue.js';
import { countBySeverity } from './alarms/alarm-list.js';
import type { MichiApi } from './api.js';
import type { AppContext } from './app-context.js';
import type { Alarm, AlarmSeverity, PilotDetail, Role, TileSource } from './api-types.js';
import { createBoot } from './boot.js';
import { createAppState, DEFAULT_TIME_ZONE, LIVE_RANGE_MS, PANEL_REFRESH_MS, type AppStateReader, type BannerState } from './app-state.js';
import type { TokenStore } from './auth/session-token.js';
import { ApiError, isAbort } from './errors.js';
import { formatters } from './format.js';
import { pick, translator, type LangStore } from './i18n.js';
import { createLiveMode } from './live/live-mode.js';
import { liveVehicles, type VehicleFeed, type VehicleFeedListener } from './live/vehicle-feed.js';
import { createCoverageControl } from './map/coverage-control.js';
import { createMapMount } from './map/map-mount.js';
import { createPanels } from './panels.js';
import { createReplayMode } from './replay/replay-mode.js';
import { createReportSection } from './report/report-section.js';
import { createSelection } from './selection.js';
import { createSensorPoll } from './sensor-poll.js';
import { staleAfterMs } from './staleness.js';
import type { ViewLocation, ViewMode } from './url-state.js';
import { createAlarmCounter } from './views/alarm-counter.js';
import { createAlarmsPanel } from './views/alarms-panel.js';
import { createBanner } from './views/banner.js';
import { createCompletenessView } from './views/completeness-view.js';
import { createDelayNotice } from './views/delay-notice.js';
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
  const store = createAppState(location.get().mode, buildTiles);
  // What app.ts writes (the pilot, the mode, the banner); the rest it only reads, like every module.
  const own = store.writer('app');
  const state: AppStateReader = store;
  let loading: AbortController | null = null;
  const role = (): Role => state.get('me')?.role ?? 'viewer';
  const zone = () => state.get('pilot')?.timezone ?? DEFAULT_TIME_ZONE;
  const locale = () => ({ lang: langStore.get(), t: translator(langStore.get()) });

  const alarmCue = createAlarmCue();
  const alarmCounter = createAlarmCounter(() => tabs.select('alarms'));
  const header = createHeader({
    alarmCounter: alarmCounter.element,
    onPilotChange: (id) => {
      const banner = state.get('banner')?.key;
      if (banner === 'error.unknownPilot' || banner === 'error.forbidden') setBanner(null);
      location.set({ pilot: id, view: null }, 'push');
      void showPilot(id);
    },
    onToggleLanguage: () => langStore.set(langStore.get() === 'ja' ? 'en' : 'ja'),
    onModeChange: (next) => {
      if (next === state.get('mode')) return;
      location.set({ mode: next }, 'push');
      setMode(next);
    },
    onToggleCoverage: () => coverage.toggle(),
    onSignOut: () => {
      tokens.clear();
      window.location.reload();
    },
  });
  const bannerView = createBanner();
  const summary = createPilotSummary();
  const vehicleList = createVehicleList({ onSelect: (id) => selection.selectVehicle(id) });
  const legend = createLegend({ onCoverageMetric: (metric) => coverage.setMetric(metric) });
  const notice = createNotice();
  const delayNotice = createDelayNotice();
  const detail = createVehicleDetail({ onClose: () => selection.selectVehicle(null) });
  const events = createEventsList({
    onSelect: (event) => {
      const pilot = state.get('pilot');
      const session = state.get('replay');
      if (Number.isFinite(event.lat) && Number.isFinite(event.lon)) state.get('pilotMap')?.flyTo([event.lon!, event.lat!]);
      if (state.get('mode') === 'replay' && session) session.seek(event.ts_ms);
      if (pilot?.vehicles.some((v) => v.id === event.source)) selection.selectVehicle(event.source, false);
      else if (pilot?.sensors.some((s) => s.id === event.source)) selection.selectSensor(event.source, false);
    },
    onFilter: () => void panels.load(),
    sourceName,
  });
  const kpiPanel = createKpiPanel();
  const reportSection = createReportSection({
    api,
    state,
    lang: () => langStore.get(),
    now,
    openPage: (url) => void window.open(url, '_blank'),
  });
  const completeness = createCompletenessView();
  const sensorList = createSensorList({ onSelect: (id) => selection.selectSensor(id) });
  const sensorDetail = createSensorDetail({ onClose: () => selection.selectSensor(null) });
  const alarmsPanel = createAlarmsPanel({
    onSelect: showAlarm,
    onAcknowledge: (alarm, comment) => void alarmConsole.acknowledge(alarm.id, comment).then((ok) => ok && alarmsPanel.closeForm(alarm.id)),
    onClear: (alarm, comment) =>
      void alarmConsole.clear(alarm.id, comment || undefined).then((ok) => ok && alarmsPanel.closeForm(alarm.id)),
    onToggleMute: () => {
      alarmCue.setMuted(!alarmCue.muted);
      alarmsPanel.setMuted(alarmCue.muted);
    },
    onHistory: (severity) => void loadAlarmHistory(severity),
    sourceName: (alarm) =>
      alarm.sourceType === 'gateway' ? locale().t('alarms.source.gateway', { id: alarm.source }) : sourceName(alarm.source),
  });
  alarmsPanel.setMuted(alarmCue.muted);
  const tabs = createTabs(() => undefined);
  tabs.panels.vehicles.append(vehicleList.element, legend.element);
  tabs.panels.alarms.append(alarmsPanel.element);
  tabs.panels.sensors.append(sensorList.element);
  tabs.panels.events.append(events.element);
  tabs.panels.kpis.append(kpiPanel.element, reportSection.element);
  tabs.panels.data.append(completeness.element);
  const replayBar = createReplayBar({
    onLoad: (range) => {
      location.set({ from: range.from, to: range.to, t: range.from }, 'push');
      replay.start(range, range.from);
    },
    onPlayPause: () => state.get('replay')?.toggle(),
    onSpeed: (speed) => state.get('replay')?.setSpeed(speed),
    onScrub: (t) => state.get('replay')?.seek(t),
    onTick: (event) => {
      state.get('replay')?.seek(event.ts_ms);
      if (Number.isFinite(event.lat) && Number.isFinite(event.lon)) state.get('pilotMap')?.flyTo([event.lon!, event.lat!]);
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
    mapOverlays: [detail.element, sensorDetail.element, delayNotice.element],
    below: [replayBar.element],
    footer: notice.element,
    dialogs: [signIn.element],
  });

  const app: AppContext = { state, api, now, reportError };
  const selection = createSelection({
    ...app,
    writer: store.writer('selection'),
    detail,
    sensorDetail,
    vehicleList,
    sensorList,
  });
  const { drawDetail, drawSensorDetail } = selection;
  const coverage = createCoverageControl({ state, api, now, setBanner, header, legend });
  const map = createMapMount({
    state,
    writer: store.writer('map-mount'),
    container: layout.mapContainer,
    location,
    locale,
    audience: role,
    now,
    reportError,
    onFailed: () => setBanner({ key: 'error.map', tone: 'error' }),
    onViewChange: () => coverage.onViewChange(),
    onShown: (pilotMap) => coverage.applyTo(pilotMap),
    onSelectVehicle: (id) => selection.selectVehicle(id),
    onSelectSensor: (id) => selection.selectSensor(id),
  });
  const panels = createPanels({ state, api, now, role, events, kpiPanel, completeness, replayBar, coverage });
  const loadPanels = () => panels.load();
  const alarmConsole = createAlarmConsole({
    state,
    writer: store.writer('alarm-console'),
    api,
    role,
    reportError,
    setBanner,
    onNewCritical: () => {
      alarmCounter.flash();
      if (!alarmCue.muted) alarmCue.beep();
    },
  });
  const live = createLiveMode({
    ...app,
    writer: store.writer('live-mode'),
    zone,
    startFeed,
    setBanner,
    header,
    vehicleList,
    drawDetail,
    loadPanels,
    alarms: alarmConsole,
  });
  const replay = createReplayMode({
    ...app,
    writer: store.writer('replay-mode'),
    location,
    header,
    replayBar,
    vehicleList,
    drawDetail,
    loadPanels,
  });
  const sensorPoll = createSensorPoll({ state, writer: store.writer('sensor-poll'), api, now, sensorList, drawSensorDetail });
  const boot = createBoot({
    ...app,
    writer: store.writer('boot'),
    tokens,
    location,
    retryMs,
    signIn,
    header,
    setBanner,
    applyRole,
    showPilot,
  });

  function sourceName(id: string): string {
    const lang = langStore.get();
    const pilot = state.get('pilot');
    const named = pilot?.vehicles.find((v) => v.id === id) ?? pilot?.sensors.find((s) => s.id === id);
    if (named) return pick(named.name, lang);
    return role() === 'operator' ? id : '—';
  }

  /** An alarm chosen in the list: its vehicle (or sensor) is selected and the map flies to it. */
  function showAlarm(alarm: Alarm): void {
    const pilot = state.get('pilot');
    if (pilot?.vehicles.some((v) => v.id === alarm.source)) {
      selection.selectVehicle(alarm.source);
      // A vehicle not on the map (no state yet, or not at the replay's cursor): where the alarm last saw it.
      if (!state.get('layer')?.position(alarm.source) && alarm.position)
        state.get('pilotMap')?.flyTo([alarm.position.lon, alarm.position.lat]);
    } else if (pilot?.sensors.some((s) => s.id === alarm.source)) selection.selectSensor(alarm.source);
    else if (alarm.position) state.get('pilotMap')?.flyTo([alarm.position.lon, alarm.position.lat]);
  }

  let historyAbort: AbortController | null = null;
  /** The alarms of the last 24 hours, open or cleared, for the history section. */
  async function loadAlarmHistory(severity: AlarmSeverity | ''): Promise<void> {
    const pilot = state.get('pilot');
    if (!pilot || role() !== 'operator') return;
    historyAbort?.abort();
    const controller = new AbortController();
    historyAbort = controller;
    alarmsPanel.setHistory(null);
    const to = now();
    try {
      const list = await api.alarmHistory(
        pilot.id,
        { from: to - 86_400_000, to, severity: severity || undefined, limit: 200 },
        controller.signal,
      );
      if (!controller.signal.aborted) alarmsPanel.setHistory(list);
    } catch (err) {
      if (!isAbort(err) && !controller.signal.aborted) alarmsPanel.setHistory(null, true);
    }
  }

  /** The header's counter: an operator's active alarms, or the open count a viewer of an opted-in pilot may see. */
  function drawAlarmCounter(): void {
    if (role() === 'operator' && state.get('pilot')) alarmCounter.setCounts(countBySeverity(state.get('alarms'), 'active'), 'operator');
    else alarmCounter.setCounts(state.get('alarmCounts'), 'viewer');
  }

  function setBanner(next: BannerState): void {
    own.set('banner', next);
  }

  function drawBanner(next: BannerState): void {
    if (!next) bannerView.clear();
    else {
      const lang = langStore.get();
      const params = Object.fromEntries(Object.entries(next.params ?? {}).map(([k, v]) => [k, typeof v === 'string' ? v : pick(v, lang)]));
      bannerView.show(translator(lang)(next.key, params), next.tone);
    }
  }

  let speedBands = false;

  function applyLanguage(): void {
    const { lang, t } = locale();
    const fmt = formatters(lang, { speedBands });
    const pilot = state.get('pilot');
    document.documentElement.lang = lang;
    document.title = pilot ? `${pick(pilot.name, lang)} · ${t('app.name')}` : t('app.name');
    header.setLanguage(lang, t, fmt);
    summary.setLanguage(lang, t, fmt);
    vehicleList.setLanguage(lang, t, fmt, now());
    sensorList.setLanguage(lang, t, fmt, now());
    legend.setLanguage(t);
    notice.setLanguage(t);
    delayNotice.setLanguage(t);
    tabs.setLanguage(t);
    alarmCounter.setLanguage(t);
    alarmsPanel.setLanguage(lang, t, fmt, zone());
    detail.setLanguage(lang, t, fmt, zone());
    sensorDetail.setLanguage(lang, t, fmt, zone());
    events.setLanguage(lang, t, fmt, zone());
    kpiPanel.setLanguage(lang, t, fmt);
    reportSection.setLanguage(t);
    completeness.setLanguage(lang, t, fmt, zone());
    replayBar.setLanguage(lang, t, fmt, zone());
    signIn.setLanguage(t);
    state.get('layer')?.setLanguage(lang, t, now());
    state.get('sensorMarkers')?.setLanguage(lang, t, now());
    layout.mapContainer.setAttribute('aria-label', t('map.label', { pilot: pilot ? pick(pilot.name, lang) : '' }));
    drawBanner(state.get('banner'));
  }

  function applyRole(): void {
    const r = role();
    const me = state.get('me');
    header.setUser(me ? { id: me.id, role: r } : null);
    detail.setRole(r);
    sensorDetail.setRole(r);
    events.setRole(r);
    // Data completeness names sources, gateways and sequence numbers: operators only.
    tabs.setHidden('data', r !== 'operator');
    // Alarms name sources and take acknowledgements: operators only (a viewer may get the count in the header).
    tabs.setHidden('alarms', r !== 'operator');
    drawAlarmCounter();
    document.body.dataset.role = r;
    showDelay();
  }

  /**
   * Viewers of a pilot with a public delay see positions that late: the map says so, and a bus is
   * drawn stale only when silent for longer than the delay plus the usual threshold (else every
   * bus of the municipality's view would be grey while it reports normally).
   */
  function showDelay(): void {
    // A viewer of a coarsened pilot gets speed bands, not speeds (the cloud's privacy.ts): say the band.
    const privacy = state.get('pilot')?.privacy;
    const bands = role() === 'viewer' && (privacy?.publicCoarsenM ?? 0) > 0;
    if (bands !== speedBands) {
      speedBands = bands;
      applyLanguage();
    }
    const delayS = role() === 'viewer' ? (privacy?.publicPositionDelayS ?? 0) : 0;
    delayNotice.setDelay(delayS);
    const staleMs = staleAfterMs(delayS);
    vehicleList.setStaleAfter(staleMs, now());
    state.get('layer')?.setStaleAfter(staleMs, now());
    legend.setStaleAfter(staleMs);
  }

  function stopData(): void {
    live.stop();
    sensorPoll.stop();
    replay.stop();
    panels.abort();
  }

  async function showPilot(pilotId: string): Promise<void> {
    loading?.abort();
    const controller = new AbortController();
    loading = controller;
    stopData();
    header.setPilots(state.get('pilots'), pilotId);
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
          if (loading === controller && !state.get('stopped')) void showPilot(pilotId);
        }, retryMs);
      }
      return;
    }
    if (controller.signal.aborted) return;
    if (state.get('banner')?.key === 'error.pilot') setBanner(null);
    // The selection, the live history and the sensors' readings of the last pilot are forgotten
    // by their owners, which subscribe to the pilot.
    own.set('pilot', next);
    coverage.forget();
    legend.setCoverageResolution(null);
    map.mount(next);
    summary.setPilot(next, state.get('pilots').find((p) => p.id === next.id) ?? null);
    vehicleList.setVehicles(next.vehicles);
    vehicleList.select(null);
    sensorList.setSensors(next.sensors);
    sensorList.select(null);
    drawSensorDetail();
    tabs.setHidden('sensors', next.sensors.length === 0);
    legend.setPilot(next);
    notice.setNotice(next.notice || null, next.noticeJa);
    showDelay();
    applyLanguage();
    setMode(location.get().mode, true);
  }

  function setMode(next: ViewMode, force = false): void {
    if (next === state.get('mode') && !force) return;
    own.set('mode', next);
    header.setMode(next);
    stopData();
    state.get('trails')?.clear();
    state.get('layer')?.update([], now());
    replayBar.element.hidden = next !== 'replay';
    coverage.forget();
    const pilot = state.get('pilot');
    if (!pilot) return;
    if (next === 'live') live.start(pilot);
    else {
      const s = location.get();
      const to = s.to ?? now();
      const from = s.from ?? to - LIVE_RANGE_MS;
      replay.start({ from, to }, s.t);
    }
    sensorPoll.start(pilot);
    drawDetail(true);
  }

  // Ages ("3 s ago") and staleness advance every second even when no data arrives; live panels
  // (events, KPIs, completeness) every half minute.
  const ticker = setInterval(() => {
    const t = now();
    sensorList.refresh(t);
    alarmsPanel.refresh(t);
    state.get('sensorMarkers')?.refresh(t);
    if (state.get('selectedSensor')) drawSensorDetail();
    if (state.get('mode') !== 'live') return;
    state.get('layer')?.refresh(t);
    vehicleList.refresh(t);
  }, 1000);
  const panelTicker = setInterval(() => {
    if (state.get('mode') === 'live' && state.get('pilot')) void loadPanels();
  }, PANEL_REFRESH_MS);

  const unsubscribeLang = langStore.subscribe(applyLanguage);
  const unsubscribeLocation = location.onChange((s) => {
    if (s.pilot && s.pilot !== state.get('pilot')?.id && state.get('pilots').some((p) => p.id === s.pilot)) void showPilot(s.pilot);
    else if (s.mode !== state.get('mode')) setMode(s.mode);
  });
  const unsubscribeBanner = state.subscribe('banner', drawBanner);
  const unsubscribeAlarms = state.subscribe('alarms', (list) => {
    alarmsPanel.setAlarms(list, now());
    drawAlarmCounter();
  });
  const unsubscribeAlarmCounts = state.subscribe('alarmCounts', drawAlarmCounter);
  const unsubscribeAlarmPilot = state.subscribe('pilot', () => {
    historyAbort?.abort();
    alarmsPanel.setHistory(null);
    drawAlarmCounter();
  });

  header.setMode(state.get('mode'));
  applyLanguage();
  void boot().catch(reportError);

  return {
    stop() {
      own.set('stopped', true);
      clearInterval(ticker);
      clearInterval(panelTicker);
      coverage.stop();
      unsubscribeLang();
      unsubscribeLocation();
      unsubscribeBanner();
      unsubscribeAlarms();
      unsubscribeAlarmCounts();
      unsubscribeAlarmPilot();
      alarmConsole.stop();
      loading?.abort();
      stopData();
      map.destroy();
    },
  };
}
