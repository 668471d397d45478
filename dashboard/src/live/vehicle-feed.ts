// Where the latest vehicle states come from: the WebSocket live feed (/api/v1/live), with
// polling of GET /api/v1/pilots/:pilot/vehicles as the fallback while the socket cannot be
// opened. Both hand the same full list to the listener, so nothing downstream knows which. The
// same socket carries alarm changes (operators) and alarm counts (viewers), passed on as they come.

import type { MichiApi } from '../api.js';
import type { LiveAlarmMessage, LiveMessage, LiveVehicleState as LiveState, VehicleStatus } from '../api-types.js';
import { pollLoop, type PollOptions } from './poll-loop.js';

export type FeedTransport = 'websocket' | 'polling';

export interface VehicleFeedListener {
  /** The full list of a pilot's vehicles with their latest state; `nowMs` is when it arrived. */
  snapshot(vehicles: VehicleStatus[], nowMs: number): void;
  /** A poll failed or the socket was refused; the feed keeps trying on its own. */
  error(err: unknown): void;
  /** Which transport delivers the data now. */
  transport?(transport: FeedTransport): void;
  /** An alarm change or count from the socket (polling carries none: the alarm console polls itself). */
  alarm?(message: LiveAlarmMessage): void;
}

export interface VehicleFeed {
  stop(): void;
}

export const POLL_INTERVAL_MS = 1000;

export function pollVehicles(api: MichiApi, pilotId: string, listener: VehicleFeedListener, options: PollOptions = {}): VehicleFeed {
  return pollLoop(
    (signal) => api.listVehicles(pilotId, signal),
    { data: (vehicles, nowMs) => listener.snapshot(vehicles, nowMs), error: (err) => listener.error(err) },
    POLL_INTERVAL_MS,
    options,
  );
}

/** Above this many vehicles, changes are gathered for a second before the page hears of them. */
export const LARGE_FLEET = 150;

export interface LiveOptions {
  WebSocket?: typeof globalThis.WebSocket;
  /** State messages are gathered for this long before the listener hears of them (one redraw, not hundreds). */
  flushMs?: number;
  /** After the socket closed, try it again after this long (polling meanwhile). */
  reconnectMs?: number;
  poll?: PollOptions;
}

/**
 * The live feed: a WebSocket, `snapshot` on connect then `state` per change, merged into one list.
 * When the socket fails or closes, polling takes over at once and the socket is retried.
 */
export function liveVehicles(api: MichiApi, pilotId: string, listener: VehicleFeedListener, options: LiveOptions = {}): VehicleFeed {
  const { WebSocket: WS = globalThis.WebSocket, flushMs = 250, reconnectMs = 10_000 } = options;
  const vehicles = new Map<string, VehicleStatus>();
  let socket: WebSocket | null = null;
  let poller: VehicleFeed | null = null;
  let flushTimer: ReturnType<typeof setTimeout> | null = null;
  let reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;

  const flush = () => {
    flushTimer = null;
    if (!stopped) listener.snapshot([...vehicles.values()], Date.now());
  };

  function startPolling(): void {
    if (poller || stopped) return;
    listener.transport?.('polling');
    poller = pollVehicles(api, pilotId, listener, options.poll);
  }

  function connect(): void {
    reconnectTimer = null;
    if (stopped) return;
    if (!WS) {
      startPolling();
      return;
    }
    let ws: WebSocket;
    try {
      const { url, protocols } = api.live(pilotId);
      ws = new WS(url, protocols);
    } catch (err) {
      listener.error(err);
      startPolling();
      return;
    }
    socket = ws;
    let opened = false;
    /** One vehicle's new state; false when it is not one (no id, or older than the one shown). */
    const apply = (change: LiveState | undefined): boolean => {
      if (!change?.id) return false;
      const known = vehicles.get(change.id);
      // Never move a vehicle back: a state older than the one shown (e.g. a stale position a
      // cloud sent a delayed viewer) is dropped.
      const shownTs = known?.state?.ts_ms;
      const ts = change.state?.ts_ms;
      if (shownTs !== undefined && (ts === undefined || ts < shownTs)) return false;
      vehicles.set(
        change.id,
        known
          ? { ...known, state: change.state }
          : { id: change.id, kind: '', name: { ja: change.id, en: change.id }, routeId: '', state: change.state },
      );
      return true;
    };
    ws.addEventListener('message', (event) => {
      let msg: LiveMessage;
      try {
        msg = JSON.parse(String(event.data)) as LiveMessage;
      } catch {
        return;
      }
      if (msg.type === 'snapshot' && Array.isArray(msg.vehicles)) {
        if (!opened) {
          opened = true;
          // The socket delivers: polling steps back.
          poller?.stop();
          poller = null;
          listener.transport?.('websocket');
        }
        vehicles.clear();
        for (const v of msg.vehicles) vehicles.set(v.id, v);
        if (flushTimer) clearTimeout(flushTimer);
        flush();
      } else if (msg.type === 'state' || msg.type === 'states') {
        const changes = msg.type === 'state' ? [msg.vehicle] : Array.isArray(msg.vehicles) ? msg.vehicles : [];
        let changed = false;
        for (const change of changes) changed = apply(change) || changed;
        // A large fleet sends hundreds of changes a second: one redraw a second is plenty.
        if (changed) flushTimer ??= setTimeout(flush, vehicles.size > LARGE_FLEET ? Math.max(flushMs, 1000) : flushMs);
      } else if (msg.type === 'alarm' || msg.type === 'alarm-count') {
        // Not gathered like states: an alarm is rare and should reach the operator at once.
        listener.alarm?.(msg);
      }
    });
    ws.addEventListener('close', (event) => {
      if (socket === ws) socket = null;
      if (stopped) return;
      if (!opened || event.code !== 1000)
        listener.error(new Error(`live feed closed (${event.code}${event.reason ? `: ${event.reason}` : ''})`));
      startPolling();
      reconnectTimer = setTimeout(connect, reconnectMs);
    });
  }

  connect();
  return {
    stop() {
      stopped = true;
      if (flushTimer) clearTimeout(flushTimer);
      if (reconnectTimer) clearTimeout(reconnectTimer);
      poller?.stop();
      socket?.close(1000);
      socket = null;
    },
  };
}
