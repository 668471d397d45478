// The dashboard's behaviour: which pilot is shown, where its vehicles come from, what the
// language is, and which views hear about each change. The views draw; this module decides.

import type { Bilingual, MichiApi, PilotDetail, PilotSummary } from './api.js';
import { ApiError, isAbort } from './errors.js';
import { formatters } from './format.js';
import { pick, translator, type LangStore, type MessageKey } from './i18n.js';
import { pollVehicles, type VehicleFeed, type VehicleFeedListener } from './live/vehicle-feed.js';
import { PilotMap } from './map/pilot-map.js';
import { VehicleMarkers } from './map/vehicle-markers.js';
import type { PilotLocation } from './url-state.js';
import { createBanner } from './views/banner.js';
import { createHeader } from './views/header.js';
import { createLayout } from './views/layout.js';
import { createLegend } from './views/legend.js';
import { createNotice } from './views/notice.js';
import { createPilotSummary } from './views/pilot-summary.js';
import { createVehicleList } from './views/vehicle-list.js';

export interface AppDeps {
  root: HTMLElement;
  api: MichiApi;
  langStore: LangStore;
  location: PilotLocation;
  /** Unexpected errors (bugs, MapLibre errors): the page keeps going, the report goes to the console. */
  reportError: (err: unknown) => void;
  now?: () => number;
  startFeed?: (api: MichiApi, pilotId: string, listener: VehicleFeedListener) => VehicleFeed;
  /** Wait before asking again for the pilot list when the server is not up yet. */
  retryMs?: number;
}

/** Kept as a key and parameters, not text, so that a language switch re-words it. */
type BannerState = { key: MessageKey; params?: Record<string, string | Bilingual>; tone: 'error' | 'warning' } | null;

const DEFAULT_TIME_ZONE = 'Asia/Tokyo';

export function startApp({
  root,
  api,
  langStore,
  location,
  reportError,
  now = Date.now,
  startFeed = (a, id, listener) => pollVehicles(a, id, listener),
  retryMs = 3000,
}: AppDeps): { stop(): void } {
  let pilots: PilotSummary[] = [];
  let pilot: PilotDetail | null = null;
  let pilotMap: PilotMap | null = null;
  let markers: VehicleMarkers | null = null;
  let feed: VehicleFeed | null = null;
  let loading: AbortController | null = null;
  let selectedVehicle: string | null = null;
  let banner: BannerState = null;
  let mapFailed = false;
  let stopped = false;
  const locale = () => ({ lang: langStore.get(), t: translator(langStore.get()) });

  const header = createHeader({
    onPilotChange: (id) => {
      if (banner?.key === 'error.unknownPilot') setBanner(null);
      location.set(id, 'push');
      void showPilot(id);
    },
    onToggleLanguage: () => langStore.set(langStore.get() === 'ja' ? 'en' : 'ja'),
  });
  const bannerView = createBanner();
  const summary = createPilotSummary();
  const vehicleList = createVehicleList({ onSelect: selectVehicle });
  const legend = createLegend();
  const notice = createNotice();
  const layout = createLayout(root, {
    header: header.element,
    banner: bannerView.element,
    // The legend sits in the panel, under the list, where it hides no part of the route.
    side: [summary.element, vehicleList.element, legend.element],
    footer: notice.element,
  });

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
    legend.setLanguage(t);
    notice.setLanguage(t);
    markers?.setLanguage(lang, t, now());
    layout.mapContainer.setAttribute('aria-label', t('map.label', { pilot: pilot ? pick(pilot.name, lang) : '' }));
    setBanner(banner);
  }

  function selectVehicle(vehicleId: string): void {
    selectedVehicle = vehicleId;
    markers?.select(vehicleId);
    vehicleList.select(vehicleId);
    const position = markers?.position(vehicleId);
    if (position) pilotMap?.flyTo(position);
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
    const wanted = location.get();
    if (wanted && pilots.some((p) => p.id === wanted)) return wanted;
    if (wanted) {
      setBanner({ key: 'error.unknownPilot', params: { id: wanted, name: first.name }, tone: 'warning' });
    }
    location.set(first.id, 'replace');
    return first.id;
  }

  async function showPilot(pilotId: string): Promise<void> {
    loading?.abort();
    const controller = new AbortController();
    loading = controller;
    feed?.stop();
    feed = null;
    header.setPilots(pilots, pilotId);
    header.setStatus({ kind: 'connecting' });
    let detail: PilotDetail;
    try {
      detail = await api.getPilot(pilotId, controller.signal);
    } catch (err) {
      if (isAbort(err) || controller.signal.aborted) return;
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
    pilot = detail;
    selectedVehicle = null;
    mountMap(detail);
    summary.setPilot(detail, pilots.find((p) => p.id === detail.id) ?? null);
    vehicleList.setVehicles(detail.vehicles);
    vehicleList.select(null);
    legend.setPilot(detail);
    notice.setNotice(detail.notice || null);
    applyLanguage();
    feed = startFeed(api, detail.id, {
      snapshot(vehicles, at) {
        markers?.update(vehicles, at);
        vehicleList.update(vehicles, at);
        header.setStatus({ kind: 'live', lastMs: at }, detail.timezone ?? DEFAULT_TIME_ZONE);
      },
      error() {
        header.setStatus({ kind: 'offline' });
      },
    });
  }

  function mountMap(detail: PilotDetail): void {
    markers?.destroy();
    markers = null;
    if (mapFailed) return;
    try {
      if (pilotMap) pilotMap.show(detail);
      else pilotMap = new PilotMap({ container: layout.mapContainer, pilot: detail, locale, onError: reportError });
    } catch (err) {
      // No WebGL (an old machine, a locked-down browser): the list still works.
      mapFailed = true;
      reportError(err);
      setBanner({ key: 'error.map', tone: 'error' });
      return;
    }
    markers = new VehicleMarkers(pilotMap.map, { onSelect: selectVehicle });
    markers.setLanguage(langStore.get(), translator(langStore.get()), now());
    if (selectedVehicle) markers.select(selectedVehicle);
  }

  // Ages ("3 s ago") and staleness advance every second even when no data arrives.
  const ticker = setInterval(() => {
    const t = now();
    markers?.refresh(t);
    vehicleList.refresh(t);
  }, 1000);

  const unsubscribeLang = langStore.subscribe(applyLanguage);
  const unsubscribeLocation = location.onChange((id) => {
    if (id && id !== pilot?.id && pilots.some((p) => p.id === id)) void showPilot(id);
  });

  applyLanguage();
  void (async () => {
    await loadPilots();
    if (stopped) return;
    const initial = chooseInitialPilot();
    header.setPilots(pilots, initial);
    if (initial) await showPilot(initial);
  })().catch(reportError);

  return {
    stop() {
      stopped = true;
      clearInterval(ticker);
      unsubscribeLang();
      unsubscribeLocation();
      loading?.abort();
      feed?.stop();
      markers?.destroy();
      pilotMap?.destroy();
    },
  };
}
