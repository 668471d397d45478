// The replay mode's wiring: a ReplaySession over the chosen range drives the replay bar, the
// vehicles on the map and in the list, their trails, and the cursor in the URL.

import type { LinkSampleView, TimeRange, VehicleStatus } from '../api-types.js';
import type { AppContext } from '../app-context.js';
import type { AppStateWriter } from '../app-state.js';
import type { ViewLocation } from '../url-state.js';
import type { HeaderView } from '../views/header.js';
import type { ReplayBarView } from '../views/replay-bar.js';
import type { VehicleListView } from '../views/vehicle-list.js';
import { ReplaySession } from './replay-session.js';
import type { ReplayPose } from './timeline.js';

export interface ReplayModeDeps extends AppContext {
  writer: AppStateWriter<'replay-mode'>;
  location: ViewLocation;
  header: HeaderView;
  replayBar: ReplayBarView;
  vehicleList: VehicleListView;
  drawDetail: () => void;
  loadPanels: () => Promise<void>;
}

/** A vehicle's state at `t` of the replay; `link`: its link sample at or before `t`, when loaded. */
export function replayState(pose: ReplayPose, t: number, link: LinkSampleView | null = null): VehicleStatus['state'] {
  return {
    lat: pose.lat,
    lon: pose.lon,
    speed_mps: pose.speed_mps,
    heading_deg: pose.heading,
    mode: pose.mode,
    // A track has no battery level, receive time or seq: not reported, as the API says it.
    battery_pct: null,
    ts_ms: t,
    recv_ms: null,
    seq: null,
    link,
  };
}

export interface ReplayMode {
  /** Starts a replay of `range` for the pilot shown, the cursor at `cursor` (or the start). */
  start(range: TimeRange, cursor: number | null): void;
  stop(): void;
}

export function createReplayMode({
  state,
  writer,
  api,
  location,
  reportError,
  header,
  replayBar,
  vehicleList,
  drawDetail,
  loadPanels,
}: ReplayModeDeps): ReplayMode {
  let lastUrlCursor = 0;
  let lastUrlWrite = 0;

  function startReplay(range: TimeRange, cursor: number | null): void {
    const pilot = state.get('pilot');
    if (!pilot) return;
    state.get('replay')?.stop();
    header.setStatus({ kind: 'replay' });
    replayBar.setRange(range.from, range.to);
    replayBar.setReady(false);
    replayBar.setPlaying(false);
    const session = new ReplaySession(
      {
        api,
        pilotId: pilot.id,
        onFrame: (t, poses) => drawReplayFrame(session, t, poses),
        onState: (s, err) => {
          replayBar.setReady(s === 'ready');
          replayBar.setStatus(s === 'loading' ? 'replay.loading' : s === 'empty' ? 'replay.empty' : s === 'error' ? 'replay.error' : null);
          if (err) reportError(err);
          document.body.dataset.replay = s;
        },
        onPlaying: (playing) => replayBar.setPlaying(playing),
      },
      range,
      cursor,
    );
    writer.set('replay', session);
    replayBar.setSpeed(session.clock.speed);
    replayBar.setCursor(session.clock.time);
    // Tracks first: KPIs read every raw point of the range, and asked at the same time they would
    // compete with the tracks for the cloud and InfluxDB while the person waits for the timeline.
    void session.load().then(() => {
      if (state.get('replay') === session) void loadPanels();
    });
  }

  function drawReplayFrame(session: ReplaySession, t: number, poses: ReadonlyMap<string, ReplayPose>): void {
    const pilot = state.get('pilot');
    if (session !== state.get('replay') || !pilot) return;
    writer.set('replayPoses', poses);
    const statuses: VehicleStatus[] = pilot.vehicles.map((v) => {
      const pose = poses.get(v.id);
      return { id: v.id, kind: v.kind, name: v.name, routeId: v.routeId, state: pose ? replayState(pose, t) : null };
    });
    state.get('layer')?.update(statuses, t, { jump: true });
    vehicleList.update(statuses, t);
    replayBar.setCursor(t);
    const lines = new Map<string, { coordinates: [number, number][]; mode: string | null }>();
    for (const [id, points] of session.tracks) {
      const pose = poses.get(id);
      if (!pose) continue;
      const coords: [number, number][] = [];
      for (const p of points) if (p.ts_ms >= t - 60_000 && p.ts_ms <= t) coords.push([p.lon, p.lat]);
      coords.push([pose.lon, pose.lat]);
      lines.set(id, { coordinates: coords, mode: pose.mode });
    }
    state.get('trails')?.setLines(lines);
    drawDetail();
    // The cursor goes into the URL now and then (not every frame: history entries are not free).
    if (Math.abs(t - lastUrlCursor) >= 1000 && (!session.clock.isPlaying || performance.now() - lastUrlWrite > 1000)) {
      lastUrlCursor = t;
      lastUrlWrite = performance.now();
      location.set({ t: Math.round(t) }, 'replace');
    }
  }

  return {
    start: startReplay,
    stop() {
      state.get('replay')?.stop();
      writer.set('replay', null);
    },
  };
}
