// Which vehicle or sensor is selected, and the panel over the map that shows it: one at a time,
// the map flying to it, the vehicle's charts seeded from the cloud so that they do not start empty.

import type { MichiApi } from './api.js';
import type { LinkPoint, TimeRange } from './api-types.js';
import { speedSeries } from './state-values.js';
import { HISTORY_MS, type AppState } from './app-state.js';
import { isAbort } from './errors.js';
import { linkAt } from './link-history.js';
import { replayState } from './replay/replay-mode.js';
import type { SensorDetailView } from './views/sensor-detail.js';
import type { SensorListView } from './views/sensor-list.js';
import type { VehicleDetailView } from './views/vehicle-detail.js';
import type { VehicleListView } from './views/vehicle-list.js';

export interface SelectionDeps {
  state: AppState;
  api: MichiApi;
  now: () => number;
  reportError: (err: unknown) => void;
  detail: VehicleDetailView;
  sensorDetail: SensorDetailView;
  vehicleList: VehicleListView;
  sensorList: SensorListView;
}

export interface Selection {
  selectVehicle(vehicleId: string | null, fly?: boolean): void;
  selectSensor(sensorId: string | null, fly?: boolean): void;
  /** Redraws the vehicle panel; at most every 250 ms unless forced. */
  drawDetail(force?: boolean): void;
  drawSensorDetail(): void;
}

export function createSelection({ state, api, now, reportError, detail, sensorDetail, vehicleList, sensorList }: SelectionDeps): Selection {
  /** The selected vehicle's link samples over the replay range, for the pilot, vehicle and range of `key`. */
  let replayLinks: { key: string; points: LinkPoint[] } | null = null;
  let lastDetailDraw = 0;

  function selectVehicle(vehicleId: string | null, fly = true): void {
    // One panel over the map at a time.
    if (vehicleId && state.selectedSensor) selectSensor(null);
    state.selectedVehicle = vehicleId;
    if (vehicleId && state.mode === 'live' && state.pilot) {
      void seedHistory(state.pilot.id, vehicleId);
      void seedLinkHistory(state.pilot.id, vehicleId);
    }
    state.layer?.select(vehicleId);
    vehicleList.select(vehicleId);
    const position = vehicleId ? state.layer?.position(vehicleId) : null;
    if (position && fly) state.pilotMap?.flyTo(position);
    drawDetail(true);
  }

  function selectSensor(sensorId: string | null, fly = true): void {
    if (sensorId && state.selectedVehicle) selectVehicle(null);
    state.selectedSensor = sensorId;
    state.sensorMarkers?.select(sensorId);
    sensorList.select(sensorId);
    const position = sensorId ? state.pilot?.sensors.find((s) => s.id === sensorId)?.position : null;
    if (position && fly) state.pilotMap?.flyTo(position);
    drawSensorDetail();
  }

  function drawSensorDetail(): void {
    const sensor = state.selectedSensor ? state.pilot?.sensors.find((s) => s.id === state.selectedSensor) : null;
    sensorDetail.show(
      sensor ? { sensor, latest: state.sensorStatuses.find((s) => s.id === sensor.id)?.latest ?? null, nowMs: now() } : null,
    );
  }

  /** The speed chart of a vehicle just selected starts with its last minutes from /tracks, not empty. */
  async function seedHistory(pilotId: string, vehicleId: string): Promise<void> {
    const to = now();
    try {
      const answer = await api.tracks(pilotId, { from: to - HISTORY_MS, to, maxPoints: 600, source: vehicleId });
      const points = answer.tracks.find((t) => t.source === vehicleId)?.points ?? [];
      if (state.pilot?.id !== pilotId || points.length === 0) return;
      const live = state.history.get(vehicleId) ?? [];
      const first = live[0]?.t ?? Infinity;
      const seeded = speedSeries(points.filter((p) => p.ts_ms < first));
      state.history.set(vehicleId, [...seeded, ...live]);
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
      if (state.pilot?.id !== pilotId || points.length === 0) return;
      state.linkHistory.seed(vehicleId, points);
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
    const { pilot, replay } = state;
    const vehicle = state.selectedVehicle ? pilot?.vehicles.find((v) => v.id === state.selectedVehicle) : null;
    if (!vehicle) {
      detail.show(null);
      return;
    }
    if (state.mode === 'replay' && replay) {
      const cursor = replay.clock.time;
      const pose = state.replayPoses.get(vehicle.id);
      const points = replay.tracks.get(vehicle.id) ?? [];
      const window = { from: Math.max(replay.range.from, cursor - HISTORY_MS / 2), to: Math.min(replay.range.to, cursor + HISTORY_MS / 2) };
      const links = pilot ? replayLinksOf(pilot.id, vehicle.id, replay.range) : [];
      detail.show({
        vehicle,
        state: pose ? replayState(pose, cursor, linkAt(links, cursor)) : null,
        speed: speedSeries(points.filter((p) => p.ts_ms >= window.from && p.ts_ms <= window.to)),
        link: links.filter((p) => p.ts_ms >= window.from && p.ts_ms <= window.to),
        window,
        cursor,
      });
    } else {
      const status = state.liveStatuses.find((s) => s.id === vehicle.id);
      const t2 = now();
      detail.show({
        vehicle,
        state: status?.state ?? null,
        speed: state.history.get(vehicle.id) ?? [],
        link: state.linkHistory.of(vehicle.id),
        window: { from: t2 - HISTORY_MS, to: t2 },
        cursor: null,
      });
    }
  }

  return { selectVehicle, selectSensor, drawDetail, drawSensorDetail };
}
