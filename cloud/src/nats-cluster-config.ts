/**
 * `michi-ingest-worker --nats-config DIR`: the configurations of a three-node NATS cluster for the
 * NATS mode of the ingest workers (docs/scaling.md), one file per node: cluster routes, JetStream,
 * the MQTT listener the gateways publish to (its streams replicated on all three nodes), and one
 * account with a user per gateway of the seeds and the workers' user.
 *
 * NATS maps an MQTT topic to a subject (`/` → `.`), and permissions are written against the
 * subject: a gateway may publish only `michi.v1.{pilot}.{gateway}.batch` (its own batch topic, as
 * in the Mosquitto ACL), may subscribe to nothing, and may connect only over MQTT; the workers'
 * user may only use the JetStream API of the batch stream and its durable consumer, and never MQTT.
 * Passwords are stored as bcrypt hashes, which nats-server checks.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import bcrypt from 'bcryptjs';
import { ConfigError, loadSeeds, type Pilot } from '@michi/proto';
import type { CloudConfig, SecretResolver } from './config.js';
import type { CommandOutput } from './mosquitto-auth-command.js';
import { gatewayLogins } from './worker-broker-auth.js';
import { workerPassword } from './worker-service.js';
import type { NatsClusterSettings } from './worker-nats-settings.js';

/** The account every michi user is in; JetStream (which NATS's MQTT needs) is enabled for it. */
const NATS_ACCOUNT = 'MICHI';
/** Room for the headers NATS adds to an MQTT publish (it carries the MQTT flags in a header). */
const HEADER_ROOM = 4_096;

export interface NatsClusterFiles {
  /** File name (`{node}.conf`) → contents. */
  files: Map<string, string>;
  /** Gateways left out because their secret is not set (they cannot log in). */
  missing: string[];
}

interface NatsUser {
  user: string;
  password: string;
  permissions: { publish: { allow: string[] }; subscribe: { allow: string[] } | { deny: string[] } };
  allowed_connection_types: string[];
}

/** The subject NATS gives a batch topic `michi/v1/{pilot}/{gateway}/batch` (ids contain no '.', '/' or space). */
export function natsBatchSubject(pilot: string, gateway: string): string {
  return `michi.v1.${pilot}.${gateway}.batch`;
}

/**
 * What a worker needs: the JetStream API of `stream` and of its consumers `durables` (the workers'
 * and the cloud's watch, fleet-watch.ts), replies, and acks.
 */
function workerNatsPermissions(stream: string, durables: readonly string[]): NatsUser['permissions'] {
  return {
    publish: {
      allow: [
        '$JS.API.INFO',
        `$JS.API.STREAM.INFO.${stream}`,
        `$JS.API.STREAM.CREATE.${stream}`,
        ...durables.flatMap((durable) => [
          `$JS.API.CONSUMER.INFO.${stream}.${durable}`,
          `$JS.API.CONSUMER.CREATE.${stream}.${durable}`,
          `$JS.API.CONSUMER.CREATE.${stream}.${durable}.>`,
          // The client's subject for a consumer with several filter subjects (the cloud's watch of its pilots).
          `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${durable}`,
          `$JS.API.CONSUMER.MSG.NEXT.${stream}.${durable}`,
          `$JS.ACK.${stream}.${durable}.>`,
        ]),
      ],
    },
    subscribe: { allow: ['_INBOX.>'] },
  };
}

export function natsClusterFiles(
  pilots: readonly Pilot[],
  resolveSecret: SecretResolver,
  opts: {
    cluster: NatsClusterSettings;
    /** `durables`: the workers' consumer and the cloud's watch consumer. */
    worker: { username: string; password: string; stream: string; durables: readonly string[] };
    maxPayloadBytes: number;
    /** bcrypt cost; NATS checks it on every login, so not higher than needed. */
    cost?: number;
  },
): NatsClusterFiles {
  const cost = opts.cost ?? 11;
  const users: NatsUser[] = [
    {
      user: opts.worker.username,
      password: bcrypt.hashSync(opts.worker.password, cost),
      permissions: workerNatsPermissions(opts.worker.stream, opts.worker.durables),
      allowed_connection_types: ['STANDARD'],
    },
  ];
  const { logins, missing } = gatewayLogins(pilots, resolveSecret);
  for (const { pilot, gateway, secret } of logins) {
    users.push({
      user: gateway.id,
      password: bcrypt.hashSync(secret, cost),
      permissions: { publish: { allow: [natsBatchSubject(pilot.id, gateway.id)] }, subscribe: { deny: ['>'] } },
      allowed_connection_types: ['MQTT'],
    });
  }
  const { cluster } = opts;
  const files = new Map<string, string>();
  for (const node of cluster.nodes) {
    // NATS's configuration format accepts JSON; quoted strings are literal (no $VARIABLE expansion).
    const conf = {
      server_name: node.name,
      listen: `${node.host}:${node.clientPort}`,
      http: `${node.host}:${node.httpPort}`,
      max_payload: opts.maxPayloadBytes + HEADER_ROOM,
      jetstream: { store_dir: join(cluster.storeDir, node.name) },
      cluster: {
        name: cluster.name,
        listen: `${node.host}:${node.clusterPort}`,
        routes: cluster.nodes.filter((n) => n !== node).map((n) => `nats-route://${n.host}:${n.clusterPort}`),
      },
      // stream_replicas 3: the sessions, retained messages and QoS 1 messages (the batches) are on every node.
      mqtt: { listen: `${node.host}:${node.mqttPort}`, stream_replicas: 3 },
      accounts: { [NATS_ACCOUNT]: { jetstream: 'enabled', users } },
    };
    files.set(
      `${node.name}.conf`,
      `# generated by michi-ingest-worker --nats-config (cloud/src/nats-cluster-config.ts) from the seeds; node ${node.name}\n` +
        `${JSON.stringify(conf, null, 2)}\n`,
    );
  }
  return { files, missing };
}

/** Writes DIR/{node}.conf for the three nodes of `worker.nats.cluster` (0600: they hold password hashes). */
export function writeNatsClusterConfig(config: CloudConfig, dir: string): CommandOutput {
  const out: CommandOutput = { stdout: [], stderr: [] };
  const cluster = config.worker.nats.cluster;
  if (cluster === undefined) throw new ConfigError('--nats-config needs worker.nats.cluster: the three nodes (name, host, ports)');
  const password = workerPassword(config);
  if (password === undefined) throw new ConfigError('--nats-config needs worker.passwordEnv: the workers log in to NATS too');
  const generated = natsClusterFiles(loadSeeds(config.seedsDir), config.resolveSecret, {
    cluster,
    worker: {
      username: config.worker.username,
      password,
      stream: config.worker.nats.stream,
      durables: [config.worker.nats.durable, config.watch.clientId],
    },
    maxPayloadBytes: config.mqtt.maxPayloadBytes,
  });
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, text] of generated.files) {
    const file = resolve(join(dir, name));
    writeFileSync(file, text, { mode: 0o600 });
    chmodSync(file, 0o600);
    written.push(file);
  }
  for (const gw of generated.missing) out.stderr.push(`gateway ${gw} has no secret in the environment; left out`);
  out.stdout.push(`wrote ${written.join(', ')}`);
  return out;
}
