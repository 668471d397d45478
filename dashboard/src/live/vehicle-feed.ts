// Where the latest vehicle states come from. For now the dashboard polls
// GET /api/v1/pilots/:pilot/vehicles once a second; the WebSocket live feed (issue 5) will be a
// second implementation of the same VehicleFeed, and nothing downstream will change.

import type { MichiApi, VehicleStatus } from '../api.js';
import { isAbort } from '../errors.js';

export interface VehicleFeedListener {
  /** The full list of a pilot's vehicles with their latest state; `nowMs` is when it arrived. */
  snapshot(vehicles: VehicleStatus[], nowMs: number): void;
  /** A poll failed; the feed keeps trying on its own. */
  error(err: unknown): void;
}

export interface VehicleFeed {
  stop(): void;
}

export interface PollOptions {
  intervalMs?: number;
  /** Longest wait between attempts while the server does not answer. */
  maxBackoffMs?: number;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export const POLL_INTERVAL_MS = 1000;

export function pollVehicles(api: MichiApi, pilotId: string, listener: VehicleFeedListener, options: PollOptions = {}): VehicleFeed {
  const {
    intervalMs = POLL_INTERVAL_MS,
    maxBackoffMs = 5000,
    now = Date.now,
    setTimer = (fn, ms) => setTimeout(fn, ms),
    clearTimer = (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  } = options;
  const abort = new AbortController();
  let timer: unknown = null;
  let failures = 0;

  async function poll(): Promise<void> {
    timer = null;
    const started = now();
    try {
      const vehicles = await api.listVehicles(pilotId, abort.signal);
      if (abort.signal.aborted) return;
      failures = 0;
      listener.snapshot(vehicles, now());
    } catch (err) {
      if (abort.signal.aborted || isAbort(err)) return;
      failures += 1;
      listener.error(err);
    }
    // One request at a time, started once a second: a slow answer delays the next, never piles up.
    const wait = failures === 0 ? intervalMs - (now() - started) : Math.min(maxBackoffMs, intervalMs * 2 ** (failures - 1));
    timer = setTimer(() => void poll(), Math.max(0, wait));
  }

  void poll();
  return {
    stop() {
      abort.abort();
      if (timer !== null) clearTimer(timer);
      timer = null;
    },
  };
}
