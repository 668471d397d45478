// The live mode's wiring: the vehicle feed's snapshots go to the map, the trails, the list, the
// detail panel's recent history and the header's status.

import type { MichiApi } from '../api.js';
import type { PilotDetail, VehicleStatus } from '../api-types.js';
import { HISTORY_MS, type AppState, type BannerState } from '../app-state.js';
import { ApiError } from '../errors.js';
import type { HeaderView } from '../views/header.js';
import type { VehicleListView } from '../views/vehicle-list.js';
import type { FeedTransport, VehicleFeed, VehicleFeedListener } from './vehicle-feed.js';

export interface LiveModeDeps {
  state: AppState;
  api: MichiApi;
  now: () => number;
  zone: () => string;
  startFeed: (api: MichiApi, pilotId: string, listener: VehicleFeedListener) => VehicleFeed;
  setBanner: (next: BannerState) => void;
  header: HeaderView;
  vehicleList: VehicleListView;
  drawDetail: () => void;
  loadPanels: () => Promise<void>;
}

export interface LiveMode {
  start(p: PilotDetail): void;
  stop(): void;
}

export function createLiveMode({
  state,
  api,
  now,
  zone,
  startFeed,
  setBanner,
  header,
  vehicleList,
  drawDetail,
  loadPanels,
}: LiveModeDeps): LiveMode {
  let feed: VehicleFeed | null = null;
  let transport: FeedTransport = 'polling';

  function start(p: PilotDetail): void {
    header.setStatus({ kind: 'connecting' });
    feed = startFeed(api, p.id, {
      snapshot(vehicles, at) {
        state.liveStatuses = vehicles;
        state.layer?.update(vehicles, at);
        state.trails?.addLive(vehicles);
        vehicleList.update(vehicles, at);
        recordHistory(vehicles);
        state.linkHistory.record(vehicles, now());
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
      if (!s || s.speed_mps === null || !Number.isFinite(s.speed_mps)) continue;
      let series = state.history.get(v.id);
      if (!series) state.history.set(v.id, (series = []));
      const last = series[series.length - 1];
      if (!last || last.t < s.ts_ms) series.push({ t: s.ts_ms, v: s.speed_mps * 3.6 });
      while (series.length && series[0]!.t < cutoff) series.shift();
    }
  }

  return {
    start,
    stop() {
      feed?.stop();
      feed = null;
    },
  };
}
