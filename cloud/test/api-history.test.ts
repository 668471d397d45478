// The API's history endpoints against a real InfluxDB holding a small known data set
// (fixtures/api-fixture.ts): every KPI is worked out by hand there and must equal the API's
// figure; tracks are downsampled by GROUP BY time as documented; events are filtered and ordered;
// coverage cells and completeness gaps come out as computed by hand; a backlog still draining is
// told from live readings with readings written relative to now.
import { latLngToCell, cellToLatLng } from 'h3-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUS1,
  BUS2,
  EXPECTED_AUTONOMOUS_M,
  EXPECTED_DISTANCE_M,
  LINKS,
  NORTH,
  RANGE,
  SOUTH,
  T0,
  stateLine,
  type FixtureState,
} from './fixtures/api-fixture.js';
import { TOKENS, apiGet, startApiTestCloud, type ApiTestCloud } from './fixtures/api-support.js';

let t: ApiTestCloud;
const get = (path: string) => apiGet(t.cloud, path, TOKENS.operator);
const range = `from=${RANGE.from}&to=${RANGE.to}`;

beforeAll(async () => {
  t = await startApiTestCloud();
});

afterAll(async () => {
  await t?.close();
});

describe('GET /pilots/:pilot/kpis', () => {
  it('equals the figures computed by hand for the fixture', async () => {
    const { status, body } = await get(`/pilots/test-town/kpis?${range}`);
    expect(status).toBe(200);
    const km = EXPECTED_DISTANCE_M / 1000;
    expect(body.from).toBe(RANGE.from);
    expect(body.to).toBe(RANGE.to);
    // bus-1: 60 odometer steps of 50 m; bus-2: 40 haversine steps of 0.0001° (≈ 11.12 m), the 200 s gap adds nothing
    expect(body.distance_km).toBeCloseTo(km, 6);
    expect(body.distance_km).toBeCloseTo(3.444783, 5);
    expect(body.autonomous_distance_km).toBeCloseTo(EXPECTED_AUTONOMOUS_M / 1000, 6);
    expect(body.autonomous_share).toBeCloseTo(EXPECTED_AUTONOMOUS_M / EXPECTED_DISTANCE_M, 9);
    expect(body.autonomous_share).toBeCloseTo(0.709708, 5);
    // the takeover at T0 + 700 s (cause OTHER) is outside the range
    expect(body.takeovers).toBe(1);
    expect(body.takeovers_per_100km).toBeCloseTo((1 / km) * 100, 6);
    expect(body.takeovers_per_100km).toBeCloseTo(29.0294, 3);
    expect(body.takeovers_by_cause).toEqual({ PEDESTRIAN: 1 });
    // per cause, the same count / distance_km × 100 as the totals: 1 → 29.0294, 2 → 58.0588
    expect(Object.keys(body.takeovers_per_100km_by_cause)).toEqual(['PEDESTRIAN']);
    expect(body.takeovers_per_100km_by_cause.PEDESTRIAN).toBeCloseTo(29.0294, 3);
    expect(body.disengagements).toBe(3);
    expect(body.disengagements_per_100km).toBeCloseTo((3 / km) * 100, 6);
    expect(body.disengagements_by_cause).toEqual({ PARKED_VEHICLE: 2, LOCALIZATION: 1 });
    expect(Object.keys(body.disengagements_per_100km_by_cause).sort()).toEqual(['LOCALIZATION', 'PARKED_VEHICLE']);
    expect(body.disengagements_per_100km_by_cause.PARKED_VEHICLE).toBeCloseTo((2 / km) * 100, 6);
    expect(body.disengagements_per_100km_by_cause.PARKED_VEHICLE).toBeCloseTo(58.0588, 3);
    expect(body.disengagements_per_100km_by_cause.LOCALIZATION).toBeCloseTo(29.0294, 3);
    expect(body.emergency_stops).toBe(1);
    // 61 readings at 18 km/h, 42 at 36 km/h: mean 2610 / 103; p95 = rank ⌈0.95 · 103⌉ = 98 → 36
    expect(BUS1.length + BUS2.length).toBe(103);
    expect(body.speed_mean_kmh).toBeCloseTo(2610 / 103, 9);
    expect(body.speed_p95_kmh).toBeCloseTo(36, 9);
    // 10 whole minutes, all in the service window; bus-2 has nothing in minutes 6 and 7
    expect(body.availability).toBeCloseTo(0.8, 12);
    // RSRP −89…−80 (10 samples): ranks 1, 5, 10; SINR 10…20 (11): ranks 1, 6, 11; RTT 5…15 (11): ranks 6, 11
    expect(body.link).toEqual({
      rsrp_dbm: { p5: -89, p50: -85, p95: -80 },
      sinr_db: { p5: 10, p50: 15, p95: 20 },
      rtt_ms: { p50: 10, p95: 15 },
    });
    // 61 latencies of 100 ms, 42 of 300 ms: rank 52 → 100, rank 98 → 300
    expect(body.latency_ms).toEqual({ p50: 100, p95: 300 });
  });

  it('counts service-window minutes in the pilot time zone: 07:00–08:00 JST is outside, 08:00–09:00 inside without data', async () => {
    const { body } = await get(`/pilots/test-town/kpis?from=${T0 - 2 * 3_600_000}&to=${RANGE.to}`);
    expect(body.availability).toBeCloseTo(8 / 70, 12);
    expect(body.distance_km).toBeCloseTo(EXPECTED_DISTANCE_M / 1000, 6);
  });

  it('answers nulls, not zeros divided by zero, for a range without data', async () => {
    const { body } = await get(`/pilots/test-town/kpis?from=${T0 - 3_600_000}&to=${T0 - 1}`);
    expect(body).toMatchObject({
      distance_km: 0,
      autonomous_share: null,
      takeovers: 0,
      takeovers_per_100km: null,
      takeovers_by_cause: {},
      takeovers_per_100km_by_cause: null,
      disengagements_by_cause: {},
      disengagements_per_100km_by_cause: null,
      speed_mean_kmh: null,
      availability: 0,
      link: { rsrp_dbm: { p5: null, p50: null, p95: null } },
      latency_ms: { p50: null, p95: null },
    });
  });
});

describe('GET /pilots/:pilot/tracks', () => {
  it('returns every point when there are at most maxPoints', async () => {
    const { status, body } = await get(`/pilots/test-town/tracks?${range}`);
    expect(status).toBe(200);
    expect(body.tracks.map((tr: { source: string }) => tr.source)).toEqual(['bus-1', 'bus-2']);
    const [bus1, bus2] = body.tracks;
    expect(bus1.points).toHaveLength(61);
    expect(bus2.points).toHaveLength(42);
    expect(bus1.points[40]).toEqual({
      ts_ms: BUS1[40]!.t,
      lat: BUS1[40]!.lat,
      lon: 139.0733,
      speed_mps: 5,
      heading_deg: 0,
      mode: 'MANUAL',
    });
  });

  it('downsamples with GROUP BY time: the first reading of each bucket, stamped with the bucket start', async () => {
    // interval = ⌈600 000 / (11 − 1)⌉ = 60 000 ms: buckets at T0, T0 + 1 min, …, T0 + 10 min
    const { body } = await get(`/pilots/test-town/tracks?${range}&maxPoints=11`);
    const [bus1, bus2] = body.tracks;
    expect(bus1.points).toHaveLength(11);
    bus1.points.forEach((p: { ts_ms: number; lat: number }, k: number) => {
      expect(p.ts_ms).toBe(T0 + k * 60_000);
      expect(p.lat).toBe(BUS1[k * 6]!.lat);
    });
    // bus-2 has no reading in minutes 6 and 7; minute 8's first reading is at 500 s (i = 50)
    expect(bus2.points.map((p: { ts_ms: number }) => (p.ts_ms - T0) / 60_000)).toEqual([0, 1, 2, 3, 4, 5, 8, 9, 10]);
    expect(bus2.points[6].lat).toBe(BUS2.find((s) => s.t === T0 + 500_000)!.lat);
  });

  it('filters by source', async () => {
    const { body } = await get(`/pilots/test-town/tracks?${range}&source=bus-2`);
    expect(body.tracks.map((tr: { source: string }) => tr.source)).toEqual(['bus-2']);
    const bad = await get(`/pilots/test-town/tracks?${range}&source=bus-9`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('"source"');
  });
});

describe('GET /pilots/:pilot/links', () => {
  it('returns every link sample when there are at most maxPoints, RSRP null where the sample had none', async () => {
    const { status, body } = await get(`/pilots/test-town/links?${range}`);
    expect(status).toBe(200);
    expect(body.from).toBe(RANGE.from);
    expect(body.to).toBe(RANGE.to);
    // only bus-1 has link samples: k = 0…9 at 10·k s, k = 10 at 95 s
    expect(body.links.map((l: { source: string }) => l.source)).toEqual(['bus-1']);
    expect(body.links[0].points).toEqual(LINKS.map((l) => ({ ts_ms: l.t, rsrp_dbm: l.rsrp, sinr_db: l.sinr, rtt_ms: l.rtt })));
    expect(body.links[0].points[10]).toEqual({ ts_ms: T0 + 95_000, rsrp_dbm: null, sinr_db: 20, rtt_ms: 15 });
  });

  it('downsamples with GROUP BY time: the first sample of each bucket, stamped with the bucket start', async () => {
    // 11 samples > maxPoints 3: interval = ⌈100 000 / (3 − 1)⌉ = 50 000 ms, buckets at T0, T0 + 50 s, T0 + 100 s
    const { body } = await get(`/pilots/test-town/links?from=${T0}&to=${T0 + 100_000}&maxPoints=3`);
    expect(body.links[0].points).toEqual([
      // k = 0 (0 s) opens the first bucket, k = 5 (50 s) the second; the third holds nothing
      { ts_ms: T0, rsrp_dbm: -80, sinr_db: 10, rtt_ms: 5 },
      { ts_ms: T0 + 50_000, rsrp_dbm: -85, sinr_db: 15, rtt_ms: 10 },
    ]);
    // 0…90 s holds k = 0…9 (10 samples) > 4: interval = ⌈90 000 / 3⌉ = 30 000 ms, four buckets, each opened by k = 0, 3, 6, 9
    const four = await get(`/pilots/test-town/links?from=${T0}&to=${T0 + 90_000}&maxPoints=4`);
    expect(four.body.links[0].points).toEqual(
      [0, 3, 6, 9].map((k) => ({ ts_ms: T0 + k * 10_000, rsrp_dbm: -80 - k, sinr_db: 10 + k, rtt_ms: 5 + k })),
    );
  });

  it('filters by source; an unknown one is a 400', async () => {
    expect((await get(`/pilots/test-town/links?${range}&source=bus-2`)).body.links).toEqual([]);
    expect((await get(`/pilots/test-town/links?${range}&source=bus-1`)).body.links).toHaveLength(1);
    const bad = await get(`/pilots/test-town/links?${range}&source=bus-9`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('"source"');
  });

  it("gives a delayed viewer the samples up to now − 30 s under the vehicle's alias", async () => {
    // other-town (publicHideIds, 30 s delay): robot-1's samples at now − 50 s and now − 10 s
    const now = Date.now();
    const samples = [
      { ago: 50_000, rsrp: -95, sinr: 8, rtt: 12 },
      { ago: 10_000, rsrp: -101, sinr: 3, rtt: 30 },
    ];
    await t.influx.write(
      samples.map(
        (l, i) =>
          `link_sample,cell=001-01:0x0000b1,pilot=other-town,source=robot-1 pci=7i,band="n79",rsrp_dbm=${l.rsrp},sinr_db=${l.sinr},rtt_ms=${l.rtt},seq=${200 + i}i,gateway="gw-other",recv_ms=${now - l.ago + 50}i ${now - l.ago}`,
      ),
    );
    const q = `from=${now - 120_000}&to=${now + 60_000}`;
    const viewer = await apiGet(t.cloud, `/pilots/other-town/links?${q}`, TOKENS.otherViewer);
    expect(viewer.status).toBe(200);
    expect(viewer.body.links).toEqual([{ source: 'vehicle-1', points: [{ ts_ms: now - 50_000, rsrp_dbm: -95, sinr_db: 8, rtt_ms: 12 }] }]);
    expect((await apiGet(t.cloud, `/pilots/other-town/links?${q}&source=vehicle-1`, TOKENS.otherViewer)).body.links).toHaveLength(1);
    expect((await apiGet(t.cloud, `/pilots/other-town/links?${q}&source=robot-1`, TOKENS.otherViewer)).status).toBe(400);
    // a range entirely after now − 30 s holds nothing for the viewer
    expect((await apiGet(t.cloud, `/pilots/other-town/links?from=${now - 20_000}&to=${now}`, TOKENS.otherViewer)).body.links).toEqual([]);
    const operator = await get(`/pilots/other-town/links?${q}`);
    expect(operator.body.links).toEqual([
      {
        source: 'robot-1',
        points: samples.map((l) => ({ ts_ms: now - l.ago, rsrp_dbm: l.rsrp, sinr_db: l.sinr, rtt_ms: l.rtt })),
      },
    ]);
  });
});

describe('GET /pilots/:pilot/events', () => {
  const times = (body: { events: { ts_ms: number }[] }) => body.events.map((e) => (e.ts_ms - T0) / 1000);

  it('lists the events in the range newest first, with every field', async () => {
    const { body } = await get(`/pilots/test-town/events?${range}`);
    expect(times(body)).toEqual([450, 400, 260, 250, 200, 100]);
    expect(body.events[4]).toEqual({
      ts_ms: T0 + 200_000,
      source: 'bus-1',
      type: 'DISENGAGEMENT',
      cause: 'PARKED_VEHICLE',
      severity: 'WARNING',
      lat: 36.384,
      lon: 139.0733,
      detail: 'van in the bus bay',
      duration_ms: 8000,
      geofence_id: null,
    });
    expect(body.events[5]).toMatchObject({ type: 'GEOFENCE_EXIT', geofence_id: 'gf-op', detail: null, duration_ms: null });
  });

  it('filters by type, source and severity, and limits', async () => {
    expect(times((await get(`/pilots/test-town/events?${range}&type=DISENGAGEMENT`)).body)).toEqual([260, 250, 200]);
    expect(times((await get(`/pilots/test-town/events?${range}&type=TAKEOVER,EMERGENCY_STOP`)).body)).toEqual([450, 400]);
    expect(times((await get(`/pilots/test-town/events?${range}&source=bus-1`)).body)).toEqual([450, 400, 200]);
    expect(times((await get(`/pilots/test-town/events?${range}&severity=CRITICAL`)).body)).toEqual([450]);
    expect(times((await get(`/pilots/test-town/events?${range}&limit=2`)).body)).toEqual([450, 400]);
    expect(times((await get(`/pilots/test-town/events?from=${T0}&to=${T0 + 800_000}&type=TAKEOVER`)).body)).toEqual([700, 400]);
  });

  it('refuses an unknown type with 400 naming the parameter and the accepted values', async () => {
    const { status, body } = await get(`/pilots/test-town/events?${range}&type=CRASH`);
    expect(status).toBe(400);
    expect(body.error.code).toBe('MICHI_ERR_BAD_REQUEST');
    expect(body.error.message).toContain('"type"');
    expect(body.error.message).toContain('TAKEOVER');
    expect(body.error.message).toContain('"CRASH"');
  });
});

describe('GET /pilots/:pilot/coverage', () => {
  it('bins link samples into H3 cells with counts and means', async () => {
    const { status, body } = await get(`/pilots/test-town/coverage?${range}&res=9`);
    expect(status).toBe(200);
    expect(body.resolution).toBe(9);
    const south = latLngToCell(SOUTH.lat, SOUTH.lon, 9);
    const north = latLngToCell(NORTH.lat, NORTH.lon, 9);
    expect(south).not.toBe(north);
    const byCell = Object.fromEntries(body.cells.map((c: { h3: string }) => [c.h3, c]));
    expect(body.cells).toHaveLength(2);
    // south: k = 0…4 → RSRP −80…−84, SINR 10…14, RTT 5…9
    expect(byCell[south]).toEqual({
      h3: south,
      lat: cellToLatLng(south)[0],
      lon: cellToLatLng(south)[1],
      samples: 5,
      rsrp_dbm_mean: -82,
      sinr_db_mean: 12,
      rtt_ms_mean: 7,
    });
    // north: k = 5…10 (k = 10 has no RSRP) → RSRP −85…−89, SINR 15…20, RTT 10…15
    expect(byCell[north]).toMatchObject({ samples: 6, rsrp_dbm_mean: -87, sinr_db_mean: 17.5, rtt_ms_mean: 12.5 });
  });

  it('puts both places into one cell at a coarse resolution', async () => {
    const { body } = await get(`/pilots/test-town/coverage?${range}&res=5`);
    expect(body.cells).toHaveLength(1);
    expect(body.cells[0].samples).toBe(11);
    const bad = await get(`/pilots/test-town/coverage?${range}&res=16`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/"res": expected an integer from 0 to 15/);
  });
});

describe('GET /pilots/:pilot/completeness', () => {
  it('finds the gaps in each source’s sequence numbers over all kinds of reading', async () => {
    const { status, body } = await get(`/pilots/test-town/completeness?${range}`);
    expect(status).toBe(200);
    expect(body.sources).toEqual([
      // states 1…61, links 62…72, events 73…75 (76 is outside the range)
      {
        source: 'bus-1',
        kind: 'vehicle',
        received: 75,
        first_seq: 1,
        last_seq: 75,
        expected: 75,
        missing: 0,
        gaps: [],
        last_ts_ms: T0 + 600_000,
        last_recv_ms: T0 + 600_100,
        // the newest reading (the state at 600 s) arrived 100 ms after it was taken; nothing arrives now
        lag_ms: 100,
        backlog_last_minute: 0,
        draining: false,
      },
      // states 1…31 and 51…61, events 100…102
      {
        source: 'bus-2',
        kind: 'vehicle',
        received: 45,
        first_seq: 1,
        last_seq: 102,
        expected: 102,
        missing: 57,
        gaps: [
          { from_seq: 32, to_seq: 50 },
          { from_seq: 62, to_seq: 99 },
        ],
        last_ts_ms: T0 + 600_000,
        last_recv_ms: T0 + 600_300,
        lag_ms: 300,
        backlog_last_minute: 0,
        draining: false,
      },
      {
        source: 'lidar-1',
        kind: 'sensor',
        received: 1,
        first_seq: 5,
        last_seq: 5,
        expected: 1,
        missing: 0,
        gaps: [],
        last_ts_ms: T0 + 30_000,
        last_recv_ms: T0 + 30_100,
        lag_ms: 100,
        backlog_last_minute: 0,
        draining: false,
      },
    ]);
  });

  it('tells a backlog still draining from live readings: readings received in the last minute, taken two minutes or more before', async () => {
    // bus-2 after an outage, relative to now (the API's clock, a few ms later): its edge sends live
    // readings ahead of the backlog, so the newest reading shows a small lag while older ones still arrive.
    const now = Date.now();
    const reading = (seq: number, agoMs: number, recvAgoMs: number): FixtureState => ({
      ...BUS2[0]!,
      seq,
      t: now - agoMs,
      recv: now - recvAgoMs,
    });
    await t.influx.write(
      [
        reading(1001, 1_200_000, 600_000), // backlog that arrived ten minutes ago: drained, not counted
        reading(1002, 600_000, 20_000), // backlog arriving now: counted
        reading(1003, 540_000, 10_000), // backlog arriving now: counted
        reading(1004, 5_000, 4_900), // live, taken less than two minutes ago: not counted; the newest reading, 100 ms lag
      ].map((s) => stateLine(s)),
    );
    const { status, body } = await get(`/pilots/test-town/completeness?from=${now - 3_600_000}&to=${now + 60_000}`);
    expect(status).toBe(200);
    const bySource = Object.fromEntries(body.sources.map((s: { source: string }) => [s.source, s]));
    expect(bySource['bus-2']).toMatchObject({
      received: 4,
      missing: 0,
      last_ts_ms: now - 5_000,
      last_recv_ms: now - 4_900,
      lag_ms: 100,
      backlog_last_minute: 2,
      draining: true,
    });
    // nothing in the range: no lag, nothing draining
    expect(bySource['bus-1']).toMatchObject({ received: 0, lag_ms: null, backlog_last_minute: 0, draining: false });
  });
});

describe('GET /pilots/:pilot/sensors and /vehicles', () => {
  it("shows each sensor's last counts and measures", async () => {
    const { body } = await get('/pilots/test-town/sensors');
    expect(body.sensors).toEqual([
      {
        id: 'lidar-1',
        kind: 'lidar',
        name: { ja: 'LiDAR 1', en: 'LiDAR 1' },
        position: [139.0731, 36.386],
        latest: { ts_ms: T0 + 30_000, counts: { pedestrians: 3, vehicles: 12 }, measures: { queue_length_m: 35.5 } },
      },
    ]);
  });

  it('shows the latest state rebuilt from InfluxDB at start-up', async () => {
    const { body } = await get('/pilots/test-town/vehicles');
    expect(body.vehicles[0].state).toEqual({
      ts_ms: T0 + 600_000,
      recv_ms: T0 + 600_100,
      seq: 61,
      lat: BUS1[60]!.lat,
      lon: 139.0733,
      speed_mps: 5,
      heading_deg: 0,
      mode: 'MANUAL',
      battery_pct: 80,
      // the newest link sample (fixture LINKS, k = 10): no RSRP
      link: { ts_ms: T0 + 95_000, cell: '001-01:0x0000a1', pci: 101, band: 'n79', rsrp_dbm: null, sinr_db: 20, rtt_ms: 15 },
    });
  });
});

describe('query parameters', () => {
  it.each([
    ['from=yesterday', '"from": expected from as ms since the epoch'],
    [`from=${T0 + 1}&to=${T0}`, '"from": expected at most "to"'],
    [`from=0&to=${T0}`, 'at most 31 days'],
    ['maxPoints=1', '"maxPoints": expected an integer from 2 to 20000, got "1"'],
    ['maxPoints=2.5', '"maxPoints"'],
  ])('refuses %s with 400 naming the parameter', async (query, message) => {
    const { status, body } = await get(`/pilots/test-town/tracks?${query}`);
    expect(status).toBe(400);
    expect(body.error.code).toBe('MICHI_ERR_BAD_REQUEST');
    expect(body.error.message).toContain(message);
  });
});
