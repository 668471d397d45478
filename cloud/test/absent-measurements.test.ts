// Issue 11: a measurement that was not taken is absent, not 0. Link samples without rtt_ms, rsrq_db,
// ul_mbps, dl_mbps and states without battery_pct are published to a real cloud over MQTT (protobuf
// and JSON batches) and gRPC; InfluxDB must hold no such field for those points, the API must
// answer null, the KPI link percentiles must be taken over the samples that had the value only,
// and a measured 0 (a battery at 0 %, an RTT of 0 ms) must stay 0.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { michi } from '@michi/proto';
import { makeTestPki, type TestPki } from '../../scripts/test-support/index.js';
import type { CloudIngestClient } from '../src/ingest-grpc-client.js';
import { apiGet } from './fixtures/api-support.js';
import { grpcClient, openUpload } from './ingest-grpc-support.js';
import {
  API_TOKENS,
  PILOT,
  SECRETS,
  bareLinkSample,
  batch,
  cloudConfig,
  cloudOnInflux,
  publishBatch,
  topicOf,
  vehicleState,
  type LinkFigures,
} from './support.js';

let pki: TestPki;
let grpc: CloudIngestClient;

beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => pki?.remove());

const stack = cloudOnInflux((influxUrl) =>
  cloudConfig(influxUrl, { grpc: { enabled: true, port: 0, tls: { certFile: pki.certFile, keyFile: pki.keyFile } } }),
);
const gateway = stack.gateway;

beforeAll(() => {
  grpc = grpcClient(stack.cloud.grpcPort!, pki.ca);
});
afterAll(() => grpc?.close());

const RADIO_OPTIONAL = ['rtt_ms', 'rsrq_db', 'ul_mbps', 'dl_mbps'] as const;

/** A link sample of bus-1 with what a modem always reports; `measured` adds the optional figures it had. */
function link(ts: number, seq: number, measured: LinkFigures = {}): michi.v1.Reading.$Properties {
  return bareLinkSample('bus-1', ts, seq, { position: { lat: 36.3839, lon: 139.0733 }, ...measured });
}

/** The tests' usual state (support.ts), without battery_pct or odometer_m unless given. */
function state(
  source: string,
  ts: number,
  seq: number,
  extra: Partial<michi.v1.VehicleState.$Properties> = {},
): michi.v1.Reading.$Properties {
  const { battery_pct: _battery, odometer_m: _odometer, ...usual } = vehicleState(source, ts, seq).state!;
  return { state: { ...usual, ...extra } };
}

/**
 * RTTs of a mix: two samples without any optional figure, one with a measured 0 ms. Over the
 * samples that had the value, [0, 10, 20, 30, 40]: p50 (nearest rank, ceil(0.5 × 5) = 3) is 20.
 * With the two missing ones stored as 0, [0, 0, 0, 10, 20, 30, 40] would give p50 = 10.
 */
function mix(t0: number, seq0: number): michi.v1.Reading.$Properties[] {
  return [
    link(t0, seq0, { rtt_ms: 30, rsrq_db: -10.5, ul_mbps: 40, dl_mbps: 300 }),
    link(t0 + 100, seq0 + 1),
    link(t0 + 200, seq0 + 2, { rtt_ms: 10 }),
    link(t0 + 300, seq0 + 3),
    link(t0 + 400, seq0 + 4, { rtt_ms: 40 }),
    link(t0 + 500, seq0 + 5, { rtt_ms: 0, ul_mbps: 0 }),
    link(t0 + 600, seq0 + 6, { rtt_ms: 20 }),
  ];
}

/** The JSON batch a gateway would publish for the same mix: absent keys, and an explicit null. */
function jsonBatch(gateway: string, items: michi.v1.Reading.$Properties[], firstSeq: number): Uint8Array {
  const withNull = items.map((item, i) => (i === 1 && item.link ? { link: { ...item.link, rtt_ms: null } } : item));
  return Buffer.from(JSON.stringify({ pilot_id: PILOT, gateway_id: gateway, first_seq: firstSeq, items: withNull }));
}

async function linkRows(t0: number): Promise<Record<string, unknown>[]> {
  return stack.influx.rows(
    `SELECT "seq", ${RADIO_OPTIONAL.map((f) => `"${f}"`).join(', ')} FROM "link_sample" WHERE "source" = 'bus-1' AND time >= ${t0}ms AND time <= ${t0 + 600}ms`,
    { epoch: 'ms' },
  );
}

async function expectStoredAndAnswered(t0: number): Promise<void> {
  const rows = await linkRows(t0);
  expect(rows).toHaveLength(7);
  const byTime = new Map(rows.map((r) => [Number(r['time']), r]));
  // The samples without the figures: no field in InfluxDB (a query answers null), not 0.
  for (const t of [t0 + 100, t0 + 300]) {
    for (const f of RADIO_OPTIONAL) expect(byTime.get(t)?.[f], `${f} at ${t}`).toBeNull();
  }
  expect(byTime.get(t0 + 200)?.['rtt_ms']).toBe(10);
  expect(byTime.get(t0 + 200)?.['ul_mbps']).toBeNull();
  // A measured 0 stays 0.
  expect(byTime.get(t0 + 500)?.['rtt_ms']).toBe(0);
  expect(byTime.get(t0 + 500)?.['ul_mbps']).toBe(0);
  expect(byTime.get(t0 + 500)?.['dl_mbps']).toBeNull();
  expect(byTime.get(t0)).toMatchObject({ rtt_ms: 30, rsrq_db: -10.5, ul_mbps: 40, dl_mbps: 300 });

  const range = `from=${t0}&to=${t0 + 600}`;
  const links = await apiGet(stack.cloud, `/pilots/${PILOT}/links?${range}&source=bus-1`, API_TOKENS.operator);
  expect(links.status).toBe(200);
  const points = (links.body as { links: { source: string; points: { ts_ms: number; rtt_ms: number | null }[] }[] }).links[0]!.points;
  expect(points.map((p) => [p.ts_ms - t0, p.rtt_ms])).toEqual([
    [0, 30],
    [100, null],
    [200, 10],
    [300, null],
    [400, 40],
    [500, 0],
    [600, 20],
  ]);

  const kpis = await apiGet(stack.cloud, `/pilots/${PILOT}/kpis?${range}`, API_TOKENS.operator);
  expect(kpis.status).toBe(200);
  expect((kpis.body as { link: { rtt_ms: unknown } }).link.rtt_ms).toEqual({ p50: 20, p95: 40 });
}

describe('measurements that were not taken', () => {
  it('MQTT, protobuf batch: absent link figures are not stored, /links answers null, KPIs count only what was measured', async () => {
    const t0 = Date.now() - 600_000;
    await publishBatch(await gateway('gw-a'), topicOf('gw-a'), batch('gw-a', mix(t0, 1), 1));
    await expectStoredAndAnswered(t0);
  });

  it('MQTT, JSON batch: a missing key and an explicit null are both absent', async () => {
    const t0 = Date.now() - 500_000;
    await publishBatch(await gateway('gw-a'), topicOf('gw-a'), jsonBatch('gw-a', mix(t0, 101), 101));
    await expectStoredAndAnswered(t0);
  });

  it('gRPC Upload: the same', async () => {
    const t0 = Date.now() - 400_000;
    const up = openUpload(grpc, { gateway: 'gw-a', secret: SECRETS['gw-a'] });
    expect((await up.send(batch('gw-a', mix(t0, 201), 201))).status).toBe('ACK_STATUS_ACCEPTED');
    up.end();
    await expectStoredAndAnswered(t0);
  });

  it('a state without battery_pct stores no battery and answers null; a battery at 0 % stays 0 (protobuf, JSON, gRPC)', async () => {
    const t0 = Date.now() - 5_000;
    const gw = await gateway('gw-b');
    await publishBatch(gw, topicOf('gw-b'), batch('gw-b', [state('bus-2', t0, 1, { battery_pct: 0 }), state('bus-2', t0 + 1, 2)], 1));
    const json = {
      pilot_id: PILOT,
      gateway_id: 'gw-b',
      first_seq: 3,
      items: [{ state: { ...state('bus-2', t0 + 2, 3).state, battery_pct: null } }],
    };
    await publishBatch(gw, topicOf('gw-b'), Buffer.from(JSON.stringify(json)));
    const up = openUpload(grpc, { gateway: 'gw-b', secret: SECRETS['gw-b'] });
    expect((await up.send(batch('gw-b', [state('bus-2', t0 + 3, 4)], 4))).status).toBe('ACK_STATUS_ACCEPTED');
    up.end();

    const rows = await stack.influx.rows(
      `SELECT "seq", "battery_pct", "odometer_m" FROM "vehicle_state" WHERE "source" = 'bus-2' AND time >= ${t0}ms AND time <= ${t0 + 3}ms`,
      { epoch: 'ms' },
    );
    expect(rows.map((r) => [Number(r['time']) - t0, r['battery_pct'], r['odometer_m']])).toEqual([
      [0, 0, null],
      [1, null, null],
      [2, null, null],
      [3, null, null],
    ]);

    const vehicles = await apiGet(stack.cloud, `/pilots/${PILOT}/vehicles`, API_TOKENS.operator);
    const bus2 = (
      vehicles.body as { vehicles: { id: string; state: { ts_ms: number; battery_pct: number | null } | null }[] }
    ).vehicles.find((v) => v.id === 'bus-2');
    expect(bus2?.state).toMatchObject({ ts_ms: t0 + 3, battery_pct: null });
  });
});
