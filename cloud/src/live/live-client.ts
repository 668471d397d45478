/**
 * One connection's throttle and back-pressure: per vehicle, at most one `state` every `intervalMs`;
 * a vehicle that changed again before its turn is sent once, with its latest state, when its turn
 * comes. A client whose socket buffer holds more than `maxBufferedBytes` gets nothing until it
 * drains; meanwhile only the latest state per vehicle is kept. A state no newer than the one this
 * client was last shown (snapshot or message) is never sent: the feed does not move a vehicle back.
 */
import { STATES_PER_MESSAGE, vehiclesMessage, type LiveVehicle } from './messages.js';

/** The part of a ws WebSocket a LiveClient uses. */
export interface LiveSocket {
  readonly bufferedAmount: number;
  send(data: string): void;
}

export interface LiveCounters {
  sent(n: number): void;
  dropped(reason: 'throttled' | 'slow_client', n: number): void;
  /** A state was sent `ms` after the change that it shows (the live_push hop). */
  pushed?(ms: number): void;
}

/** The state to send for a vehicle now (already privacy-filtered), with the source timestamp it shows. */
export type StateOf = (vehicle: string) => (LiveVehicle & { ts: number }) | undefined;

/** Retry interval while a slow client's buffer drains. */
const CONGESTED_RETRY_MS = 50;

export class LiveClient {
  private readonly pending = new Set<string>();
  private readonly lastSentAt = new Map<string, number>();
  private readonly lastSentTs = new Map<string, number>();
  /** When each pending vehicle last changed (live changes only, not a delayed viewer's ticks). */
  private readonly changedAt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private ready = false;
  private closed = false;

  constructor(
    private readonly socket: LiveSocket,
    private readonly intervalMs: number,
    private readonly maxBufferedBytes: number,
    /** undefined: nothing to send for that vehicle. */
    private readonly stateOf: StateOf,
    private readonly counters: LiveCounters,
    private readonly now: () => number = Date.now,
    /**
     * The changes due at one moment in one `states` message (`?batch=1`): a fleet of 1,000 vehicles
     * at 1 Hz was 1,000 messages a second, each a task of its own on a browser's main thread.
     */
    private readonly batch = false,
  ) {}

  /** After the snapshot: `sentTs` holds the source timestamps it showed, so they are not sent again. */
  start(sentTs: ReadonlyMap<string, number>): void {
    for (const [v, ts] of sentTs) this.lastSentTs.set(v, ts);
    this.ready = true;
    this.flush();
  }

  /** A vehicle changed (`count`: an overtaken pending update counts as dropped; not for delayed ticks). */
  changed(vehicle: string, count = true): void {
    if (this.closed) return;
    if (count && this.pending.has(vehicle)) this.counters.dropped(this.congested() ? 'slow_client' : 'throttled', 1);
    this.pending.add(vehicle);
    if (count && this.counters.pushed) this.changedAt.set(vehicle, this.now());
    if (this.ready) this.schedule(0);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private congested(): boolean {
    return this.socket.bufferedAmount > this.maxBufferedBytes;
  }

  private schedule(delayMs: number): void {
    if (this.timer !== undefined || this.closed) return;
    // A delay of 0 sends at once (a live update's latency matters), but after the current batch of changes.
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.flush();
      },
      Math.max(0, delayMs),
    );
  }

  private flush(): void {
    if (this.closed || this.pending.size === 0) return;
    if (this.congested()) {
      this.schedule(CONGESTED_RETRY_MS);
      return;
    }
    const now = this.now();
    let nextDue = Infinity;
    let sent = 0;
    let gathered: LiveVehicle[] = [];
    const sendGathered = (): void => {
      if (gathered.length === 0) return;
      this.socket.send(vehiclesMessage(gathered));
      gathered = [];
    };
    for (const vehicle of [...this.pending]) {
      const due = (this.lastSentAt.get(vehicle) ?? -Infinity) + this.intervalMs;
      if (due > now) {
        nextDue = Math.min(nextDue, due);
        continue;
      }
      this.pending.delete(vehicle);
      const changedAt = this.changedAt.get(vehicle);
      this.changedAt.delete(vehicle);
      const s = this.stateOf(vehicle);
      if (!s || s.ts <= (this.lastSentTs.get(vehicle) ?? -Infinity)) continue;
      if (changedAt !== undefined) this.counters.pushed?.(now - changedAt);
      gathered.push({ id: s.id, state: s.state });
      this.lastSentAt.set(vehicle, now);
      this.lastSentTs.set(vehicle, s.ts);
      sent++;
      if (!this.batch || gathered.length >= STATES_PER_MESSAGE) {
        sendGathered();
        if (this.congested()) break;
      }
    }
    sendGathered();
    if (sent > 0) this.counters.sent(sent);
    if (this.pending.size === 0) return;
    this.schedule(this.congested() ? CONGESTED_RETRY_MS : Math.max(1, nextDue - now));
  }
}
