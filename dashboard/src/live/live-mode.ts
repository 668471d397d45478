// The live mode's wiring: the vehicle feed's snapshots go to the map, the trails, the list, the
// detail panel's recent history and the header's status. The history of a vehicle just selected
// starts with its last minutes from the cloud, not empty; another pilot starts it afresh.

import type { MichiApi } from '../api.js';
import type { PilotDetail, VehicleStatus } from '../api-types.js';
import type { AppContext } from '../app-context.js';
import { HISTORY_MS, type AppStateWriter, type BannerState } from '../app-state.js';
import { ApiError, isAbort } from '../errors.js';
import { LiveLinkHistory } from '../link-history.js';
import type { SeriesPoint } from '../views/charts.js';
import { speedSeries } from '../state-values.js';
import type { HeaderView } from '../views/header.js';
import type { VehicleListView } from '../views/vehicle-list.js';
import type { AlarmConsole } from '../alarms/alarm-console.js';
import type { FeedTransport, VehicleFeed, VehicleFeedListener } from './vehicle-feed.js';

export interface LiveModeDeps extends AppContext {
  writer: AppStateWriter<'live-mode'>;
  zone: () => string;
  startFeed: (api: MichiApi, pilotId: string, listener: VehicleFeedListener) => VehicleFeed;
  setBanner: (next: BannerState) => void;
  header: HeaderView;
  vehicleList: VehicleListView;
  drawDetail: (force?: boolean) => void;
  loadPanels: () => Promise<void>;
  /** Hears the feed's alarm messages and which transport it is on (it polls while the socket is down). */
  alarms: Pick<AlarmConsole, 'feedMessage' | 'feedTransport'>;
}

export interface LiveMode {
  start(p: PilotDetail): void;
  stop(): void;
}

export function createLiveMode({
  state,
  writer,
  api,
  now,
  reportError,
  zone,
  startFeed,
  setBanner,
  header,
  vehicleList,
  drawDetail,
  loadPanels,
  alarms,
}: LiveModeDeps): LiveMode {
  let feed: VehicleFeed | null = null;
  let transport: FeedTransport = 'polling';
  const history = new Map<string, SeriesPoint[]>();
  const linkHistory = new LiveLinkHistory(HISTORY_MS);
  writer.set('history', history);
  writer.set('linkHistory', linkHistory);
  state.subscribe('pilot', () => {
    writer.set('liveStatuses', []);
    history.clear();
    linkHistory.clear();
  });
  state.subscribe('selectedVehicle', (vehicleId) => {
    const pilot = state.get('pilot');
    if (vehicleId && state.get('mode') === 'live' && pilot) seedCharts(pilot.id, vehicleId);
  });

  function start(p: PilotDetail): void {
    header.setStatus({ kind: 'connecting' });
    feed = startFeed(api, p.id, {
      snapshot(vehicles, at) {
        writer.set('liveStatuses', vehicles);
        state.get('layer')?.update(vehicles, at);
        state.get('trails')?.addLive(vehicles);
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
        alarms.feedTransport(next);
      },
      alarm: (message) => alarms.feedMessage(message),
    });
    void loadPanels();
  }

  function recordHistory(vehicles: readonly VehicleStatus[]): void {
    const cutoff = now() - HISTORY_MS;
    for (const v of vehicles) {
      const s = v.state;
      if (!s || s.speed_mps === null || !Number.isFinite(s.speed_mps)) continue;
      let series = history.get(v.id);
      if (!series) history.set(v.id, (series = []));
      const last = series[series.length - 1];
      if (!last || last.t < s.ts_ms) series.push({ t: s.ts_ms, v: s.speed_mps * 3.6 });
      while (series.length && series[0]!.t < cutoff) series.shift();
    }
  }

  /** The charts of a vehicle just selected start with its last minutes from /tracks and /links, not empty. */
  function seedCharts(pilotId: string, vehicleId: string): void {
    const to = now();
    const query = { from: to - HISTORY_MS, to, maxPoints: 600, source: vehicleId };
    // Each answer is put in front of what the live feed brought meanwhile, unless the pilot changed.
    const seeding = (seeded: Promise<boolean>) =>
      void seeded
        .then((drawn) => drawn && drawDetail(true))
        .catch((err: unknown) => {
          if (!isAbort(err)) reportError(err);
        });
    seeding(
      api.tracks(pilotId, query).then((answer) => {
        const points = answer.tracks.find((t) => t.source === vehicleId)?.points ?? [];
        if (state.get('pilot')?.id !== pilotId || points.length === 0) return false;
        const live = history.get(vehicleId) ?? [];
        const first = live[0]?.t ?? Infinity;
        const seeded = speedSeries(points.filter((p) => p.ts_ms < first));
        history.set(vehicleId, [...seeded, ...live]);
        return true;
      }),
    );
    seeding(
      api.links(pilotId, query).then((answer) => {
        const points = answer.links.find((l) => l.source === vehicleId)?.points ?? [];
        if (state.get('pilot')?.id !== pilotId || points.length === 0) return false;
        linkHistory.seed(vehicleId, points);
        return true;
      }),
    );
  }

  return {
    start,
    stop() {
      if (feed) alarms.feedTransport('off');
      feed?.stop();
      feed = null;
    },
  };
}
