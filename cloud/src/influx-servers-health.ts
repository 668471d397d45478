/**
 * The health of every InfluxDB server (influx and influxServers), each followed by its own
 * InfluxHealth: what the gRPC health service and the worker's /health report. A server that is
 * down stops only the acknowledgements of the pilots it holds, so the reports name it.
 */
import type { InfluxHealth } from './influx-health.js';

export interface ServerHealth {
  readonly name: string;
  readonly health: InfluxHealth;
}

export type ServerHealthListener = (server: string, up: boolean) => void;

export class InfluxServersHealth {
  readonly servers: readonly ServerHealth[];

  constructor(servers: readonly ServerHealth[]) {
    this.servers = servers;
  }

  /** Whether every server takes writes. */
  get up(): boolean {
    return this.servers.every((s) => s.health.up);
  }

  /** Each server by name: up or down. */
  status(): Record<string, 'up' | 'down'> {
    return Object.fromEntries(this.servers.map((s) => [s.name, s.health.up ? 'up' : 'down']));
  }

  /** Subscribes to every server's changes; returns the unsubscribe function. */
  onChange(listener: ServerHealthListener): () => void {
    const offs = this.servers.map((s) => s.health.onChange((up) => listener(s.name, up)));
    return () => offs.forEach((off) => off());
  }

  async start(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.health.start()));
  }

  close(): void {
    for (const s of this.servers) s.health.close();
  }
}
