// Asking the API the same question again and again: one request at a time, started every
// interval, backing off while the server does not answer, stopped by an AbortController. The
// vehicle feed's fallback (when the WebSocket is down) and the roadside sensors' readings (which
// the WebSocket does not carry) both poll through it.

import { isAbort } from '../errors.js';

export interface PollOptions {
  intervalMs?: number;
  /** Longest wait between attempts while the server does not answer. */
  maxBackoffMs?: number;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export interface PollListener<T> {
  /** An answer; `nowMs` is when it arrived. */
  data(value: T, nowMs: number): void;
  /** A request failed; the loop keeps trying on its own. */
  error(err: unknown): void;
}

export interface PollLoop {
  stop(): void;
}

export function pollLoop<T>(
  load: (signal: AbortSignal) => Promise<T>,
  listener: PollListener<T>,
  defaultIntervalMs: number,
  options: PollOptions = {},
): PollLoop {
  const {
    intervalMs = defaultIntervalMs,
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
      const value = await load(abort.signal);
      if (abort.signal.aborted) return;
      failures = 0;
      listener.data(value, now());
    } catch (err) {
      if (abort.signal.aborted || isAbort(err)) return;
      failures += 1;
      listener.error(err);
    }
    // Started once an interval: a slow answer delays the next request, never piles requests up.
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
