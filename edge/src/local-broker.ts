/**
 * The gateway-local MQTT broker (aedes, MQTT 3.1.1) that this gateway's vehicles and roadside
 * sensors publish to. It accepts a reading only on michi/v1/{pilot}/{gateway}/{source}/{kind} for
 * this pilot and gateway, from one of this gateway's devices, decoded and validated by
 * @michi/proto; it appends the reading to the buffer and lets aedes send the PUBACK only once the
 * group commit holding it is on disk.
 *
 * Who may connect: a device of this gateway with its own password (device-auth.ts); anything else
 * gets CONNACK 0x04 "bad username or password", a revoked device 0x05 "not authorized"
 * [MQTT-3.2.2.3], and the connection is closed. A connected device publishes only as itself, and
 * its client id must be its device id or `<device id>.<suffix>` (CONNACK 0x02 otherwise), so that
 * one device cannot take over another's session (aedes disconnects the older holder of a client id).
 *
 * Memory before login (docs/security.md): the MQTT fixed header of every packet is checked before
 * its body is buffered (PacketSizeGuard, @michi/proto): at most 4 KiB in all before the login
 * succeeded, 1 MiB (or maxPayloadBytes + 1 KiB if larger) per packet afterwards; a CONNECT must arrive within 5 s; and
 * one remote address holds at most maxConnectionsPerAddress sockets. A violation closes the socket.
 *
 * What a refused client sees (aedes 1.2, lib/handlers/publish.js): an error passed to the
 * authorizePublish callback emits `clientError` and destroys the connection, without a PUBACK; a
 * null error sends the PUBACK. MQTT 3.1.1 has no negative acknowledgement, and [MQTT-3.3.5-2] allows
 * either a positive ack or closing the connection. So:
 * - a reading that can never be accepted (topic, identity, payload) is acknowledged and dropped,
 *   counted and logged. Closing instead would make the client send the same message again after it
 *   reconnects (mqtt.js and most clients resend unacknowledged QoS 1 publishes), so one bad reading
 *   would lock its sender in a reconnect loop and stop all its good readings too (Mosquitto and
 *   EMQX do the same for 3.1.1 by default);
 * - a valid reading the buffer could not store (full, disk error) is not acknowledged: the
 *   connection is closed, the client keeps the reading and sends it again later.
 * Either way no other client is affected.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { Aedes, type AedesOptions, type Client } from 'aedes';
import {
  AddressLimiter,
  clientIdBelongsTo,
  CONNACK_IDENTIFIER_REJECTED,
  decodeReadingPayloadEncoded,
  guardAedesParser,
  MQTT_CONNECT_TIMEOUT_MS,
  MQTT_PRE_AUTH_MAX_BYTES,
  PacketSizeGuard,
  ErrorCodes,
  isMichiError,
  parseTopic,
  READING_KINDS,
  readingBody,
  TOPIC_ROOT,
  type Reading,
  type ReadingKind,
} from '@michi/proto';
import { BufferFullError, ReadingRejectedError, type BrokerRefusal, type RejectReason } from './errors.js';
import { countRejection } from './metrics.js';
import { REFUSAL_MESSAGES } from './device-auth.js';
import type { LocalIngestOptions } from './local-ingest.js';

export interface EdgeDevice {
  id: string;
  type: 'vehicle' | 'sensor';
}

export interface LocalBrokerOptions extends LocalIngestOptions {
  maxPayloadBytes: number;
  /** Sockets one remote address may hold open, logged in or not. */
  maxConnectionsPerAddress: number;
  pilotId: string;
  devices: readonly EdgeDevice[];
  now?: () => number;
  createBroker?: (opts: AedesOptions) => Promise<Aedes>;
}

export interface LocalBroker {
  port: number;
  clients(): number;
  /** Stops taking new connections; connected clients keep publishing. */
  stopAccepting(): void;
  /** Disconnects every client and closes the listener. */
  close(): Promise<void>;
}

/** A source whose clock is off gets one log line per this interval. */
const SKEW_LOG_INTERVAL_MS = 600_000;
/** A sender that keeps publishing bad readings gets one log line per reason per this interval. */
const REJECTION_LOG_INTERVAL_MS = 10_000;
/**
 * The largest packet a logged-in device may send. Well above maxPayloadBytes on purpose: a reading
 * a little too large is acknowledged and dropped with MICHI_ERR_TOO_LARGE (closing the connection
 * instead would make the client resend it forever); only beyond this is the connection closed
 * before the packet is buffered. 1 KiB is room for the topic and packet id.
 */
const packetLimit = (maxPayloadBytes: number): number => Math.max(1024 * 1024, maxPayloadBytes + 1_024);
/** Client ids are attacker-chosen: logged cut to this length. */
const MAX_LOGGED_ID = 64;

const PAYLOAD_REASONS: Partial<Record<string, RejectReason>> = {
  [ErrorCodes.DECODE]: 'decode',
  [ErrorCodes.INVALID_READING]: 'invalid',
  [ErrorCodes.TOO_LARGE]: 'too_large',
};

interface Accepted {
  reading: Reading;
  /** The reading's protobuf encoding, for the buffer. */
  encoded: Uint8Array;
  source: string;
  kind: ReadingKind;
}

export async function startLocalBroker(opts: LocalBrokerOptions): Promise<LocalBroker> {
  const { pilotId, gatewayId, metrics, logger, buffer } = opts;
  const devices = new Set(opts.devices.map((d) => d.id));
  const usernames = new WeakMap<Client, string>();
  const guards = new WeakMap<Client, PacketSizeGuard>();
  const perAddress = new AddressLimiter(opts.maxConnectionsPerAddress);
  const maxPacketBytes = packetLimit(opts.maxPayloadBytes);
  const refusalLog = new Map<BrokerRefusal, { at: number; suppressed: number }>();

  /** Counts a connection the broker closes or refuses; one log line per reason per interval. */
  function refuseConnection(reason: BrokerRefusal, message: string, extra: object): void {
    metrics.connectionsRefused.inc({ reason });
    const now = Date.now();
    const entry = refusalLog.get(reason);
    if (entry && now - entry.at < REJECTION_LOG_INTERVAL_MS) {
      entry.suppressed++;
      return;
    }
    refusalLog.set(reason, { at: now, suppressed: 0 });
    logger.warn({ reason, ...extra, suppressed: entry?.suppressed ?? 0 }, `local connection refused: ${message}`);
  }
  // A group commit resolves a client's appends together, and each PUBACK would otherwise be a
  // syscall of its own (1,000 a second cost ~4 % of a core, profiled in bench/edge-footprint):
  // corked until the next tick, they leave as one write. aedes writes the PUBACK synchronously
  // from the authorizePublish callback, and all the appends' callbacks run before that tick.
  const corked = new WeakSet<Client>();
  const corkUntilNextTick = (client: Client | null): void => {
    const conn = client?.conn;
    if (!client || !conn || corked.has(client)) return;
    corked.add(client);
    conn.cork();
    process.nextTick(() => {
      corked.delete(client);
      conn.uncork();
    });
  };
  const ownPrefix = `${TOPIC_ROOT}/${pilotId}/${gatewayId}/`;
  const rejectionLog = new Map<string, { at: number; suppressed: number }>();
  /** Per known source (bounded by the pilot definition): its last clock offset, ms. */
  const clockOffsets = new Map<string, number>();
  const receiveHop = metrics.hopLatency.labels('receive');
  const skewLoggedAt = new Map<string, number>();
  metrics.probes.clockOffsets = () => clockOffsets;

  function noteSkew(source: string, offsetMs: number): void {
    metrics.clockSkewed.inc({ source });
    const now = Date.now();
    if (now - (skewLoggedAt.get(source) ?? 0) < SKEW_LOG_INTERVAL_MS) return;
    skewLoggedAt.set(source, now);
    logger
      .child({ source })
      .warn(
        { code: ErrorCodes.CLOCK_SKEW, offsetMs },
        `the source's timestamps are ${Math.round(Math.abs(offsetMs))} ms ${offsetMs < 0 ? 'behind' : 'ahead of'} the gateway clock`,
      );
  }

  // Every topic this gateway takes, parsed once: a reading's topic is then one map lookup, and
  // parseTopic below only explains the topics refused.
  const ownTopics = new Map<string, { source: string; kind: ReadingKind }>();
  for (const source of devices) {
    for (const kind of READING_KINDS) {
      const topic = `${ownPrefix}${source}/${kind}`;
      try {
        const parsed = parseTopic(topic);
        if (parsed.type === 'reading') ownTopics.set(topic, { source: parsed.source, kind: parsed.kind });
      } catch {
        // Not a valid topic, so parseTopic refuses it below as it refuses any other.
      }
    }
  }

  function check(username: string | undefined, topic: string, payload: Buffer): Accepted {
    const own = ownTopics.get(topic);
    return own ? checkReading(username, topic, own.source, own.kind, payload) : checkTopic(username, topic, payload);
  }

  function checkTopic(username: string | undefined, topic: string, payload: Buffer): Accepted {
    let parsed;
    try {
      parsed = parseTopic(topic);
    } catch (err) {
      throw new ReadingRejectedError('bad_topic', (err as Error).message, { topic });
    }
    if (parsed.type !== 'reading') {
      throw new ReadingRejectedError('bad_topic', `expected a reading topic ${ownPrefix}{source}/{kind}, got ${JSON.stringify(topic)}`, {
        topic,
      });
    }
    if (parsed.pilot !== pilotId || parsed.gateway !== gatewayId) {
      throw new ReadingRejectedError(
        'wrong_gateway',
        `this gateway takes readings of pilot "${pilotId}", gateway "${gatewayId}" only (${ownPrefix}{source}/{kind}), got ${JSON.stringify(topic)}`,
        { topic },
      );
    }
    const { source, kind } = parsed;
    if (!devices.has(source)) {
      throw new ReadingRejectedError(
        'unknown_source',
        `"${source}" is not a vehicle or sensor of gateway "${gatewayId}" in the pilot definition`,
        { topic },
      );
    }
    return checkReading(username, topic, source, kind, payload);
  }

  /** A reading on a topic of this gateway's `source`: its sender and its payload. */
  function checkReading(username: string | undefined, topic: string, source: string, kind: ReadingKind, payload: Buffer): Accepted {
    if (username !== undefined && username !== source) {
      throw new ReadingRejectedError(
        'username_mismatch',
        `client "${username}" may publish only as itself, got a reading for "${source}"`,
        { topic },
      );
    }
    let reading: Reading;
    let encoded: Uint8Array;
    try {
      ({ reading, encoded } = decodeReadingPayloadEncoded(kind, payload, opts.maxPayloadBytes));
    } catch (err) {
      const reason = isMichiError(err) ? PAYLOAD_REASONS[err.code] : undefined;
      if (!reason) throw err;
      throw new ReadingRejectedError(reason, (err as Error).message, { topic });
    }
    const sourceId = readingBody(reading).source_id;
    if (sourceId !== source) {
      throw new ReadingRejectedError(
        'source_mismatch',
        `source_id: expected "${source}" as in the topic, got ${JSON.stringify(sourceId)}`,
        { topic },
      );
    }
    return { reading, encoded, source, kind };
  }

  function logRejection(err: ReadingRejectedError, clientId: string | undefined, source: string | undefined): void {
    // Keyed by known sources only, so an unknown client cannot grow this map with made-up ids.
    const key = `${err.reason}|${source && devices.has(source) ? source : '-'}`;
    const now = Date.now();
    const entry = rejectionLog.get(key);
    if (entry && now - entry.at < REJECTION_LOG_INTERVAL_MS) {
      entry.suppressed++;
      return;
    }
    rejectionLog.set(key, { at: now, suppressed: 0 });
    logger
      .child({ source })
      .warn(
        { code: err.code, reason: err.reason, clientId, topic: err.context['topic'], suppressed: entry?.suppressed ?? 0 },
        `reading rejected: ${err.message}`,
      );
  }

  const aedesOptions: AedesOptions = {
    id: `edge-${gatewayId}`,
    // `<device id>.<suffix>`: a device id may have 64 characters.
    maxClientsIdLength: 128,
    // A socket that does not log in soon holds memory and a connection slot for nothing.
    connectTimeout: MQTT_CONNECT_TIMEOUT_MS,
    authenticate(client, username, password, done) {
      const refusal = opts.auth.check(username, password, { transport: 'mqtt', peer: client.id.slice(0, MAX_LOGGED_ID) });
      if (refusal) {
        // 4: bad username or password; 5: not authorized (the right password of a revoked device).
        const returnCode = refusal === 'revoked' ? (5 as const) : (4 as const);
        return done(Object.assign(new Error(REFUSAL_MESSAGES[refusal]), { returnCode }), false);
      }
      if (!clientIdBelongsTo(client.id, username!)) {
        refuseConnection('client_id_rejected', `device "${username}" must connect with client id ${username} or ${username}.<suffix>`, {
          username,
          clientId: client.id.slice(0, MAX_LOGGED_ID),
        });
        return done(Object.assign(new Error('client identifier rejected'), { returnCode: CONNACK_IDENTIFIER_REJECTED }), false);
      }
      usernames.set(client, username!);
      guards.get(client)?.markAuthenticated();
      done(null, true);
    },

    authorizePublish(client, packet, callback) {
      // Readings are a stream, not state; retaining them would also let any client fill the
      // broker's memory with arbitrary topics.
      packet.retain = false;
      const username = client ? usernames.get(client) : undefined;
      let accepted: Accepted;
      try {
        accepted = check(username, packet.topic, packet.payload as Buffer);
      } catch (err) {
        if (!(err instanceof ReadingRejectedError)) {
          logger.error({ err, clientId: client?.id, topic: packet.topic }, 'unexpected error while checking a reading');
          return callback(err as Error);
        }
        countRejection(metrics, err.reason);
        logRejection(err, client?.id, safeSource(packet.topic));
        return callback(null);
      }
      if (opts.processing) {
        const verdict = opts.processing.process(accepted.reading, accepted.kind, accepted.source, (opts.now ?? Date.now)());
        clockOffsets.set(accepted.source, verdict.offsetMs);
        // A source clock ahead of the gateway's is skew (counted apart), not a negative hop.
        receiveHop.observe(Math.max(0, -verdict.offsetMs) / 1000);
        if (verdict.skewed) noteSkew(accepted.source, verdict.offsetMs);
        if (!verdict.keep) {
          // Received and deliberately not kept: acknowledged, counted.
          metrics.filtered.inc({ reason: verdict.reason!, kind: accepted.kind });
          return callback(null);
        }
      }
      buffer.append(accepted.reading, accepted.encoded).then(
        () => {
          metrics.receivedOne(accepted.kind);
          corkUntilNextTick(client);
          callback(null);
        },
        (err: unknown) => {
          const reason: RejectReason = err instanceof BufferFullError ? 'buffer_full' : 'store_error';
          const rejected = new ReadingRejectedError(
            reason,
            `not stored, the client will send it again: ${(err as Error).message}`,
            { topic: packet.topic },
            { cause: err },
          );
          countRejection(metrics, reason);
          logRejection(rejected, client?.id, accepted.source);
          callback(rejected);
        },
      );
    },

    authorizeSubscribe(client, sub, callback) {
      // Every client is an authenticated device (authenticate above), so it has a username.
      const username = usernames.get(client);
      const own = `${ownPrefix}${username}`;
      if (username !== undefined && (sub.topic === own || sub.topic.startsWith(`${own}/`))) return callback(null, sub);
      const reason = 'not_own_topic';
      metrics.subscribeRefused.inc({ reason });
      logger.warn(
        { clientId: client.id, username, filter: sub.topic, reason },
        'local subscription refused: a client may subscribe only under its own topics',
      );
      // A null subscription answers 0x80 in the SUBACK and keeps the connection [MQTT-3.9.3].
      callback(null, null);
    },

    // Readings go upstream through the buffer, never sideways: aedes would otherwise deliver to
    // subscribers whatever authorizePublish acknowledged, including readings it dropped.
    authorizeForward(_client, packet) {
      return packet.topic.startsWith(`${TOPIC_ROOT}/`) ? null : packet;
    },
  };

  const broker = await (opts.createBroker ?? ((o) => Aedes.createBroker(o)))(aedesOptions);
  broker.on('clientError', (client, err) => {
    if (err instanceof ReadingRejectedError) return; // counted and logged above
    logger.debug({ clientId: client.id, err: err.message }, 'local client error');
  });
  broker.on('connectionError', (_client, err) => logger.debug({ err: err.message }, 'local connection error before CONNECT'));

  const onSocket = (socket: net.Socket): void => {
    // Measured on loopback: Nagle's algorithm costs 15-43 ms per hop; aedes does not disable it.
    socket.setNoDelay(true);
    const remote = socket.remoteAddress;
    if (!perAddress.open(remote)) {
      refuseConnection('max_connections_per_address', `${opts.maxConnectionsPerAddress} connections already open from this address`, {
        remote,
      });
      socket.destroy();
      return;
    }
    socket.once('close', () => perAddress.close(remote));
    const client = broker.handle(socket);
    // aedes buffers whatever length a packet header declares; the guard closes the socket first.
    const guard = new PacketSizeGuard(maxPacketBytes, { preAuthBytes: MQTT_PRE_AUTH_MAX_BYTES });
    guards.set(client, guard);
    guardAedesParser(client, guard, (declared) => {
      const why = guard.violation ?? 'malformed_packet';
      refuseConnection(
        why,
        why === 'malformed_packet'
          ? 'malformed MQTT packet length'
          : `MQTT packet of ${declared} bytes ${why === 'connect_too_large' ? 'before login ' : ''}over the limit of ${guard.limit}`,
        { remote, bytes: declared },
      );
      socket.destroy();
    });
  };
  const server = opts.tls ? tls.createServer({ cert: opts.tls.cert, key: opts.tls.key }, onSocket) : net.createServer(onSocket);
  // A failed TLS handshake (a plain-text client, an untrusted certificate) is that client's problem.
  server.on('tlsClientError', (err) => logger.debug({ err: err.message }, 'local TLS handshake failed'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ err }, 'local MQTT listener error'));
  const port = (server.address() as AddressInfo).port;
  logger.info({ host: opts.host, port, tls: Boolean(opts.tls), devices: devices.size }, 'local MQTT broker listening');

  let closing: Promise<void> | undefined;
  return {
    port,
    clients: () => broker.connectedClients,
    stopAccepting: () => {
      if (server.listening) server.close();
    },
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        if (server.listening) server.close();
        broker.close(() => resolve());
      })),
  };
}

/** The {source} segment of a topic, for the log line, when there is one. */
function safeSource(topic: string): string | undefined {
  const parts = topic.split('/');
  return parts.length === 6 ? parts[4] : undefined;
}
