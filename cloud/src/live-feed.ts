/**
 * The WebSocket live feed, GET /api/v1/live?pilot=<id>&hz=1&batch=1: on connect a snapshot of the
 * pilot's vehicles (as GET /vehicles shows them to this token), then `state` messages as the
 * latest-state cache changes (as soon as ingest validated a reading, before its InfluxDB write), at
 * most `hz` per vehicle per client; with batch=1 the changes of one moment come as one `states`
 * message. A client
 * whose socket buffer holds more than `maxBufferedBytes` gets nothing until it drains; meanwhile
 * only the latest state per vehicle is kept, and every update overtaken that way is counted
 * (michi_cloud_live_updates_dropped_total{reason="slow_client"}; reason="throttled" for updates
 * overtaken within the hz interval). Viewers of a pilot with a public delay get states as of
 * now − delay, from a short per-vehicle history kept while such a viewer is connected (and dropped
 * when the last one leaves); the first such viewer's connection fills it with the last delay's
 * states from InfluxDB, so the delayed stream moves at once instead of after the delay. The token comes in `Sec-WebSocket-Protocol: michi.v1, bearer.<token>`
 * (browsers cannot set headers on a WebSocket; only michi.v1 is ever selected, so the token is not
 * echoed back), `?token=`, or an Authorization header. Before upgrading, a browser's Origin must be
 * the API's own or one of `api.allowedOrigins` (cross-site WebSocket hijacking), and a token may
 * hold at most `api.maxLiveConnectionsPerToken` connections. The audit line of a connection names
 * only the parameters the feed knows, redacted: never the raw query.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { Counter, Gauge, type Registry } from 'prom-client';
import { WebSocketServer, type WebSocket } from 'ws';
import { ErrorCodes, type Pilot } from '@michi/proto';
import { pilotFor, type ApiContext } from './api/context.js';
import { Params, parseQuery } from './api/params.js';
import { PilotPrivacy } from './api/privacy.js';
import { stateView, vehiclesView } from './api/vehicles-view.js';
import { queryVehicleStatesBetween } from './queries/latest-query.js';
import { redactUrl } from './audit-log.js';
import { ANONYMOUS_VIEWER, bearerToken, type Principal } from './auth.js';
import { ApiError } from './errors.js';
import type { VehicleSnapshot } from './latest-state.js';

export const LIVE_PATH = '/api/v1/live';
/** The subprotocol the server selects when the client offers it beside `bearer.<token>`. */
export const LIVE_SUBPROTOCOL = 'michi.v1';

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

/** Why an upgrade was refused before authentication decided it (michi_cloud_live_refused_total{reason}). */
type RefusalReason = 'origin' | 'subprotocol' | 'connections_per_token';

/** The query parameters a live-feed audit line shows; anything else a client sent is left out. */
const AUDITED_PARAMS = ['pilot', 'hz', 'batch'] as const;
/** Longest value shown per audited parameter: an invalid one is logged, but not at any length. */
const AUDITED_VALUE_CHARS = 100;

/** The part of a ws WebSocket a LiveClient uses. */
export interface LiveSocket {
  readonly bufferedAmount: number;
  send(data: string): void;
}

export interface LiveCounters {
  sent(n: number): void;
  dropped(reason: 'throttled' | 'slow_client', n: number): void;
}

/** Retry interval while a slow client's buffer drains. */
const CONGESTED_RETRY_MS = 50;
/** Vehicles per `states` message at most, so that back-pressure is still checked between messages. */
const STATES_PER_MESSAGE = 250;
/** A delay history keeps this much before now − delay (one snapshot at or before it, and all after). */
const HISTORY_SLACK_MS = 5_000;
/** Readings per vehicle per second at most that a delay history's fill from InfluxDB takes. */
const FILL_MAX_HZ = 20;

/**
 * One connection's throttle: per vehicle, at most one `state` every `intervalMs`; a vehicle that
 * changed again before its turn is sent once, with its latest state, when its turn comes. A state
 * no newer than the one this client was last shown (snapshot or message) is never sent: the feed
 * does not move a vehicle back.
 */
export class LiveClient {
  private readonly pending = new Set<string>();
  private readonly lastSentAt = new Map<string, number>();
  private readonly lastSentTs = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private ready = false;
  private closed = false;

  constructor(
    private readonly socket: LiveSocket,
    private readonly intervalMs: number,
    private readonly maxBufferedBytes: number,
    /** The state to send for a vehicle now (already privacy-filtered); undefined: nothing to send. */
    private readonly stateOf: (vehicle: string) => { id: string; state: unknown; ts: number } | undefined,
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
    const run = (): void => {
      this.timer = undefined;
      this.flush();
    };
    if (delayMs <= 0) {
      // Send at once (a live update's latency matters), but after the current batch of changes.
      this.timer = setTimeout(run, 0);
    } else {
      this.timer = setTimeout(run, delayMs);
    }
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
    let gathered: { id: string; state: unknown }[] = [];
    const sendGathered = (): void => {
      if (gathered.length === 0) return;
      this.socket.send(
        JSON.stringify(gathered.length === 1 ? { type: 'state', vehicle: gathered[0] } : { type: 'states', vehicles: gathered }),
      );
      gathered = [];
    };
    for (const vehicle of [...this.pending]) {
      const due = (this.lastSentAt.get(vehicle) ?? -Infinity) + this.intervalMs;
      if (due > now) {
        nextDue = Math.min(nextDue, due);
        continue;
      }
      this.pending.delete(vehicle);
      const s = this.stateOf(vehicle);
      if (!s || s.ts <= (this.lastSentTs.get(vehicle) ?? -Infinity)) continue;
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

/**
 * Recent snapshots per vehicle of pilots with a public delay: enough to answer "as of now − delay".
 * Only complete since its first entry if fed without a gap: so it is fed while a delayed viewer is
 * connected and cleared when the last one leaves (an entry kept across a gap would be an old
 * position passed off as the delayed one).
 */
class DelayHistory {
  private readonly byVehicle = new Map<string, VehicleSnapshot[]>();
  constructor(private readonly delayMs: number) {}

  add(vehicle: string, s: VehicleSnapshot, now: number): void {
    let list = this.byVehicle.get(vehicle);
    if (!list) this.byVehicle.set(vehicle, (list = []));
    list.push(s);
    this.prune(list, now);
  }

  /**
   * States read from InfluxDB, merged in source-time order with those `add`ed meanwhile (the cache
   * announces a reading before InfluxDB has it, so both may hold it: kept once).
   */
  fill(vehicle: string, states: readonly VehicleSnapshot[], now: number): void {
    const byTs = new Map<number, VehicleSnapshot>();
    for (const s of states) byTs.set(s.ts_ms, s);
    for (const s of this.byVehicle.get(vehicle) ?? []) byTs.set(s.ts_ms, s);
    const list = [...byTs.values()].sort((a, b) => a.ts_ms - b.ts_ms);
    if (list.length === 0) return;
    this.prune(list, now);
    this.byVehicle.set(vehicle, list);
  }

  /** Keeps one snapshot at or before the horizon (a little slack), and everything after it. */
  private prune(list: VehicleSnapshot[], now: number): void {
    const horizon = now - this.delayMs - HISTORY_SLACK_MS;
    let drop = 0;
    while (drop + 1 < list.length && list[drop + 1]!.ts_ms <= horizon) drop++;
    if (drop > 0) list.splice(0, drop);
  }

  at(vehicle: string, horizon: number): VehicleSnapshot | undefined {
    const list = this.byVehicle.get(vehicle);
    if (!list) return undefined;
    for (let i = list.length - 1; i >= 0; i--) if (list[i]!.ts_ms <= horizon) return list[i];
    return undefined;
  }

  clear(): void {
    this.byVehicle.clear();
  }
}

interface Connection {
  ws: WebSocket;
  pilot: Pilot;
  privacy: PilotPrivacy;
  client: LiveClient;
  /** Delayed (viewer) connections are ticked instead of pushed. */
  tick?: NodeJS.Timeout;
  alive: boolean;
}

function metric<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export class LiveFeed {
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly histories = new Map<string, DelayHistory>();
  /** pilot → open connections that see it delayed. */
  private readonly delayedWatchers = new Map<string, number>();
  /** pilot → the fill of its delay history from InfluxDB, while it is being fed (one per watch). */
  private readonly fills = new Map<string, Promise<void>>();
  private readonly unsubscribe: () => void;
  private readonly pingTimer: NodeJS.Timeout;
  private readonly maxBufferedBytes: number;
  private readonly counters: LiveCounters;
  private readonly clientsGauge: Gauge;
  private readonly refused: Counter<'reason'>;
  private readonly allowedOrigins: ReadonlySet<string>;
  private readonly maxPerToken: number;
  /** Token id (or anonymous@address) → connections open or being opened. */
  private readonly perToken = new Map<string, number>();
  private server: Server | undefined;
  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    this.upgrade(req, socket, head).catch((err: unknown) => {
      // The path only: the query may hold a token under any spelling.
      this.ctx.logger.error({ err, path: (req.url ?? '').split('?')[0] }, 'live feed upgrade failed');
      reject(socket, 500, ErrorCodes.INTERNAL, 'internal error; see the cloud log');
    });
  };

  constructor(
    private readonly ctx: ApiContext,
    opts: LiveFeedOptions = {},
  ) {
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 256 * 1024;
    this.allowedOrigins = new Set(opts.allowedOrigins ?? []);
    this.maxPerToken = opts.maxConnectionsPerToken ?? 8;
    const registry = ctx.metrics.registry;
    const sent = metric(
      registry,
      'michi_cloud_live_updates_sent_total',
      () => new Counter({ name: 'michi_cloud_live_updates_sent_total', help: 'Live feed state messages sent.', registers: [registry] }),
    );
    const dropped = metric(
      registry,
      'michi_cloud_live_updates_dropped_total',
      () =>
        new Counter({
          name: 'michi_cloud_live_updates_dropped_total',
          help: 'Live feed updates overtaken by a newer state of the same vehicle before they were sent, by reason (throttled, slow_client).',
          labelNames: ['reason'],
          registers: [registry],
        }),
    ) as Counter<'reason'>;
    this.clientsGauge = metric(
      registry,
      'michi_cloud_live_clients',
      () => new Gauge({ name: 'michi_cloud_live_clients', help: 'Open live feed connections.', registers: [registry] }),
    );
    this.refused = metric(
      registry,
      'michi_cloud_live_refused_total',
      () =>
        new Counter({
          name: 'michi_cloud_live_refused_total',
          help: 'Live feed upgrades refused by reason: origin (403), subprotocol (bearer.* without michi.v1, 400), connections_per_token (429).',
          labelNames: ['reason'],
          registers: [registry],
        }),
    ) as Counter<'reason'>;
    this.counters = { sent: (n) => sent.inc(n), dropped: (reason, n) => dropped.inc({ reason }, n) };

    for (const p of ctx.directory.pilots) {
      // A viewer's delay (privacy.ts): at least one sample period where positions are coarsened.
      const viewerDelayMs = new PilotPrivacy(p, ANONYMOUS_VIEWER).delayMs;
      if (viewerDelayMs > 0) this.histories.set(p.id, new DelayHistory(viewerDelayMs));
    }
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: 1024,
      // Never a bearer.* one: the selected subprotocol is echoed in the response header.
      handleProtocols: (protocols) => (protocols.has(LIVE_SUBPROTOCOL) ? LIVE_SUBPROTOCOL : false),
    });
    this.unsubscribe = ctx.latest.onChange((pilot, vehicle, snapshot) => {
      // History only while someone watches with a delay: it costs memory per vehicle, and a
      // new delayed viewer starts from the snapshot (InfluxDB) until the history covers the delay.
      if ((this.delayedWatchers.get(pilot) ?? 0) > 0) this.histories.get(pilot)?.add(vehicle, snapshot, ctx.now());
      for (const c of this.connections) if (c.pilot.id === pilot && c.tick === undefined) c.client.changed(vehicle);
    });
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

  attach(server: Server): void {
    this.server = server;
    server.on('upgrade', this.onUpgrade);
  }

  private authenticate(secret: string | undefined): Principal {
    if (secret === undefined && this.ctx.auth.allowAnonymousViewer) return ANONYMOUS_VIEWER;
    const principal = secret === undefined ? undefined : this.ctx.auth.authenticate(secret);
    if (!principal) {
      throw new ApiError(
        401,
        ErrorCodes.UNAUTHENTICATED,
        secret === undefined
          ? 'the live feed needs a token: Sec-WebSocket-Protocol "michi.v1, bearer.<token>"'
          : 'the token matches none configured',
      );
    }
    return principal;
  }

  /** No Origin (not a browser), the API's own origin (the Host it was asked for), or a configured one. */
  private originAllowed(origin: string, host: string | undefined): boolean {
    if (this.allowedOrigins.has(origin)) return true;
    try {
      const u = new URL(origin);
      return (u.protocol === 'http:' || u.protocol === 'https:') && host !== undefined && u.host === host.toLowerCase();
    } catch {
      return false; // "null" (a sandboxed page, a file) or garbage
    }
  }

  /** Holds one of the token's connections until the socket closes; false when it has all it may hold. */
  private reserve(key: string, socket: Duplex): boolean {
    const open = this.perToken.get(key) ?? 0;
    if (open >= this.maxPerToken) return false;
    this.perToken.set(key, open + 1);
    // Released with the TCP socket, whichever way it ends (closed feed, failed handshake, reset).
    socket.once('close', () => {
      const left = (this.perToken.get(key) ?? 1) - 1;
      if (left > 0) this.perToken.set(key, left);
      else this.perToken.delete(key);
    });
    return true;
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== LIVE_PATH) {
      reject(socket, 404, ErrorCodes.NOT_FOUND, `no WebSocket endpoint at ${url.pathname}; the live feed is ${LIVE_PATH}`);
      return;
    }
    const offered = (req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    const bearer = offered.find((p) => p.startsWith('bearer.'));
    let principal: Principal | null = null;
    let secret: string | undefined;
    // Any value that is a token (the one presented or another) is redacted, whatever its parameter's name.
    const isSecret = (v: string): boolean => v === secret || this.ctx.auth.authenticate(v) !== undefined;
    /** The pilot as asked, for a refusal's audit line (a token sent as the pilot is redacted too). */
    const pilotAsked = (): string | null => {
      const p = url.searchParams.get('pilot');
      return p === null ? null : isSecret(p) ? '[redacted]' : p.slice(0, AUDITED_VALUE_CHARS);
    };
    const audit = (pilot: string | null, status: number): void =>
      this.ctx.audit.record({
        token: principal?.id ?? null,
        role: principal?.role ?? null,
        method: 'GET',
        route: LIVE_PATH,
        url: auditUrl(url, isSecret),
        pilot,
        status,
        reqId: `ws-${started.toString(36)}`,
        ms: Date.now() - started,
      });
    const refuse = (err: ApiError, reason?: RefusalReason): void => {
      if (reason) {
        this.refused.inc({ reason });
        this.ctx.logger.warn(
          { reason, token: principal?.id ?? null, origin: req.headers.origin, remote: req.socket.remoteAddress },
          'live feed upgrade refused',
        );
      }
      audit(pilotAsked(), err.statusCode);
      reject(socket, err.statusCode, err.code, err.message);
    };

    const origin = req.headers.origin;
    if (origin !== undefined && !this.originAllowed(origin, req.headers.host)) {
      refuse(
        new ApiError(
          403,
          ErrorCodes.FORBIDDEN,
          `a page at ${JSON.stringify(origin.slice(0, 200))} may not open the live feed: only the API's own origin and api.allowedOrigins may`,
        ),
        'origin',
      );
      return;
    }
    if (bearer !== undefined && !offered.includes(LIVE_SUBPROTOCOL)) {
      refuse(
        new ApiError(
          400,
          ErrorCodes.BAD_REQUEST,
          `offer the subprotocol "${LIVE_SUBPROTOCOL}" beside "bearer.<token>": the server selects ${LIVE_SUBPROTOCOL}, never a bearer.* one (it would echo the token)`,
        ),
        'subprotocol',
      );
      return;
    }
    let pilot: Pilot;
    let hz: number;
    let batch: boolean;
    try {
      const q = parseQuery(Params.live, Object.fromEntries(url.searchParams));
      hz = q.hz;
      batch = q.batch;
      secret =
        bearer?.slice('bearer.'.length) ?? (typeof q.token === 'string' ? q.token : undefined) ?? bearerToken(req.headers.authorization);
      principal = this.authenticate(secret);
      pilot = pilotFor(this.ctx, principal, q.pilot);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      audit(pilotAsked(), err.statusCode);
      reject(socket, err.statusCode, err.code, err.message);
      return;
    }
    const who = principal;
    const key = who === ANONYMOUS_VIEWER ? `anonymous@${req.socket.remoteAddress ?? '?'}` : who.id;
    if (!this.reserve(key, socket)) {
      refuse(
        new ApiError(
          429,
          ErrorCodes.RATE_LIMITED,
          `token "${who.id}" already holds ${this.maxPerToken} live feed connections, the most allowed (api.maxLiveConnectionsPerToken); close one first`,
        ),
        'connections_per_token',
      );
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      audit(pilot.id, 101);
      this.connected(ws, who, pilot, hz, batch).catch((err: unknown) => {
        this.ctx.logger.error({ err, pilot: pilot.id }, 'live feed snapshot failed');
        ws.close(1011, 'internal error');
      });
    });
  }

  private async connected(ws: WebSocket, principal: Principal, pilot: Pilot, hz: number, batch: boolean): Promise<void> {
    const privacy = new PilotPrivacy(pilot, principal);
    const history = this.histories.get(pilot.id);
    const delayed = privacy.delayMs > 0;
    const stateOf = (vehicle: string): { id: string; state: unknown; ts: number } | undefined => {
      const s = delayed ? history?.at(vehicle, privacy.horizon(this.ctx.now())) : this.ctx.latest.get(pilot.id, vehicle);
      const link = this.ctx.latest.getLink(pilot.id, vehicle);
      if (!s) return undefined;
      // The timestamp the client is shown: floored to the viewer's sample period, so the throttle's
      // "nothing not newer than the last one sent" sends a viewer one state per period at most.
      const state = stateView(s, privacy, link);
      return state ? { id: privacy.publicId(vehicle), state, ts: state.ts_ms } : undefined;
    };
    const intervalMs = 1000 / hz;
    const client = new LiveClient(ws, intervalMs, this.maxBufferedBytes, stateOf, this.counters, Date.now, batch);
    const conn: Connection = { ws, pilot, privacy, client, alive: true };
    // Registered before the snapshot is read, so no change between the two is missed.
    this.connections.add(conn);
    this.clientsGauge.inc();
    ws.on('pong', () => (conn.alive = true));
    ws.on('error', (err) => this.ctx.logger.debug({ err: err.message, pilot: pilot.id }, 'live feed socket error'));
    ws.on('close', () => {
      client.close();
      clearInterval(conn.tick);
      if (!this.connections.delete(conn)) return;
      this.clientsGauge.dec();
      if (delayed) this.unwatchDelayed(pilot.id);
    });
    if (delayed) {
      this.delayedWatchers.set(pilot.id, (this.delayedWatchers.get(pilot.id) ?? 0) + 1);
      conn.tick = setInterval(() => pilot.vehicles.forEach((v) => client.changed(v.id, false)), intervalMs);
    }

    const now = this.ctx.now();
    // Read side by side: the snapshot's states as of now − delay, and (first delayed viewer) the
    // history's fill, so the ticks after the snapshot move on from it at once.
    const [vehicles] = await Promise.all([
      vehiclesView(this.ctx, pilot, privacy, now),
      delayed && history ? this.fillHistory(pilot, history, privacy.delayMs) : undefined,
    ]);
    if (ws.readyState !== ws.OPEN) return;
    ws.send(JSON.stringify({ type: 'snapshot', now_ms: now, vehicles }));
    const shown = new Map<string, number>();
    pilot.vehicles.forEach((v, i) => {
      const ts = vehicles[i]?.state?.ts_ms;
      if (ts !== undefined) shown.set(v.id, ts);
    });
    client.start(shown);
  }

  /**
   * The history of a pilot nobody watched delayed until now holds only what arrived since: without
   * the last delay's states it would have nothing as of now − delay for a whole delay, and the
   * viewer's map would stand still that long. So the first delayed viewer's connection reads them
   * from InfluxDB (once; later viewers wait for the same read). A failed read leaves the history as
   * the cache feeds it: the stream then starts after the delay, as it did before.
   */
  private fillHistory(pilot: Pilot, history: DelayHistory, delayMs: number): Promise<void> {
    let fill = this.fills.get(pilot.id);
    if (fill) return fill;
    const now = this.ctx.now();
    const from = now - delayMs - HISTORY_SLACK_MS;
    const limit = Math.ceil(((delayMs + HISTORY_SLACK_MS) / 1000) * FILL_MAX_HZ);
    fill = queryVehicleStatesBetween(this.ctx.query, pilot.id, from, now, limit).then(
      (states) => {
        // The last delayed viewer left during the read: the history is no longer fed, nor filled.
        if (this.fills.get(pilot.id) !== fill) return;
        let n = 0;
        for (const [vehicle, list] of states) {
          history.fill(vehicle, list, this.ctx.now());
          n += list.length;
        }
        this.ctx.logger.debug({ pilot: pilot.id, states: n, from }, 'live feed delay history filled from InfluxDB');
      },
      (err: unknown) => {
        this.ctx.logger.warn({ err, pilot: pilot.id }, 'live feed delay history could not be filled from InfluxDB');
        // The next delayed viewer tries again.
        if (this.fills.get(pilot.id) === fill) this.fills.delete(pilot.id);
      },
    );
    this.fills.set(pilot.id, fill);
    return fill;
  }

  private unwatchDelayed(pilot: string): void {
    const left = (this.delayedWatchers.get(pilot) ?? 1) - 1;
    if (left > 0) {
      this.delayedWatchers.set(pilot, left);
      return;
    }
    this.delayedWatchers.delete(pilot);
    // Not fed from now on: what it holds would be stale for the next delayed viewer, who fills it anew.
    this.histories.get(pilot)?.clear();
    this.fills.delete(pilot);
  }

  async close(): Promise<void> {
    this.unsubscribe();
    clearInterval(this.pingTimer);
    this.server?.off('upgrade', this.onUpgrade);
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
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

/**
 * The URL of a live-feed audit line: the path and the parameters the feed knows (AUDITED_PARAMS),
 * re-encoded from their parsed values and redacted (redactUrl), never the query as sent: a token can
 * hide in it under any spelling (`?%74oken=`, `?Token=`, `?x=<token>`).
 */
function auditUrl(url: URL, isSecret: (value: string) => boolean): string {
  const shown = new URLSearchParams();
  for (const name of AUDITED_PARAMS) {
    const v = url.searchParams.get(name);
    if (v !== null) shown.set(name, v.slice(0, AUDITED_VALUE_CHARS));
  }
  const query = shown.toString();
  return redactUrl(query ? `${url.pathname}?${query}` : url.pathname, isSecret);
}

/** Answers an upgrade request with an HTTP error and the API's JSON error body, then closes the socket. */
function reject(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  const reason =
    { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests' }[status] ??
    'Internal Server Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
