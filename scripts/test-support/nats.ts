// A private three-node NATS cluster per test (nats-server from scripts/go-tool.sh): free loopback
// ports for clients, MQTT, routes and monitoring, JetStream in a tmp dir. The node configurations
// come from the caller (michi generates them from its seeds); each node can be SIGKILLed and
// restarted with its own JetStream directory, as a machine that crashed and came back.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { goToolPath } from './go-tools.js';
import { freePorts } from './ports.js';
import { ServerProcess } from './server-process.js';

export interface NatsNodeAddress {
  name: string;
  host: string;
  clientPort: number;
  mqttPort: number;
  clusterPort: number;
  httpPort: number;
}

/** What the configuration writer gets: the cluster to describe, in michi's `worker.nats.cluster` shape. */
export interface NatsClusterLayout {
  name: string;
  storeDir: string;
  nodes: NatsNodeAddress[];
}

export interface NatsNodeHandle extends NatsNodeAddress {
  /** nats://127.0.0.1:PORT */
  readonly url: string;
  /** mqtt://127.0.0.1:PORT */
  readonly mqttUrl: string;
  readonly running: boolean;
  /** Of the running process, -1 when none. */
  readonly pid: number;
  /** SIGKILL: no chance to flush or hand over leadership. */
  kill(): Promise<void>;
  /** Starts it again with the same configuration and JetStream directory; resolves when /healthz is ok. */
  start(): Promise<void>;
  logs(): string;
}

export interface NatsClusterHandle {
  readonly layout: NatsClusterLayout;
  readonly nodes: readonly NatsNodeHandle[];
  /** Client URLs of all nodes. */
  readonly servers: string[];
  /** Holds the configurations and JetStream directories; removed by stop(). */
  readonly dir: string;
  /** Stops every node (SIGTERM, then SIGKILL) and removes the tmp dir. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartNatsClusterOptions {
  /** Writes the configuration of each node: file name (`{node}.conf`) → contents. */
  configure(layout: NatsClusterLayout): Map<string, string>;
  /** How long to wait for the cluster to be healthy; default 30 s. */
  timeoutMs?: number;
}

async function healthy(node: NatsNodeAddress): Promise<void> {
  const res = await fetch(`http://${node.host}:${node.httpPort}/healthz`);
  if (!res.ok) throw new Error(`/healthz of ${node.name} answered ${res.status}: ${await res.text()}`);
}

export async function startNatsCluster(opts: StartNatsClusterOptions): Promise<NatsClusterHandle> {
  const binary = goToolPath('nats-server');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'michi-nats-'));
  const ports = await freePorts(12);
  const layout: NatsClusterLayout = {
    name: 'michi-test',
    storeDir: path.join(dir, 'js'),
    nodes: [0, 1, 2].map((i) => ({
      name: `n${i + 1}`,
      host: '127.0.0.1',
      clientPort: ports[i * 4]!,
      mqttPort: ports[i * 4 + 1]!,
      clusterPort: ports[i * 4 + 2]!,
      httpPort: ports[i * 4 + 3]!,
    })),
  };
  const configs = opts.configure(layout);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const processes = new Map<string, ServerProcess>();
  const handles: NatsNodeHandle[] = [];
  const launchers: (() => ServerProcess)[] = [];
  for (const node of layout.nodes) {
    const text = configs.get(`${node.name}.conf`);
    if (text === undefined) throw new Error(`the configure callback wrote no ${node.name}.conf`);
    const file = path.join(dir, `${node.name}.conf`);
    await writeFile(file, text, { mode: 0o600 });
    const launch = (): ServerProcess => {
      const p = new ServerProcess({ name: `nats-server ${node.name}`, command: binary, args: ['-c', file], marker: file });
      processes.set(node.name, p);
      return p;
    };
    launchers.push(launch);
    handles.push({
      ...node,
      url: `nats://${node.host}:${node.clientPort}`,
      mqttUrl: `mqtt://${node.host}:${node.mqttPort}`,
      get running() {
        return processes.get(node.name)?.running ?? false;
      },
      get pid() {
        return processes.get(node.name)?.pid ?? -1;
      },
      async kill() {
        const p = processes.get(node.name);
        if (!p?.running) return;
        p.killNow();
        await p.exited;
      },
      async start() {
        if (processes.get(node.name)?.running) return;
        const p = launch();
        await p.waitReady(() => healthy(node), `nats-server ${node.name} healthy`, timeoutMs);
      },
      logs() {
        return processes.get(node.name)?.outputTail(200) ?? '';
      },
    });
  }
  // All three at once: JetStream waits for a quorum before a node reports healthy.
  for (const launch of launchers) launch();
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all([...processes.values()].map((p) => p.stop(5_000)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(
      layout.nodes.map((node) => processes.get(node.name)!.waitReady(() => healthy(node), `nats-server ${node.name} healthy`, timeoutMs)),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { layout, nodes: handles, servers: handles.map((h) => h.url), dir, stop };
}
