/**
 * The MQTT ingest for gateways: an aedes broker that nobody subscribes to. Every publish is handled
 * inside aedes' `authorizePublish` hook, because aedes 1.2 sends the QoS 1 PUBACK only after that
 * hook calls back (lib/handlers/publish.js: authorizePublish, then enqueuePublish writes the
 * PUBACK). So the hook writes the batch to InfluxDB first and calls back after: the PUBACK means
 * "in InfluxDB". When the write fails, the hook calls back with an error; aedes then destroys the
 * connection without a PUBACK (runSeries → client 'error' → _onError), and the gateway resends the
 * batch after reconnecting (MQTT 3.1.1 §4.4).
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { Aedes, type AuthenticateError, type Client, type PublishPacket, type Subscription } from 'aedes';
import { ErrorCodes, MichiError } from '@michi/proto';
import type { BatchIngest } from './ingest-batch.js';
import type { CloudMetrics } from './metrics.js';
import type { GatewayIdentity, PilotDirectory } from './pilot-directory.js';

export interface MqttIngestOptions {
  host: string;
  port: number;
}

export interface MqttIngestDeps {
  directory: PilotDirectory;
  ingest: BatchIngest;
  metrics: CloudMetrics;
  logger: Logger;
}

export interface MqttIngestServer {
  readonly port: number;
  close(): Promise<void>;
}

// CONNACK return codes, MQTT 3.1.1 §3.2.2.3.
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

const EMPTY = Buffer.alloc(0);

function authError(message: string, returnCode: number): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

export async function startMqttIngest(opts: MqttIngestOptions, deps: MqttIngestDeps): Promise<MqttIngestServer> {
  const { directory, ingest, metrics } = deps;
  const log = deps.logger.child({ component: 'mqtt-ingest' });
  const identities = new WeakMap<Client, GatewayIdentity>();
  /** Why a connection is about to be closed, logged with aedes' clientError. */
  const refusals = new WeakMap<Client, string>();

  const broker = await Aedes.createBroker({
    // MQTT 3.1.1 §3.1.3.1 lets a server accept client ids longer than 23 characters; edges use
    // `edge-<gateway id>`, and a gateway id may have 64.
    maxClientsIdLength: 128,
    authenticate(client, username, password, done) {
      const result = directory.login(username, password);
      if (result.ok) {
        identities.set(client, result.identity);
        done(null, true);
        return;
      }
      metrics.failedLogins.inc({ reason: result.reason });
      // The username is an id a person may need to trace; the password is never logged.
      log.warn(
        {
          clientId: client.id,
          username,
          reason: result.reason,
          remote: client.conn && 'remoteAddress' in client.conn ? client.conn.remoteAddress : undefined,
        },
        'gateway login refused',
      );
      done(
        authError(`login refused: ${result.reason}`, result.reason === 'no_secret_configured' ? NOT_AUTHORIZED : BAD_USERNAME_OR_PASSWORD),
        false,
      );
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
      handleBatch(client, gw, packet, done);
    },

    authorizeSubscribe(client, sub: Subscription, done) {
      const gw = identities.get(client);
      log.warn({ pilot: gw?.pilot, gateway: gw?.gateway, topic: sub.topic }, 'subscribe refused: gateways may not subscribe');
      metrics.batchesRejected.inc({ reason: 'forbidden_subscribe' });
      done(null, null); // SUBACK 0x80 (failure), MQTT 3.1.1 §3.9.3
    },
  });

  function handleBatch(client: Client, gw: GatewayIdentity, packet: PublishPacket, done: (err?: Error | null) => void): void {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    // The broker must not keep a copy: nobody subscribes, and a retained batch would sit in memory.
    packet.retain = false;
    packet.payload = EMPTY;
    ingest.ingest(gw, payload).then(
      (outcome) => {
        if (outcome.status === 'accepted' || outcome.status === 'dropped') {
          done(null);
        } else {
          refusals.set(client, `${outcome.reason}: ${outcome.error.message}`);
          done(outcome.error);
        }
      },
      (err: unknown) => {
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
      log.info({ pilot: gw?.pilot, gateway: gw?.gateway, clientId: client.id, reason: refusal }, 'gateway connection closed by the cloud');
    else log.debug({ pilot: gw?.pilot, gateway: gw?.gateway, clientId: client.id, err: err.message }, 'gateway connection error');
  });
  broker.on('connectionError', (_client: Client, err: Error) => log.debug({ err: err.message }, 'connection error before CONNECT'));

  const server = net.createServer((socket) => {
    // Nagle would add ~15 ms (p50) to every PUBACK; see DESIGN.md, measured facts.
    socket.setNoDelay(true);
    broker.handle(socket);
  });
  server.on('error', (err) => log.error({ err }, 'MQTT listener error'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.host, port: opts.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  log.info({ host: opts.host, port }, 'MQTT ingest listening');

  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        await serverClosed;
      })();
      return closing;
    },
  };
}
