// Which vehicle or sensor is selected, and the panel over the map that shows it: one at a time,
// the map flying to it. Another pilot clears the selection. (The live mode seeds the vehicle's
// charts when it hears of a selection.)

import type { LinkPoint, TimeRange } from './api-types.js';
import type { AppContext } from './app-context.js';
import { HISTORY_MS, type AppStateWriter } from './app-state.js';
import { isAbort } from './errors.js';
import { speedSeries } from './state-values.js';
import { linkAt } from './link-history.js';
import { replayState } from './replay/replay-mode.js';
import type { SensorDetailView } from './views/sensor-detail.js';
import type { SensorListView } from './views/sensor-list.js';
import type { VehicleDetailView } from './views/vehicle-detail.js';
import type { VehicleListView } from './views/vehicle-list.js';

export interface SelectionDeps extends AppContext {
  writer: AppStateWriter<'selection'>;
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

export function createSelection({
  state,
  writer,
  api,
  now,
  reportError,
  detail,
  sensorDetail,
  vehicleList,
  sensorList,
}: SelectionDeps): Selection {
  /** The selected vehicle's link samples over the replay range, for the pilot, vehicle and range of `key`. */
  let replayLinks: { key: string; points: LinkPoint[] } | null = null;
  let lastDetailDraw = 0;

  function selectVehicle(vehicleId: string | null, fly = true): void {
    // One panel over the map at a time.
    if (vehicleId && state.get('selectedSensor')) selectSensor(null);
    writer.set('selectedVehicle', vehicleId);
    const layer = state.get('layer');
    layer?.select(vehicleId);
    vehicleList.select(vehicleId);
    const position = vehicleId ? layer?.position(vehicleId) : null;
    if (position && fly) state.get('pilotMap')?.flyTo(position);
    drawDetail(true);
  }

  function selectSensor(sensorId: string | null, fly = true): void {
    if (sensorId && state.get('selectedVehicle')) selectVehicle(null);
    writer.set('selectedSensor', sensorId);
    state.get('sensorMarkers')?.select(sensorId);
    sensorList.select(sensorId);
    const position = sensorId ? state.get('pilot')?.sensors.find((s) => s.id === sensorId)?.position : null;
    if (position && fly) state.get('pilotMap')?.flyTo(position);
    drawSensorDetail();
  }

  function drawSensorDetail(): void {
    const selected = state.get('selectedSensor');
    const sensor = selected ? state.get('pilot')?.sensors.find((s) => s.id === selected) : null;
    sensorDetail.show(
      sensor ? { sensor, latest: state.get('sensorStatuses').find((s) => s.id === sensor.id)?.latest ?? null, nowMs: now() } : null,
    );
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
    const pilot = state.get('pilot');
    const replay = state.get('replay');
    const selected = state.get('selectedVehicle');
    const vehicle = selected ? pilot?.vehicles.find((v) => v.id === selected) : null;
    if (!vehicle) {
      detail.show(null);
      return;
    }
    if (state.get('mode') === 'replay' && replay) {
      const cursor = replay.clock.time;
      const pose = state.get('replayPoses').get(vehicle.id);
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
      const status = state.get('liveStatuses').find((s) => s.id === vehicle.id);
      const t2 = now();
      detail.show({
        vehicle,
        state: status?.state ?? null,
        speed: state.get('history').get(vehicle.id) ?? [],
        link: state.get('linkHistory').of(vehicle.id),
        window: { from: t2 - HISTORY_MS, to: t2 },
        cursor: null,
      });
    }
  }

  // Another pilot: nothing of the last one stays selected (app.ts redraws the panels).
  state.subscribe('pilot', () => {
    writer.set('selectedVehicle', null);
    writer.set('selectedSensor', null);
  });

  return { selectVehicle, selectSensor, drawDetail, drawSensorDetail };
}
