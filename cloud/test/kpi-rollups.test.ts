// Long-range KPIs from rollups against the raw computation, on a real InfluxDB: 3 buses at 1 Hz over
// 4 hours of the day before yesterday ingested over MQTT (bus-2 silent from 02:00 to 03:30, an outage), the rollup
// job settles, and KPIs over ranges with partial hours at both ends, a whole day and ranges
// crossing days equal the raw computation. Then bus-2's buffered readings land late, through a
// cloud whose job never settles and is stopped (its dirty marks are lost); a restarted cloud finds
// them from the rollup progress, and that day's figures change by exactly what the backfill adds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSeeds, type Kpis, type Pilot } from '@michi/proto';
import { startInfluxDb, waitFor, type InfluxHandle } from '../../scripts/test-support/index.js';
import { startCloud, type CloudService } from '../src/cloud-service.js';
import { InfluxHttp } from '../src/influx-http.js';
import { InfluxQuery } from '../src/influx-query.js';
import { planKpiPieces, queryKpis } from '../src/queries/kpi-query.js';
import { haversineM } from '../src/queries/stats.js';
import { apiGet } from './fixtures/api-support.js';
import { FLEET, busReadings, type FleetReading } from './fixtures/rollup-fleet.js';
import { API_TOKENS, FIXTURE_SEEDS, batch, cloudConfig, connectGateway, publishBatch, testLogger, topicOf } from './support.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;
/**
 * The day before yesterday, 00:00 UTC (09:00 in the pilot's Asia/Tokyo, inside its 08:00–19:00
 * service window): no range of the test reaches the last minutes, which are read raw until settled.
 */
const DAY0 = Math.floor((Date.now() - 2 * DAY) / DAY) * DAY;
const HOURS = 4;
/** bus-2's readings taken in [from, to) arrive late. */
const OUTAGE = { source: 'bus-2', from: DAY0 + 2 * HOUR, to: DAY0 + 3.5 * HOUR };

const base = loadSeeds(FIXTURE_SEEDS).find((p) => p.id === 'test-town')!;
const PILOT: Pilot = { ...base, vehicles: [...base.vehicles, { ...base.vehicles[0]!, id: 'bus-3', name: { ja: 'バス3号', en: 'Bus 3' } }] };

const readings: FleetReading[] = FLEET.flatMap((bus, i) => [...busReadings(bus, DAY0, HOURS * 3600, i)]);
const late = (r: FleetReading): boolean => r.source === OUTAGE.source && r.ts >= OUTAGE.from && r.ts < OUTAGE.to;

let influx: InfluxHandle;
let raw: InfluxQuery;
let cloud: CloudService | undefined;

function start(settleMs: number): Promise<CloudService> {
  return startCloud(cloudConfig(influx.url, { rollups: { settleMs, tickMs: 50, maxHoursPerTick: 6 } }), {
    logger: testLogger,
    pilots: [PILOT],
  });
}

async function ingest(c: CloudService, list: readonly FleetReading[]): Promise<void> {
  for (const gateway of ['gw-a', 'gw-b']) {
    const client = await connectGateway(c.mqttPort, gateway);
    const items = list.filter((r) => r.gateway === gateway).map((r) => r.item);
    for (let i = 0; i < items.length; i += 500)
      await publishBatch(client, topicOf(gateway), batch(gateway, items.slice(i, i + 500), i + 1));
    await client.endAsync();
  }
}

/** Until the job has read its progress and recomputed every marked hour. */
async function settled(c: CloudService): Promise<void> {
  await waitFor(() => c.rollups!.since() !== null && c.rollups!.pending === 0, { timeoutMs: 60_000, what: 'rollups settled' });
}

async function apiKpis(c: CloudService, from: number, to: number): Promise<Kpis> {
  const { status, body } = await apiGet(c, `/pilots/test-town/kpis?from=${from}&to=${to}`, API_TOKENS.operator);
  expect(status, JSON.stringify(body)).toBe(200);
  return body as Kpis;
}

/** Every figure equal, numbers up to floating-point rounding (the sums are added in another order). */
function expectSameKpis(actual: unknown, expected: unknown, path = 'kpis'): void {
  if (typeof expected === 'number') {
    expect(typeof actual, path).toBe('number');
    expect(Math.abs((actual as number) - expected), `${path}: ${String(actual)} vs ${expected}`).toBeLessThanOrEqual(
      1e-9 * Math.max(1, Math.abs(expected)),
    );
  } else if (expected === null || typeof expected !== 'object') {
    expect(actual, path).toBe(expected);
  } else {
    expect(Object.keys(actual as object).sort(), path).toEqual(Object.keys(expected).sort());
    for (const [k, v] of Object.entries(expected)) expectSameKpis((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
  }
}

const RANGES = {
  partialHours: [DAY0 + 17 * 60_000 + 23_456, DAY0 + 3 * HOUR + 41 * 60_000 + 7_891],
  wholeDay: [DAY0, DAY0 + DAY - 1],
  acrossDays: [DAY0 - 5 * HOUR + 12_345, DAY0 + DAY + 3 * HOUR + 999],
  insideOneHour: [DAY0 + HOUR + 5_000, DAY0 + HOUR + 2_000_000],
  // Starts on the hour: the segment from each bus's reading before it is outside the range.
  fromOnTheHour: [DAY0 + 2 * HOUR, DAY0 + 3 * HOUR + 1_800_000],
} as const;

beforeAll(async () => {
  influx = await startInfluxDb();
  raw = new InfluxQuery(new InfluxHttp({ url: influx.url, database: influx.database, timeoutMs: 30_000 }));
  cloud = await start(200);
  await ingest(
    cloud,
    readings.filter((r) => !late(r)),
  );
  await settled(cloud);
}, 180_000);

afterAll(async () => {
  await cloud?.close();
  await influx?.stop();
});

describe('KPIs from rollups', () => {
  it('equal the raw computation for ranges with partial hours at both ends, a whole day and ranges across days', async () => {
    const pieces = Object.fromEntries(
      Object.entries(RANGES).map(([name, [from, to]]) => [name, planKpiPieces(from, to, cloud!.rollups, PILOT.id).map((p) => p.kind)]),
    );
    // The rollups are really used: hours inside a day, a whole day, raw only at the ends.
    expect(pieces['partialHours']).toEqual(['raw', 'hour', 'raw']);
    expect(pieces['wholeDay']).toEqual(['day']);
    expect(pieces['acrossDays']).toEqual(['raw', 'hour', 'day', 'hour', 'raw']);
    expect(pieces['insideOneHour']).toEqual(['raw']);
    expect(pieces['fromOnTheHour']).toEqual(['hour', 'raw']);
    for (const [name, [from, to]] of Object.entries(RANGES)) {
      const expected = await queryKpis(raw, PILOT, from, to);
      expectSameKpis(await apiKpis(cloud!, from, to), expected, name);
    }
    const day = await queryKpis(raw, PILOT, ...RANGES.wholeDay);
    // A fixture that exercises every figure.
    expect(day.distance_km).toBeGreaterThan(250);
    expect(day.autonomous_share).toBeGreaterThan(0.5);
    expect(day.autonomous_share).toBeLessThan(1);
    expect(day.takeovers).toBeGreaterThan(3);
    expect(Object.keys(day.disengagements_by_cause).length).toBeGreaterThan(1);
    expect(day.emergency_stops).toBe(3);
    // 660 service-window minutes in the UTC day (00:00–10:00 and 23:00–24:00); all three buses
    // reported in the 240 minutes of the fixture but the 90 of bus-2's outage and the 2 whole
    // minutes of each bus's 150 s silence.
    expect(day.availability).toBe(144 / 660);
    expect(day.link.rsrp_dbm.p50).not.toBeNull();
  });

  it('stay equal after a late backfill: found again after a restart, the day changes by exactly what it adds', async () => {
    const before = await apiKpis(cloud!, ...RANGES.wholeDay);
    await cloud!.close();
    // What survives a restart: the cloud's progress point. Its start is set to a value of our own,
    // which the restarted clouds must read back rather than start afresh.
    const [progress, ...others] = await influx.rows('SELECT * FROM rollup_progress', { epoch: 'ms' });
    expect(others).toEqual([]);
    expect(progress).toMatchObject({ time: 0, instance: 'cloud' });
    expect(Date.now() - Number(progress!['watermark_ms'])).toBeLessThan(5 * 60_000);
    const since = DAY0 - 3 * DAY;
    await influx.write(`rollup_progress,instance=cloud watermark_ms=${Number(progress!['watermark_ms'])}i,since_ms=${since}i 0`);
    // A cloud whose job does not settle in time takes the backfill, and stops with its marks in memory.
    cloud = await start(3_600_000);
    await ingest(cloud, readings.filter(late));
    // Its start recomputes what the previous cloud may have left (rollups/rollup-job.ts); what it cannot get to are the backfill's hours.
    const backfillHours = [DAY0 + 2 * HOUR, DAY0 + 3 * HOUR];
    await waitFor(() => [...cloud!.rollups!.pendingHours(PILOT.id)].sort().join() === backfillHours.join(), {
      what: 'only the backfill pending',
    });
    expect(cloud.rollups!.since()).toBe(since);
    // Meanwhile the hours being recomputed are read raw.
    expectSameKpis(await apiKpis(cloud, ...RANGES.wholeDay), await queryKpis(raw, PILOT, ...RANGES.wholeDay), 'pending');
    await cloud.close();

    cloud = await start(200);
    await settled(cloud);
    expect(cloud.rollups!.since()).toBe(since);
    expect(planKpiPieces(...RANGES.wholeDay, cloud.rollups, PILOT.id).map((p) => p.kind)).toEqual(['day']);
    for (const [name, [from, to]] of Object.entries(RANGES)) {
      expectSameKpis(await apiKpis(cloud, from, to), await queryKpis(raw, PILOT, from, to), name);
    }

    const after = await apiKpis(cloud, ...RANGES.wholeDay);
    const backfill = readings.filter(late);
    const count = (type: number) => backfill.filter((r) => r.item.event?.type === type).length;
    expect(after.takeovers - before.takeovers).toBe(count(1));
    expect(after.disengagements - before.disengagements).toBe(count(2));
    expect(after.availability).toBe(234 / 660);
    // bus-2 has no odometer: the 90-minute gap added nothing; now its readings and the segments
    // into and out of the backfill do (haversine of consecutive positions, each ≤ 60 s apart).
    const bus2 = readings
      .filter((r) => r.source === 'bus-2' && r.item.state && r.ts > OUTAGE.from - 1_000 && r.ts < OUTAGE.to + 1_000)
      .map((r) => r.item.state!.position!);
    let added = 0;
    for (let i = 1; i < bus2.length; i++) added += haversineM(bus2[i - 1]!.lat!, bus2[i - 1]!.lon!, bus2[i]!.lat!, bus2[i]!.lon!);
    expect(after.distance_km - before.distance_km).toBeCloseTo(added / 1000, 9);
    expect(added).toBeGreaterThan(30_000);
  }, 180_000);
});
