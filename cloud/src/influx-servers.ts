/**
 * The InfluxDB servers of the configuration (`influx` and `influxServers`) and which one holds each
 * pilot's data: one HTTP client per server, the default `influx` for every pilot no server lists.
 * Pilots are checked against the seeds here, at start-up: a listed pilot that does not exist is a
 * typo that would otherwise send nobody's data to that server, silently.
 */
import { ConfigError, type Pilot } from '@michi/proto';
import { influxEndpoint, influxServers, type CloudConfig, type InfluxServerSettings } from './config.js';
import { InfluxHttp } from './influx-http.js';
import { InfluxQuery, type PilotRouting } from './influx-query.js';

export interface InfluxServer {
  readonly name: string;
  readonly settings: InfluxServerSettings;
  readonly http: InfluxHttp;
}

export class InfluxServers implements PilotRouting {
  /** The default (`influx`) first. */
  readonly servers: readonly InfluxServer[];
  private readonly byPilot = new Map<string, InfluxServer>();

  constructor(config: CloudConfig, pilots: readonly Pilot[]) {
    const known = new Set(pilots.map((p) => p.id));
    const settings = influxServers(config);
    settings.forEach((s, i) =>
      s.pilots.forEach((pilot, j) => {
        if (!known.has(pilot)) {
          throw new ConfigError(
            `influxServers[${i - 1}].pilots[${j}]: no pilot "${pilot}" in ${config.seedsDir}; known pilots: ${[...known].join(', ') || '(none)'}`,
            { server: s.name, pilot },
          );
        }
      }),
    );
    // Passwords first: a missing variable stops start-up before any client exists.
    const endpoints = settings.map((s) => influxEndpoint(config, s));
    this.servers = settings.map((s, i) => ({ name: s.name, settings: s, http: new InfluxHttp(endpoints[i]!) }));
    for (const server of this.servers) for (const pilot of server.settings.pilots) this.byPilot.set(pilot, server);
  }

  get default(): InfluxServer {
    return this.servers[0]!;
  }

  /** The server holding `pilot`'s data. */
  of(pilot: string): InfluxServer {
    return this.byPilot.get(pilot) ?? this.default;
  }

  httpOf(pilot: string): InfluxHttp {
    return this.of(pilot).http;
  }

  /** Reads each pilot's data from its server (InfluxQuery.forPilot); what is no pilot's from the default. */
  query(): InfluxQuery {
    return new InfluxQuery(this.default.http, {}, this);
  }

  close(): void {
    for (const s of this.servers) s.http.close();
  }
}
