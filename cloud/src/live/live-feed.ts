/**
 * The live feed's open connections: each gets the snapshot of its pilot, then the latest-state
 * cache's changes through its own throttle (live-client.ts), or, for a viewer of a pilot with a
 * public delay, the states as of now − delay (delay-history.ts); operators each alarm change of their
 * pilot, viewers of a pilot with alarms.viewerCount the number of open alarms. The HTTP side
 * (authentication, checks, audit) is live-route.ts.
 */
import type { WebSocket } from 'ws';
import type { Pilot } from '@michi/proto';
import type { ApiContext } from '../api/context.js';
import { PilotPrivacy } from '../api/privacy.js';
import { stateView, vehiclesView } from '../api/vehicles-view.js';
import { ANONYMOUS_VIEWER, type Principal } from '../auth.js';
import { DelayHistories } from './delay-history.js';
import { LiveClient, type LiveCounters, type StateOf } from './live-client.js';
import { countOpenAlarms } from '../alarms/index.js';
import { alarmCountMessage, alarmMessage, snapshotMessage } from './messages.js';

export interface LiveFeedOptions {
  /** Above this many bytes queued on a client's socket, updates are held and coalesced. */
  maxBufferedBytes?: number;
  /** A client that does not answer a ping within this interval is dropped. */
  pingIntervalMs?: number;
  /** Browser origins allowed besides the API's own (config `api.allowedOrigins`). */
  allowedOrigins?: readonly string[];
  /** Open connections per token at most (config `api.maxLiveConnectionsPerToken`). */
  maxConnectionsPerToken?: number;
}

/** What a connection asked for, once the route has authenticated and checked it. */
export interface LiveRequest {
  principal: Principal;
  pilot: Pilot;
  hz: number;
  batch: boolean;
}

interface Connection {
  ws: WebSocket;
  pilot: Pilot;
  operator: boolean;
  client: LiveClient;
  /** Messages pushed before the snapshot was sent, sent right after it: the snapshot always comes first. */
  held: string[] | undefined;
  /** Delayed (viewer) connections are ticked instead of pushed. */
  tick?: NodeJS.Timeout;
  alive: boolean;
}

export class LiveFeed {
  private readonly connections = new Set<Connection>();
  private readonly delayed: DelayHistories;
  private readonly unsubscribe: () => void;
  private readonly unsubscribeAlarms: () => void;
  private readonly pingTimer: NodeJS.Timeout;
  private readonly maxBufferedBytes: number;
  private readonly counters: LiveCounters;

  constructor(
    private readonly ctx: ApiContext,
    opts: LiveFeedOptions = {},
  ) {
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 256 * 1024;
    const { liveUpdatesSent, liveUpdatesDropped } = ctx.metrics;
    const livePush = ctx.metrics.hopLatency.labels('live_push');
    this.counters = {
      sent: (n) => liveUpdatesSent.inc(n),
      dropped: (reason, n) => liveUpdatesDropped.inc({ reason }, n),
      pushed: (ms) => livePush.observe(ms / 1000),
    };
    const delays = new Map<string, number>();
    for (const p of ctx.directory.pilots) {
      // A viewer's delay (privacy.ts): at least one sample period where positions are coarsened.
      const viewerDelayMs = new PilotPrivacy(p, ANONYMOUS_VIEWER).delayMs;
      if (viewerDelayMs > 0) delays.set(p.id, viewerDelayMs);
    }
    this.delayed = new DelayHistories(delays, ctx.query, ctx.logger, ctx.now);
    this.unsubscribe = ctx.latest.onChange((pilot, vehicle, snapshot) => {
      this.delayed.add(pilot, vehicle, snapshot);
      for (const c of this.connections) if (c.pilot.id === pilot && c.tick === undefined) c.client.changed(vehicle);
    });
    // Every alarm change to the pilot's operators; a new number of open alarms to its viewers, if it opted in.
    this.unsubscribeAlarms =
      ctx.alarms?.onChange((change) => {
        const pilot = change.alarm.pilot;
        this.pushToOperators(pilot, alarmMessage(change));
        if ((change.kind === 'raised' || change.kind === 'cleared') && ctx.directory.pilot(pilot)?.alarms.viewerCount) {
          this.pushToViewers(pilot, this.alarmCountOf(pilot));
        }
      }) ?? (() => {});
    this.pingTimer = setInterval(() => {
      for (const c of this.connections) {
        if (!c.alive) {
          c.ws.terminate();
          continue;
        }
        c.alive = false;
        c.ws.ping();
      }
    }, opts.pingIntervalMs ?? 30_000);
    this.pingTimer.unref();
  }

  /**
   * Sends `message` (one JSON text frame) to every open operator connection of `pilot`, at once and
   * unthrottled (alarms: an operator must not wait for a vehicle's turn); returns how many got it.
   * Viewers never receive these: what an operator is told is not privacy-filtered.
   */
  pushToOperators(pilot: string, message: object | string): number {
    return this.push(pilot, true, message);
  }

  private pushToViewers(pilot: string, message: string): number {
    return this.push(pilot, false, message);
  }

  private push(pilot: string, operators: boolean, message: object | string): number {
    const data = typeof message === 'string' ? message : JSON.stringify(message);
    let n = 0;
    for (const c of this.connections) {
      if (c.pilot.id !== pilot || c.operator !== operators || c.ws.readyState !== c.ws.OPEN) continue;
      if (c.held) c.held.push(data);
      else c.ws.send(data);
      n++;
    }
    return n;
  }

  private alarmCountOf(pilot: string): string {
    return alarmCountMessage(countOpenAlarms(this.ctx.alarms?.openAlarms(pilot) ?? []));
  }

  /** A connection the route accepted: snapshot first, then the changes. Closes it 1011 when the snapshot fails. */
  open(ws: WebSocket, req: LiveRequest): void {
    this.connected(ws, req).catch((err: unknown) => {
      this.ctx.logger.error({ err, pilot: req.pilot.id }, 'live feed snapshot failed');
      ws.close(1011, 'internal error');
    });
  }

  private async connected(ws: WebSocket, { principal, pilot, hz, batch }: LiveRequest): Promise<void> {
    const privacy = new PilotPrivacy(pilot, principal);
    const delayed = privacy.delayMs > 0;
    const stateOf: StateOf = (vehicle) => {
      const s = delayed ? this.delayed.at(pilot.id, vehicle, privacy.horizon(this.ctx.now())) : this.ctx.latest.get(pilot.id, vehicle);
      if (!s) return undefined;
      // The timestamp the client is shown: floored to the viewer's sample period, so the throttle's
      // "nothing not newer than the last one sent" sends a viewer one state per period at most.
      const state = stateView(s, privacy, this.ctx.latest.getLink(pilot.id, vehicle));
      return state ? { id: privacy.publicId(vehicle), state, ts: state.ts_ms } : undefined;
    };
    const intervalMs = 1000 / hz;
    const client = new LiveClient(ws, intervalMs, this.maxBufferedBytes, stateOf, this.counters, Date.now, batch);
    const conn: Connection = { ws, pilot, operator: principal.role === 'operator', client, held: [], alive: true };
    // Registered before the snapshot is read, so no change between the two is missed.
    this.connections.add(conn);
    this.ctx.metrics.liveClients.inc();
    ws.on('pong', () => (conn.alive = true));
    ws.on('close', () => {
      client.close();
      clearInterval(conn.tick);
      if (!this.connections.delete(conn)) return;
      this.ctx.metrics.liveClients.dec();
      if (delayed) this.delayed.unwatch(pilot.id);
    });
    const filled = delayed ? this.delayed.watch(pilot) : undefined;
    if (delayed) conn.tick = setInterval(() => pilot.vehicles.forEach((v) => client.changed(v.id, false)), intervalMs);

    const now = this.ctx.now();
    // Read side by side: the snapshot's states as of now − delay, and (first delayed viewer) the
    // history's fill, so the ticks after the snapshot move on from it at once.
    const [vehicles] = await Promise.all([vehiclesView(this.ctx, pilot, privacy, now), filled]);
    if (ws.readyState !== ws.OPEN) return;
    ws.send(snapshotMessage(now, vehicles));
    for (const data of conn.held ?? []) ws.send(data);
    conn.held = undefined;
    // Operators fetch the open alarms themselves (GET /alarms, after connecting); a viewer is shown at most their number.
    if (!conn.operator && pilot.alarms.viewerCount && this.ctx.alarms) ws.send(this.alarmCountOf(pilot.id));
    const shown = new Map<string, number>();
    pilot.vehicles.forEach((v, i) => {
      const ts = vehicles[i]?.state?.ts_ms;
      if (ts !== undefined) shown.set(v.id, ts);
    });
    client.start(shown);
  }

  /** Closes every connection with 1001 (going away); waits at most a second for each. */
  async close(): Promise<void> {
    this.unsubscribe();
    this.unsubscribeAlarms();
    clearInterval(this.pingTimer);
    const closing = [...this.connections].map(
      (c) =>
        new Promise<void>((resolve) => {
          c.ws.once('close', () => resolve());
          c.ws.close(1001, 'server shutting down');
          setTimeout(() => {
            c.ws.terminate();
            resolve();
          }, 1_000).unref();
        }),
    );
    await Promise.all(closing);
  }
}
