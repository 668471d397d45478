// InfluxDB with authentication, as `make run` starts it (scripts/influxdb.sh): a real influxd with
// auth-enabled, an admin, the cloud's WRITE+READ user, a read-only user and a write-only one. The
// cloud with its own user stores and serves readings; wrong credentials or a missing privilege stop
// its start-up with a message naming the problem (never the password); the reader cannot write, and
// nobody anonymous gets an answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { startInfluxDb, type InfluxHandle } from '../../scripts/test-support/index.js';
import { startCloud, type CloudService } from '../src/cloud-service.js';
import { API_TOKENS, SECRET_ENV, batch, cloudConfig, connectGateway, publishBatch, testLogger, topicOf, vehicleState } from './support.js';

const ADMIN = { username: 'michi_admin', password: 'admin-password-of-the-test' };
const USERS = {
  michi_cloud: { password: 'cloud-password-of-the-test', grant: 'ALL' },
  michi_reader: { password: 'reader-password-of-the-test', grant: 'READ' },
  michi_writer: { password: 'writer-password-of-the-test', grant: 'WRITE' },
} as const;
type User = keyof typeof USERS;

let influx: InfluxHandle;
const clouds: CloudService[] = [];
const clients: MqttClient[] = [];

function basic(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

/** The cloud as `make run` configures it: a user, and the name of the variable holding its password. */
function configAs(user: User, password: string = USERS[user].password) {
  return cloudConfig(
    influx.url,
    { influx: { username: user, passwordEnv: 'MICHI_INFLUX_PASSWORD', timeoutMs: 5_000 } },
    { ...SECRET_ENV, MICHI_INFLUX_PASSWORD: password },
  );
}

async function startAs(user: User, password?: string): Promise<CloudService> {
  const cloud = await startCloud(configAs(user, password), { logger: testLogger });
  clouds.push(cloud);
  return cloud;
}

/** The error startCloud fails with (a cloud that starts anyway is closed and fails the test). */
async function startFailure(user: User, password?: string): Promise<Error> {
  const cloud = await startAs(user, password).catch((err: unknown) => err as Error);
  if (!(cloud instanceof Error)) throw new Error(`the cloud started as ${user}`);
  return cloud;
}

beforeAll(async () => {
  influx = await startInfluxDb({ admin: ADMIN });
  for (const [user, { password, grant }] of Object.entries(USERS)) {
    await influx.query(`CREATE USER "${user}" WITH PASSWORD '${password}'; GRANT ${grant} ON "michi" TO "${user}"`);
  }
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.end(true);
  for (const c of clouds) await c.close();
  await influx?.stop();
});

describe('InfluxDB with authentication', () => {
  it('the cloud with the michi_cloud user stores a gateway batch and serves it back over the API', async () => {
    const cloud = await startAs('michi_cloud');
    const gw = await connectGateway(cloud.mqttPort, 'gw-a');
    clients.push(gw);
    const t0 = Date.now() - 60_000;
    const items = Array.from({ length: 5 }, (_, i) => vehicleState('bus-1', t0 + i * 1_000, i + 1));
    // A PUBACK means the write was accepted by the authenticated InfluxDB.
    await publishBatch(gw, topicOf('gw-a'), batch('gw-a', items));

    const res = await fetch(`${cloud.url}/api/v1/pilots/test-town/tracks?from=${t0 - 1_000}&to=${t0 + 10_000}`, {
      headers: { authorization: `Bearer ${API_TOKENS.operator}` },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { tracks: { source: string; points: { ts_ms: number }[] }[] };
    expect(body.tracks.find((t) => t.source === 'bus-1')?.points.map((p) => p.ts_ms)).toEqual(items.map((_, i) => t0 + i * 1_000));
    expect(await influx.rows(`SELECT count("seq") FROM vehicle_state WHERE "source" = 'bus-1'`)).toMatchObject([{ count: 5 }]);
  });

  it('a wrong password stops start-up with a message naming the user and the settings, not the password', async () => {
    const err = await startFailure('michi_cloud', 'not-the-password');
    expect(err.message).toMatch(/InfluxDB at http:\/\/127\.0\.0\.1:\d+ refused user "michi_cloud": authorization failed/);
    expect(err.message).toContain('influx.passwordEnv');
    expect(err.message).not.toContain('not-the-password');
    expect((err as { code?: string }).code).toBe('MICHI_ERR_CONFIG');
  });

  it('a user that can write but not read stops start-up, naming the privilege it lacks', async () => {
    const err = await startFailure('michi_writer');
    expect(err.message).toMatch(/user "michi_writer" lacks READ on database "michi"/);
  });

  it('a read-only user stops start-up too, and InfluxDB refuses its writes', async () => {
    const err = await startFailure('michi_reader');
    expect(err.message).toMatch(/user "michi_reader" lacks WRITE on database "michi"/);

    const { password } = USERS.michi_reader;
    const write = await fetch(`${influx.url}/write?db=michi&precision=ms`, {
      method: 'POST',
      headers: basic('michi_reader', password),
      body: `vehicle_state,pilot=test-town,source=forged seq=1i ${Date.now()}`,
    });
    expect(write.status).toBe(403);
    expect(await write.text()).toContain('not authorized');
    expect(await influx.rows(`SELECT count("seq") FROM vehicle_state WHERE "source" = 'forged'`)).toEqual([]);
    // What it is for: reading.
    const read = await fetch(`${influx.url}/query?db=michi&q=${encodeURIComponent('SELECT count("seq") FROM vehicle_state')}`, {
      headers: basic('michi_reader', password),
    });
    expect(read.status).toBe(200);
  });

  it('refuses anonymous queries and writes', async () => {
    const query = await fetch(`${influx.url}/query?db=michi&q=${encodeURIComponent('SELECT * FROM vehicle_state LIMIT 1')}`);
    expect(query.status).toBe(401);
    const users = await fetch(`${influx.url}/query?q=${encodeURIComponent('SHOW USERS')}`);
    expect(users.status).toBe(401);
    const write = await fetch(`${influx.url}/write?db=michi`, { method: 'POST', body: `vehicle_state,source=anon seq=1i` });
    expect(write.status).toBe(401);
  });
});
