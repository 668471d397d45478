// The frame every durability test runs in: a scratch directory and a real cloud (with its InfluxDB)
// made in beforeAll, and in afterAll the vehicles and agents it was given stopped, then the cloud,
// and the directory removed, so that a failing test leaves nothing running.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { freePorts } from '../../scripts/test-support/index.js';
import {
  agentYaml,
  spawnAgent,
  startRealCloud,
  type AgentProcess,
  type Cloud,
  type RealCloudOptions,
  type Vehicle,
} from './durability-support.js';

export interface DurabilityRig {
  readonly dir: string;
  readonly cloud: Cloud;
  /** Closed in afterAll. */
  readonly vehicles: Vehicle[];
  /** An agent configuration on free ports, uplinked to the cloud's MQTT port, its buffer in `home`. */
  agentYaml(extra?: Pick<Parameters<typeof agentYaml>[0], 'url' | 'uplink' | 'buffer'>, home?: string): Promise<string>;
  /** spawnAgent in `home` (default: the rig's directory); the agent is killed in afterAll. */
  spawnAgent(yaml: string, opts?: { home?: string; env?: Record<string, string> }): Promise<AgentProcess>;
}

/**
 * Registers the hooks of a rig for the enclosing describe block; `cloudOptions` is read in beforeAll,
 * after the hooks registered before this call (a PKI, say) have run.
 */
export function durabilityRig(name: string, cloudOptions: () => RealCloudOptions = () => ({})): DurabilityRig {
  let dir: string | undefined;
  let cloud: Cloud | undefined;
  const agents: AgentProcess[] = [];
  const vehicles: Vehicle[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `michi-edge-${name}-`));
    cloud = await startRealCloud(cloudOptions());
  }, 60_000);

  afterAll(async () => {
    for (const v of vehicles) await v.close();
    for (const a of agents) await a.kill('SIGKILL');
    await cloud?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const rig: DurabilityRig = {
    get dir() {
      if (!dir) throw new Error('the rig is made in beforeAll');
      return dir;
    },
    get cloud() {
      if (!cloud) throw new Error('the cloud starts in beforeAll');
      return cloud;
    },
    vehicles,
    async agentYaml(extra = {}, home = rig.dir) {
      const [mqttPort, metricsPort] = await freePorts(2);
      return agentYaml({
        mqttPort: mqttPort!,
        metricsPort: metricsPort!,
        bufferPath: join(home, 'buffer.sqlite'),
        cloudPort: rig.cloud.mqttPort,
        ...extra,
      });
    },
    async spawnAgent(yaml, opts = {}) {
      const agent = await spawnAgent(opts.home ?? rig.dir, yaml, opts.env);
      agents.push(agent);
      return agent;
    },
  };
  return rig;
}
