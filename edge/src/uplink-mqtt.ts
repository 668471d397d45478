/**
 * The MQTT transport of the uplink (uplink.mode mqtt): MQTT 3.1.1 to the cloud's broker, plain or
 * TLS (mqtts:// with the CA of uplink.tls.caFile), a persistent session, each Batch published on
 * michi/v1/{pilot}/{gateway}/batch at QoS 1. The cloud sends the PUBACK only after InfluxDB
 * accepted the batch; uplink-scheduler.ts decides what to send and deletes what was acknowledged.
 *
 * The buffer, not mqtt.js, is the store of unacknowledged batches: each connection attempt gets a
 * fresh client (reconnectPeriod 0, so mqtt.js neither reconnects nor resends on its own).
 */
import { connect as mqttConnect, type IClientOptions, type MqttClient } from 'mqtt';
import { batchTopic } from '@michi/proto';
import { UplinkScheduler, type UplinkSchedulerOptions } from './uplink-scheduler.js';
import type { UplinkLink, UplinkLinkEvents, UplinkTransport } from './uplink-transport.js';

export interface MqttUplinkOptions {
  url: string;
  username: string;
  password?: string | undefined;
  /** The CAs that the broker's certificate must chain to (mqtts://); default: Node's bundled roots. */
  ca?: Buffer | undefined;
  pilotId: string;
  gatewayId: string;
  connectTimeoutMs: number;
  keepaliveS: number;
  connect?: (url: string, opts: IClientOptions) => MqttClient;
}

export type UplinkMqttOptions = UplinkSchedulerOptions & MqttUplinkOptions;

/** The MQTT uplink: the shared scheduler over an MQTT transport. */
export class UplinkMqtt extends UplinkScheduler {
  constructor(opts: UplinkMqttOptions) {
    super(opts, mqttTransport(opts));
  }
}

function mqttTransport(opts: MqttUplinkOptions): UplinkTransport {
  const topic = batchTopic(opts.pilotId, opts.gatewayId);
  const connect = opts.connect ?? mqttConnect;
  return {
    target: opts.url,
    open(events: UplinkLinkEvents): UplinkLink {
      const client = connect(opts.url, {
        clientId: `edge-${opts.gatewayId}`,
        username: opts.username,
        password: opts.password,
        protocolVersion: 4,
        clean: false,
        reconnectPeriod: 0,
        connectTimeout: opts.connectTimeoutMs,
        keepalive: opts.keepaliveS,
        resubscribe: false,
        ...(opts.ca ? { ca: opts.ca } : {}),
        rejectUnauthorized: true,
      });
      // Measured on loopback: Nagle's algorithm costs 15-43 ms per hop, and mqtt.js does not disable it.
      (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
      let lastError: Error | undefined;
      let refused = false;
      client.on('connect', () => events.up());
      client.on('error', (err: Error & { code?: unknown }) => {
        lastError = err;
        // A CONNACK refusal (bad credentials, not authorized) carries its return code as a number.
        if (typeof err.code === 'number') refused = true;
      });
      client.on('close', () => events.down(lastError, refused ? 'refused' : undefined));
      return {
        send(batch, acked) {
          client.publish(topic, Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength), { qos: 1 }, (err) => acked(err));
        },
        end: () => new Promise<void>((resolve) => client.end(true, {}, () => resolve())),
      };
    },
  };
}
