/**
 * The start-up check of the InfluxDB credentials: that the configured user may both write and read
 * the database. Without it, a wrong password or a user granted WRITE but not READ starts a cloud
 * that looks healthy and fails on every batch or every map request. Only a refusal (401/403)
 * stops start-up; an InfluxDB that is down or answers otherwise is left to the writer and the
 * health checks, so that the cloud can start before its database does.
 */
import { ConfigError } from '@michi/proto';
import { type InfluxHttp, influxErrorText } from './influx-http.js';

export type InfluxAccess = { ok: true } | { ok: false; reason: string };

/**
 * An empty /write is authorized like any other and stores nothing; a SELECT of a measurement that
 * never exists is authorized as a READ and returns no rows.
 */
/** `section`: where the configuration sets this server's credentials, for the messages (`influx`, `influxServers[0]`). */
export async function checkInfluxAccess(http: InfluxHttp, section = 'influx'): Promise<InfluxAccess> {
  const { database, username } = http.endpoint;
  const who = username === undefined ? `anonymous access (${section}.username is not set)` : `user ${JSON.stringify(username)}`;
  const probes = [
    { privilege: 'WRITE', send: () => http.request('POST', 'write', { db: database, precision: 'ms' }, '') },
    { privilege: 'READ', send: () => http.request('GET', 'query', { db: database, q: 'SELECT * FROM "michi_access_probe" LIMIT 1' }) },
  ];
  for (const probe of probes) {
    let res;
    try {
      res = await probe.send();
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
    if (res.status === 401) {
      throw new ConfigError(
        `InfluxDB at ${http.endpoint.url} refused ${who}: ${influxErrorText(res.body)}. ` +
          `Check ${section}.username and the password in the variable ${section}.passwordEnv names`,
        { url: http.endpoint.url, username, status: 401 },
      );
    }
    if (res.status === 403) {
      throw new ConfigError(
        `InfluxDB at ${http.endpoint.url}: ${who} lacks ${probe.privilege} on database ${JSON.stringify(database)} ` +
          `(${influxErrorText(res.body)}); the cloud needs WRITE and READ: GRANT ALL ON "${database}" TO "${username ?? '<user>'}"`,
        { url: http.endpoint.url, username, status: 403, privilege: probe.privilege },
      );
    }
    if (res.status >= 300) return { ok: false, reason: `${res.status}: ${influxErrorText(res.body)}` };
  }
  return { ok: true };
}
