/**
 * The MQTT ingest for gateways: an aedes broker that nobody subscribes to. Every publish is handled
 * inside aedes' `authorizePublish` hook, because aedes 1.2 sends the QoS 1 PUBACK only after that
 * hook calls back (lib/handlers/publish.js: authorizePublish, then enqueuePublish writes the
 * PUBACK). So the hook writes the batch to InfluxDB first and calls back after: the PUBACK means
 * "in InfluxDB". When the write fails, the hook calls back with an error; aedes then destroys the
 * connection without a PUBACK (runSeries → client 'error' → _onError), and the gateway resends the
 * batch after reconnecting (MQTT 3.1.1 §4.4).
 *
 * Two listeners share the broker: plain TCP (1883) and TLS (8883, optionally with client
 * certificates whose subject CN is a gateway id). Limits (docs/security.md): a maximum packet size
 * checked on the fixed header before the body is buffered, and a few KiB only before the login
 * succeeded (PacketSizeGuard, @michi/proto); a CONNECT timeout; a publish-rate token bucket per
 * connection; connection counts in total, per remote address and per gateway. A gateway's client
 * id must be `edge-<gatewayId>` or `edge-<gatewayId>.<suffix>` (CONNACK 2 otherwise), so that one
 * gateway cannot take over another's session. Every refusal is counted in
 * michi_cloud_ingest_refusals_total{transport,reason} and logged once, without secrets; failed
 * logins are logged at most once per reason and gateway per interval, user names cut short.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { Aedes, type AuthenticateError, type Client, type PublishPacket, type Subscription } from 'aedes';
import {
  AddressLimiter,
  clientIdBelongsTo,
  CONNACK_IDENTIFIER_REJECTED,
  ErrorCodes,
  guardAedesParser,
  MichiError,
  MQTT_CONNECT_TIMEOUT_MS,
  MQTT_PRE_AUTH_MAX_BYTES,
  PacketSizeGuard,
  type TlsMaterial,
} from '@michi/proto';
import type { BatchIngest } from './ingest-batch.js';
import type { CloudMetrics } from './metrics.js';
import type { GatewayIdentity, PilotDirectory } from './pilot-directory.js';
import { ConnectionLimiter, TokenBucket, type RateLimit } from './rate-limit.js';
import { verifiedPeerName } from './tls.js';

export interface MqttIngestLimits {
  maxConnections: number;
  /** Open sockets per remote IP address, logged in or not. */
  maxConnectionsPerAddress: number;
  maxConnectionsPerGateway: number;
  publishRate: RateLimit;
}

export interface MqttIngestOptions {
  host: string;
  port: number;
  /** The largest MQTT packet accepted (its remaining length); larger ones close the connection. */
  maxPacketBytes?: number;
  limits?: MqttIngestLimits;
  /** A second, TLS listener. */
  tls?: { host: string; port: number; material: TlsMaterial; clientCertAuth: boolean };
}

export interface MqttIngestDeps {
  directory: PilotDirectory;
  ingest: BatchIngest;
  metrics: CloudMetrics;
  logger: Logger;
}

export interface MqttIngestServer {
  readonly port: number;
  /** The TLS listener's port, when one is configured. */
  readonly tlsPort: number | undefined;
  close(): Promise<void>;
}

const DEFAULT_LIMITS: MqttIngestLimits = {
  maxConnections: 1_000,
  maxConnectionsPerAddress: 32,
  maxConnectionsPerGateway: 8,
  publishRate: { perSecond: 1_000, burst: 2_000 },
};

type Transport = 'mqtt' | 'mqtts';

// CONNACK return codes, MQTT 3.1.1 §3.2.2.3.
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

const EMPTY = Buffer.alloc(0);

/** A refusal or failed login gets one log line per reason and gateway per this interval (an attacker chooses how often). */
const REFUSAL_LOG_INTERVAL_MS = 10_000;
/** User names and client ids are attacker-chosen: logged cut to this length. */
const MAX_LOGGED_ID = 64;
const cut = (s: string | null | undefined): string | undefined =>
  typeof s !== 'string' ? undefined : s.length <= MAX_LOGGED_ID ? s : `${s.slice(0, MAX_LOGGED_ID)}…`;

/**
 * Bytes a gateway connection's socket buffers before it stops reading. aedes 1.2 parses what one
 * read returned and reads again only once every packet of it was handled (lib/client.js
 * `nextBatch`), and a publish is handled only when its batch is in InfluxDB. With Node's 16 KiB
 * default a read held one or two 45 KiB batches, so each connection had only those in the cloud
 * while their write was out, and InfluxDB got small requests. 1 MiB lets the batches a gateway
 * pipelines (8 × up to ~100 KiB by default) be taken together; a connection could already buffer
 * one whole packet of up to maxPacketBytes (4 MiB) in the parser.
 */
const SOCKET_READ_BUFFER_BYTES = 1024 * 1024;

function authError(message: string, returnCode: number): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

export async function startMqttIngest(opts: MqttIngestOptions, deps: MqttIngestDeps): Promise<MqttIngestServer> {
  const { directory, ingest, metrics } = deps;
  const log = deps.logger.child({ component: 'mqtt-ingest' });
  const limits = opts.limits ?? DEFAULT_LIMITS;
  // Room for the topic and packet id besides the largest batch payload decodeBatch would take.
  const maxPacketBytes = opts.maxPacketBytes ?? 4 * 1024 * 1024 + 1_024;
  const connections = new ConnectionLimiter<Client>(limits.maxConnections, limits.maxConnectionsPerGateway);
  const perAddress = new AddressLimiter(limits.maxConnectionsPerAddress);
  const guards = new WeakMap<Client, PacketSizeGuard>();
  const logBudget = new Map<string, { at: number; suppressed: number }>();
  const identities = new WeakMap<Client, GatewayIdentity>();
  const transports = new WeakMap<Client, Transport>();
  const buckets = new WeakMap<Client, TokenBucket>();
  /** Why a connection is about to be closed, logged with aedes' clientError. */
  const refusals = new WeakMap<Client, string>();
  const transportOf = (client: Client): Transport => transports.get(client) ?? 'mqtt';
  const remoteOf = (client: Client): string | undefined =>
    client.conn && 'remoteAddress' in client.conn ? client.conn.remoteAddress : undefined;

  /**
   * Whether a line under `key` may be logged now: one per key per interval, so that an attacker
   * repeating a refused action cannot flood the log; returns the count suppressed since the last
   * line. Keys hold known gateway ids only, never attacker-chosen names, so the map stays small.
   */
  function mayLog(key: string): number | undefined {
    const now = Date.now();
    const entry = logBudget.get(key);
    if (entry && now - entry.at < REFUSAL_LOG_INTERVAL_MS) {
      entry.suppressed++;
      return undefined;
    }
    logBudget.set(key, { at: now, suppressed: 0 });
    return entry?.suppressed ?? 0;
  }

  /** Counts and logs (rate-limited) a refusal by a limit or a security check. */
  function refuse(client: Client | undefined, transport: Transport, reason: string, message: string, extra: object = {}): void {
    metrics.ingestRefusals.inc({ transport, reason });
    const gw = client ? identities.get(client) : undefined;
    if (client) refusals.set(client, `${reason}: ${message}`);
    const suppressed = mayLog(`${transport}|${reason}|${gw?.gateway ?? '-'}`);
    if (suppressed === undefined) return;
    log.warn(
      {
        transport,
        reason,
        pilot: gw?.pilot,
        gateway: gw?.gateway,
        clientId: cut(client?.id),
        remote: client ? remoteOf(client) : undefined,
        suppressed,
        ...extra,
      },
      message,
    );
  }

  /** A client certificate naming a known gateway, on the TLS listener with clientCertAuth. */
  function certificateIdentity(client: Client): GatewayIdentity | 'untrusted' | undefined {
    if (!opts.tls?.clientCertAuth || !(client.conn instanceof tls.TLSSocket)) return undefined;
    const name = verifiedPeerName(client.conn);
    if (name === undefined) return client.conn.getPeerCertificate()?.subject ? 'untrusted' : undefined;
    return directory.gatewayIdentity(name) ?? 'untrusted';
  }

  const broker = await Aedes.createBroker({
    // MQTT 3.1.1 §3.1.3.1 lets a server accept client ids longer than 23 characters; edges use
    // `edge-<gateway id>`, and a gateway id may have 64.
    maxClientsIdLength: 128,
    // A socket that does not log in soon holds a connection slot for nothing.
    connectTimeout: MQTT_CONNECT_TIMEOUT_MS,
    authenticate(client, username, password, done) {
      const transport = transportOf(client);
      const byCert = certificateIdentity(client);
      let identity: GatewayIdentity | undefined;
      let failure: string | undefined;
      if (byCert !== undefined && byCert !== 'untrusted') {
        // The certificate is the credential; a username, when given, must name the same gateway.
        if (username && username !== byCert.gateway) failure = 'certificate_mismatch';
        else identity = byCert;
      } else {
        const result = directory.login(username, password);
        if (result.ok) identity = result.identity;
        else failure = result.reason;
      }
      if (identity && !clientIdBelongsTo(client.id, `edge-${identity.gateway}`)) {
        // Its own secret does not let a gateway take over another's session (aedes would disconnect
        // the connection holding this client id).
        refuse(
          client,
          transport,
          'client_id_rejected',
          `gateway "${identity.gateway}" must connect with client id edge-${identity.gateway} or edge-${identity.gateway}.<suffix>; login refused`,
        );
        done(authError('client identifier rejected', CONNACK_IDENTIFIER_REJECTED), false);
        return;
      }
      if (identity) {
        if (!connections.claim(identity.gateway, client)) {
          identities.set(client, identity);
          refuse(
            client,
            transport,
            'max_connections_per_gateway',
            `gateway already has ${limits.maxConnectionsPerGateway} connections; login refused`,
          );
          done(authError('too many connections for this gateway', SERVER_UNAVAILABLE), false);
          return;
        }
        identities.set(client, identity);
        buckets.set(client, new TokenBucket(limits.publishRate));
        guards.get(client)?.markAuthenticated();
        done(null, true);
        return;
      }
      const reason = failure ?? 'bad_password';
      metrics.failedLogins.inc({ reason });
      logFailedLogin(client, username, transport, reason);
      done(authError(`login refused: ${reason}`, reason === 'no_secret_configured' ? NOT_AUTHORIZED : BAD_USERNAME_OR_PASSWORD), false);
    },

    authorizePublish(client, packet, done) {
      const gw = client ? identities.get(client) : undefined;
      if (!client || !gw) {
        // No client: a will the broker replays for a gone client. Nothing a gateway sends arrives so.
        done(new MichiError(ErrorCodes.FORBIDDEN, 'publish without a gateway identity'));
        return;
      }
      if (packet === (client as unknown as { will?: unknown }).will) {
        // A gateway's last will (aedes publishes it through this hook on an unclean disconnect):
        // the cloud has no use for one, and it must not be taken for a batch.
        metrics.batchesRejected.inc({ reason: 'will' });
        done(new MichiError(ErrorCodes.FORBIDDEN, 'last will messages are not accepted'));
        return;
      }
      if (packet.topic !== gw.topic) {
        metrics.batchesRejected.inc({ reason: 'forbidden_topic' });
        const message = `gateway "${gw.gateway}" may publish only to ${gw.topic}, not ${packet.topic}`;
        refusals.set(client, message);
        log.warn({ pilot: gw.pilot, gateway: gw.gateway, code: ErrorCodes.FORBIDDEN, topic: packet.topic }, 'publish refused');
        done(new MichiError(ErrorCodes.FORBIDDEN, message));
        return;
      }
      if (buckets.get(client)?.take() === false) {
        const r = limits.publishRate;
        refuse(client, transportOf(client), 'rate_limited', `publish rate over ${r.perSecond}/s (burst ${r.burst}); connection closed`);
        done(new MichiError(ErrorCodes.RATE_LIMITED, 'publish rate limit exceeded'));
        return;
      }
      handleBatch(client, gw, packet, done);
    },

    authorizeSubscribe(client, sub: Subscription, done) {
      const gw = identities.get(client);
      log.warn({ pilot: gw?.pilot, gateway: gw?.gateway, topic: sub.topic }, 'subscribe refused: gateways may not subscribe');
      metrics.batchesRejected.inc({ reason: 'forbidden_subscribe' });
      metrics.ingestRefusals.inc({ transport: transportOf(client), reason: 'forbidden_subscribe' });
      done(null, null); // SUBACK 0x80 (failure), MQTT 3.1.1 §3.9.3
    },
  });

  /**
   * The username is an id a person may need to trace; the password is never logged. A flood of
   * failed logins (60 KB user names, hundreds a second) must not flood the log: the user name and
   * client id are cut short, and each reason and known gateway gets one line per interval, with the
   * count of those suppressed since (the metric counts them all).
   */
  function logFailedLogin(client: Client, username: string | undefined, transport: Transport, reason: string): void {
    // Keyed by known gateways only, so that made-up user names cannot grow the map.
    const gateway = username !== undefined && directory.gatewayIdentity(username) ? username : '-';
    const suppressed = mayLog(`login|${transport}|${reason}|${gateway}`);
    if (suppressed === undefined) return;
    log.warn(
      { clientId: cut(client.id), username: cut(username), transport, reason, remote: remoteOf(client), suppressed },
      'gateway login refused',
    );
  }

  function handleBatch(client: Client, gw: GatewayIdentity, packet: PublishPacket, done: (err?: Error | null) => void): void {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    // The broker must not keep a copy: nobody subscribes, and a retained batch would sit in memory.
    packet.retain = false;
    packet.payload = EMPTY;
    const transport = transportOf(client);
    const started = performance.now();
    metrics.pendingAcks.inc({ transport });
    ingest.ingest(gw, payload).then(
      (outcome) => {
        metrics.pendingAcks.dec({ transport });
        if (outcome.status === 'accepted' || outcome.status === 'dropped') {
          if (outcome.status === 'accepted') {
            metrics.batchesAccepted.inc({ transport });
            metrics.ackSeconds.observe({ transport }, (performance.now() - started) / 1_000);
            metrics.gatewayLastSeen.set({ pilot: gw.pilot, gateway: gw.gateway }, Date.now() / 1_000);
          }
          done(null);
        } else {
          refusals.set(client, `${outcome.reason}: ${outcome.error.message}`);
          done(outcome.error);
        }
      },
      (err: unknown) => {
        metrics.pendingAcks.dec({ transport });
        // A bug, not the gateway's fault: close without acknowledging, so nothing is lost.
        log.error({ pilot: gw.pilot, gateway: gw.gateway, err }, 'batch ingest failed unexpectedly');
        metrics.batchesRejected.inc({ reason: 'internal' });
        refusals.set(client, 'internal error');
        done(err instanceof Error ? err : new Error(String(err)));
      },
    );
  }

  broker.on('client', () => metrics.connectedGateways.inc());
  broker.on('clientDisconnect', () => metrics.connectedGateways.dec());
  broker.on('clientError', (client: Client, err: Error) => {
    const gw = identities.get(client);
    const refusal = refusals.get(client);
    if (refusal)
      log.info(
        { pilot: gw?.pilot, gateway: gw?.gateway, clientId: cut(client.id), reason: refusal },
        'gateway connection closed by the cloud',
      );
    else log.debug({ pilot: gw?.pilot, gateway: gw?.gateway, clientId: cut(client.id), err: err.message }, 'gateway connection error');
  });
  broker.on('connectionError', (_client: Client, err: Error) => log.debug({ err: err.message }, 'connection error before CONNECT'));

  function accept(socket: net.Socket, transport: Transport): void {
    // Nagle would add ~15 ms (p50) to every PUBACK, measured on loopback.
    socket.setNoDelay(true);
    const remote = socket.remoteAddress;
    if (!connections.openConnection()) {
      refuse(undefined, transport, 'max_connections', `${limits.maxConnections} connections open; connection refused`, { remote });
      socket.destroy();
      return;
    }
    if (!perAddress.open(remote)) {
      connections.closeConnection();
      refuse(
        undefined,
        transport,
        'max_connections_per_address',
        `${limits.maxConnectionsPerAddress} connections open from this address; connection refused`,
        { remote },
      );
      socket.destroy();
      return;
    }
    const client = broker.handle(socket);
    transports.set(client, transport);
    socket.once('close', () => {
      connections.closeConnection();
      perAddress.close(remote);
      const gw = identities.get(client);
      if (gw) connections.release(gw.gateway, client);
    });
    guardPacketSize(client, socket, transport);
  }

  /**
   * aedes 1.2 hands every chunk it reads to its client's mqtt-packet parser (lib/client.js,
   * `client._parser.parse(buf)`); the guard sees each chunk first and closes the connection as
   * soon as a packet header declares more than maxPacketBytes, or, before the login succeeded, more
   * than MQTT_PRE_AUTH_MAX_BYTES in all, before the body is buffered.
   */
  function guardPacketSize(client: Client, socket: net.Socket, transport: Transport): void {
    const guard = new PacketSizeGuard(maxPacketBytes, { preAuthBytes: MQTT_PRE_AUTH_MAX_BYTES });
    guards.set(client, guard);
    guardAedesParser(client, guard, (declared) => {
      const why = guard.violation ?? 'malformed_packet';
      refuse(
        client,
        transport,
        why,
        why === 'malformed_packet'
          ? 'malformed MQTT packet length; connection closed'
          : why === 'connect_too_large'
            ? `MQTT packet of ${declared} bytes before login, over the limit of ${guard.limit} bytes; connection closed`
            : `MQTT packet of ${declared} bytes over the limit of ${guard.limit}; connection closed`,
        { bytes: declared },
      );
      socket.destroy();
    });
  }

  const listeners: net.Server[] = [];
  const listen = async (server: net.Server, host: string, port: number, what: string): Promise<number> => {
    server.on('error', (err) => log.error({ err }, `${what} listener error`));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    listeners.push(server);
    const bound = (server.address() as net.AddressInfo).port;
    log.info({ host, port: bound }, `${what} ingest listening`);
    return bound;
  };
  const closeAll = async (): Promise<void> => {
    const serversClosed = Promise.all(listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve()))));
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await serversClosed;
  };

  let port: number;
  let tlsPort: number | undefined;
  try {
    port = await listen(
      net.createServer({ highWaterMark: SOCKET_READ_BUFFER_BYTES }, (socket) => accept(socket, 'mqtt')),
      opts.host,
      opts.port,
      'MQTT',
    );
    if (opts.tls) {
      const t = opts.tls;
      const server = tls.createServer(
        {
          cert: t.material.cert,
          key: t.material.key,
          ...(t.material.ca ? { ca: t.material.ca } : {}),
          // Ask for a certificate but let the login decide: a gateway may still use its password.
          requestCert: t.clientCertAuth,
          rejectUnauthorized: false,
          minVersion: 'TLSv1.2',
          highWaterMark: SOCKET_READ_BUFFER_BYTES,
        },
        (socket) => accept(socket, 'mqtts'),
      );
      server.on('tlsClientError', (err, socket) => {
        metrics.ingestRefusals.inc({ transport: 'mqtts', reason: 'tls_handshake' });
        log.warn({ transport: 'mqtts', reason: 'tls_handshake', err: err.message, remote: socket.remoteAddress }, 'TLS handshake failed');
      });
      tlsPort = await listen(server, t.host, t.port, 'MQTT TLS');
    }
  } catch (err) {
    await closeAll();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    port,
    tlsPort,
    close() {
      closing ??= closeAll();
      return closing;
    },
  };
}
