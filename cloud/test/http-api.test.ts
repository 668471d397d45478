// The HTTP API against a real InfluxDB and a real gateway publishing over MQTT: what the dashboard
// reads (pilots, a pilot's map definition, vehicles with their latest state), that the latest
// state survives a restart, the 404s, health, metrics and the static dashboard. Requests carry the
// operator token; tests of auth itself are in api-auth.test.ts.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfluxDb, waitFor, type InfluxHandle } from '../../scripts/test-support/index.js';
import { startCloud, type CloudService } from '../src/cloud-service.js';
import { API_TOKENS, batch, cloudConfig, connectGateway, linkSample, publishBatch, testLogger, topicOf, vehicleState } from './support.js';

let influx: InfluxHandle;
let cloud: CloudService | undefined;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are dug into by the assertions
async function get(path: string): Promise<{ status: number; type: string | null; body: any }> {
  const res = await fetch(`${cloud!.url}${path}`, { headers: { authorization: `Bearer ${API_TOKENS.operator}` } });
  const type = res.headers.get('content-type');
  return { status: res.status, type, body: type?.includes('json') ? await res.json() : await res.text() };
}

beforeAll(async () => {
  influx = await startInfluxDb();
  cloud = await startCloud(cloudConfig(influx.url, { influx: { timeoutMs: 3_000 } }), { logger: testLogger });
});

afterAll(async () => {
  await cloud?.close();
  await influx?.stop();
});

describe('HTTP API', () => {
  it('lists the pilots with their counts', async () => {
    const { status, body } = await get('/api/v1/pilots');
    expect(status).toBe(200);
    expect(body.pilots).toEqual([
      {
        id: 'other-town',
        name: { ja: '別の町 配送ロボット', en: 'Other Town delivery robots' },
        municipality: { ja: '千葉県柏市', en: 'Kashiwa, Chiba', code: '122173' },
        counts: { vehicles: 1, sensors: 0, cellSites: 0 },
      },
      {
        id: 'test-town',
        name: { ja: 'テスト町 自動運転バス', en: 'Test Town autonomous bus' },
        municipality: { ja: '群馬県前橋市', en: 'Maebashi, Gunma', code: '102016' },
        counts: { vehicles: 2, sensors: 1, cellSites: 2 },
      },
    ]);
  });

  it("serves a pilot's map definition without the gateways' credential references", async () => {
    const { status, body } = await get('/api/v1/pilots/test-town');
    expect(status).toBe(200);
    expect(body.map).toEqual({ center: [139.0733, 36.386], zoom: 15 });
    expect(body.routes[0].geometry.type).toBe('LineString');
    expect(body.stops.map((s: { id: string }) => s.id)).toEqual(['stop-south', 'stop-north']);
    expect(body.geofences[0].id).toBe('gf-op');
    expect(body.cellSites.map((c: { pci: number }) => c.pci)).toEqual([101, 102]);
    expect(body.vehicles.map((v: { id: string }) => v.id)).toEqual(['bus-1', 'bus-2']);
    expect(body.sensors[0]).toMatchObject({ id: 'lidar-1', kind: 'lidar' });
    expect(body.gateways[0]).toEqual({ id: 'gw-a', name: 'Gateway A', siteId: 'site-south', position: [139.0735, 36.3842] });
    expect(JSON.stringify(body)).not.toContain('credentialsRef');
    expect(JSON.stringify(body)).not.toContain('MICHI_TEST_GW');
  });

  it('answers 404 with a JSON error for an unknown pilot or route', async () => {
    for (const path of ['/api/v1/pilots/nowhere', '/api/v1/pilots/nowhere/vehicles']) {
      const { status, body } = await get(path);
      expect(status).toBe(404);
      expect(body.error.code).toBe('MICHI_ERR_UNKNOWN_SOURCE');
      expect(body.error.message).toContain('nowhere');
    }
    const { status, body } = await get('/api/v1/nothing-here');
    expect(status).toBe(404);
    expect(body.error.code).toBe('MICHI_ERR_NOT_FOUND');
  });

  it('lists every seeded vehicle, null until it reports, then with its latest state and link sample; a restart rebuilds both from InfluxDB', async () => {
    const before = await get('/api/v1/pilots/test-town/vehicles');
    expect(before.body.vehicles).toEqual([
      { id: 'bus-1', kind: 'bus', name: { ja: 'バス1号', en: 'Bus 1' }, routeId: 'line-1', state: null },
      { id: 'bus-2', kind: 'bus', name: { ja: 'バス2号', en: 'Bus 2' }, routeId: 'line-1', state: null },
    ]);

    const gw = await connectGateway(cloud!.mqttPort, 'gw-a');
    const t = Date.now() - 2_000;
    // Out of order on purpose: the newest source timestamp wins, not the last to arrive.
    await publishBatch(
      gw,
      topicOf('gw-a'),
      batch('gw-a', [vehicleState('bus-1', t + 1_000, 2, { mode: 1, speed_mps: 7.25 }), vehicleState('bus-1', t, 1)]),
    );
    // A link sample for bus-1 (and an older one after it, which must not win); none for bus-2.
    const older = linkSample('bus-1', t, 4);
    older.link!.rsrp_dbm = -100;
    await publishBatch(gw, topicOf('gw-a'), batch('gw-a', [linkSample('bus-1', t + 500, 3), older], 3));
    gw.end(true);

    const expected = {
      ts_ms: t + 1_000,
      seq: 2,
      lat: 36.3839 + 2e-5,
      lon: 139.0733,
      speed_mps: 7.25,
      heading_deg: 12.25,
      mode: 'MANUAL',
      battery_pct: 80.5,
      link: { ts_ms: t + 500, cell: '001-01:0x0000a1', pci: 101, band: 'n79', rsrp_dbm: -85.5, sinr_db: 18, rtt_ms: 12.5 },
    };
    const after = await get('/api/v1/pilots/test-town/vehicles');
    expect(after.body.vehicles[0].state).toMatchObject(expected);
    expect(after.body.vehicles[0].state.recv_ms).toBeGreaterThanOrEqual(t);
    expect(after.body.vehicles[1].state).toBeNull();

    await cloud!.close();
    cloud = await startCloud(cloudConfig(influx.url), { logger: testLogger });
    const rebuilt = await get('/api/v1/pilots/test-town/vehicles');
    expect(rebuilt.body.vehicles[0].state).toEqual(after.body.vehicles[0].state);
    expect(rebuilt.body.vehicles[0].state.link).toEqual(expected.link);
    expect(rebuilt.body.vehicles[1].state).toBeNull();
  });

  it('reports health: 200 while InfluxDB answers /ping, 503 while it does not', async () => {
    expect(await get('/api/v1/health')).toMatchObject({ status: 200, body: { status: 'ok', influx: 'ok' } });
    influx.pause();
    try {
      const down = await get('/api/v1/health');
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({ status: 'unavailable', influx: 'unreachable' });
    } finally {
      influx.resume();
    }
    // A resumed InfluxDB first works off what queued up while it was stopped.
    await waitFor(async () => (await get('/api/v1/health')).status === 200, { timeoutMs: 20_000, what: 'health to recover' });
  });

  it('serves Prometheus metrics on the metrics listener, not on the API port', async () => {
    expect((await get('/metrics')).status).toBe(404);
    const res = await fetch(cloud!.metricsUrl);
    const [status, type, body] = [res.status, res.headers.get('content-type') ?? '', await res.text()];
    expect(status).toBe(200);
    expect(type).toContain('text/plain');
    expect(body).toContain('michi_cloud_readings_accepted_total');
    expect(body).toContain('# TYPE michi_cloud_influx_write_seconds histogram');
    expect(body).toContain('michi_cloud_process_resident_memory_bytes');
  });

  it('answers / with a hint to build the dashboard when it is not built', async () => {
    const { status, body } = await get('/');
    expect(status).toBe(404);
    expect(body.error.message).toContain('npm run build -w @michi/dashboard');
  });
});

describe('HTTP API with a built dashboard', () => {
  it('serves index.html at / and .mjs files as JavaScript', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'michi-dashboard-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>michi</title>');
    writeFileSync(join(dir, 'assets', 'maplibre-gl-worker.mjs'), 'export {};');
    const other = await startCloud(cloudConfig(influx.url, { dashboardDir: dir }), { logger: testLogger });
    try {
      const index = await fetch(`${other.url}/`);
      expect(index.status).toBe(200);
      expect(index.headers.get('content-type')).toContain('text/html');
      expect(await index.text()).toContain('<title>michi</title>');
      const worker = await fetch(`${other.url}/assets/maplibre-gl-worker.mjs`);
      expect(worker.status).toBe(200);
      expect(worker.headers.get('content-type')).toMatch(/^(application|text)\/javascript/);
      const missing = await fetch(`${other.url}/assets/nope.js`);
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('MICHI_ERR_NOT_FOUND');
    } finally {
      await other.close();
    }
  });
});
