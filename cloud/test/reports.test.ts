// The report a municipality files (GET /pilots/:pilot/report), against a real InfluxDB holding
// three local days of test-town (Asia/Tokyo) in which bus-1 drives across two midnights and has
// takeovers of two causes: each day's row equals GET /kpis of that day, the totals equal GET /kpis of
// the whole range, the CSV (parsed back by an RFC 4180 parser below) starts with a byte order mark
// and carries the same figures under Japanese or English headings, and a viewer of a pilot that
// hides ids gets a report that ends at now − the pilot's delay and names no vehicle. A range over
// api.limits.maxRows gets totals combined from its days.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPORT_COLUMNS, type Kpis, type Report } from '@michi/proto';
import { stateLine } from './fixtures/api-fixture.js';
import { waitFor } from '../../scripts/test-support/index.js';
import { TOKENS, apiGet, startApiTestCloud, type ApiTestCloud } from './fixtures/api-support.js';

const S = 1_000;
const HOUR = 3_600 * S;
const JST = 9 * HOUR;
/** 00:00 JST of 2026-10-14, 15, 16 and 17. */
const DAY = [0, 1, 2, 3].map((d) => Date.UTC(2026, 9, 14 + d) - JST);
const RANGE = { from: DAY[0]!, to: DAY[3]! - 1 };

/**
 * bus-1 drives 22:30–01:30 JST from the 14th to the 15th and again from the 15th to the 16th, a
 * reading every 10 s, 50 m each (odometer), AUTONOMOUS except for its first 20 minutes of each
 * drive; so each midnight falls between two readings, and the 50 m segment across it belongs to no
 * day but to the whole range.
 */
function drives(): string[] {
  const lines: string[] = [];
  // One sequence number per reading of every kind, in time order, as a vehicle numbers them.
  let seq = 1;
  let odometer = 10_000;
  const events = [
    { t: DAY[1]! - 40 * 60 * S, type: 'TAKEOVER', cause: 'PEDESTRIAN' }, // 23:20 on the 14th
    { t: DAY[1]! + 30 * 60 * S, type: 'TAKEOVER', cause: 'PARKED_VEHICLE' }, // 00:30 on the 15th
    { t: DAY[2]! + 10 * 60 * S, type: 'TAKEOVER', cause: 'PEDESTRIAN' }, // 00:10 on the 16th
    { t: DAY[2]! + 11 * 60 * S, type: 'EMERGENCY_STOP', cause: 'PEDESTRIAN' },
    { t: DAY[2]! + 50 * 60 * S, type: 'DISENGAGEMENT', cause: 'LOCALIZATION' },
  ];
  for (const start of [DAY[1]! - 90 * 60 * S + 5 * S, DAY[2]! - 90 * 60 * S + 5 * S]) {
    for (let i = 0; i <= 3 * 360; i++) {
      const t = start + i * 10 * S;
      while (events[0] && events[0].t <= t) {
        const e = events.shift()!;
        lines.push(
          `event,pilot=test-town,source=bus-1 type="${e.type}",cause="${e.cause}",severity="WARNING",detail="driver note",seq=${seq++}i,gateway="gw-a",recv_ms=${e.t + 100}i ${e.t}`,
        );
      }
      lines.push(
        stateLine({
          source: 'bus-1',
          t,
          seq: seq++,
          lat: 36.38 + (i % 100) * 0.0001,
          lon: 139.07,
          speed: 5,
          heading: 0,
          mode: i < 120 ? 'MANUAL' : 'AUTONOMOUS',
          odometer: (odometer += 50),
          recv: t + 200,
        }),
      );
      if (i % 3 === 0) {
        lines.push(
          `link_sample,cell=001-01:0x0000a1,pilot=test-town,source=bus-1 pci=101i,band="n79",rsrp_dbm=${-85 - (i % 7)},sinr_db=${12 + (i % 5)},rtt_ms=${8 + (i % 4)},seq=${seq++}i,gateway="gw-a",recv_ms=${t + 100}i ${t + 1}`,
        );
      }
    }
  }
  return lines;
}

/** RFC 4180: fields separated by commas, records by CRLF, quoted fields may hold commas, CRLF and "" for a quote. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c !== '"') field += c;
      else if (text[i + 1] === '"') {
        field += '"';
        i++;
      } else quoted = false;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else if (c === '\r' || c === '\n') throw new Error(`a bare line break at ${i}: records end with CRLF`);
    else field += c;
  }
  if (field !== '' || record.length > 0) throw new Error('the last record does not end with CRLF');
  return records;
}

let t: ApiTestCloud;

beforeAll(async () => {
  t = await startApiTestCloud({}, {}, { freezeClock: true });
  await t.influx.write(drives());
});

afterAll(async () => {
  await t?.close();
});

const range = `from=${RANGE.from}&to=${RANGE.to}`;

async function report(query: string, token: string = TOKENS.operator, pilot = 'test-town'): Promise<Report> {
  const { status, body } = await apiGet(t.cloud, `/pilots/${pilot}/report?${query}`, token);
  expect(status, JSON.stringify(body)).toBe(200);
  return body as Report;
}

async function kpis(from: number, to: number, token: string = TOKENS.operator, pilot = 'test-town'): Promise<Kpis> {
  const { status, body } = await apiGet(t.cloud, `/pilots/${pilot}/kpis?from=${from}&to=${to}`, token);
  expect(status).toBe(200);
  return body as Kpis;
}

/** Where GET /kpis has a figure of a report row: the same name, or a link percentile (rsrp_dbm_p50 → link.rsrp_dbm.p50). */
function kpiPath(column: string): string[] {
  const link = /^(rsrp_dbm|sinr_db|rtt_ms)_(p\d+)$/.exec(column);
  return link ? ['link', link[1]!, link[2]!] : [column];
}

/** A report row's figures (all but the date and the readings, which /completeness counts) as GET /kpis gives them. */
function asRow(k: Kpis): Record<string, unknown> {
  const columns = REPORT_COLUMNS.filter((c) => c !== 'date' && !c.startsWith('readings_'));
  return Object.fromEntries(columns.map((c) => [c, kpiPath(c).reduce<unknown>((v, key) => (v as Record<string, unknown>)[key], k)]));
}

describe('the report of three local days (Asia/Tokyo)', () => {
  it('has a row per local day equal to the KPIs of that day, and totals equal to the KPIs of the range', async () => {
    const r = await report(range);
    expect(r.days.map((d) => d.date)).toEqual(['2026-10-14', '2026-10-15', '2026-10-16']);
    expect(r.days.map((d) => [d.from, d.to])).toEqual([
      [DAY[0], DAY[1]! - 1],
      [DAY[1], DAY[2]! - 1],
      [DAY[2], DAY[3]! - 1],
    ]);
    for (const day of r.days) expect(day, day.date).toMatchObject(asRow(await kpis(day.from, day.to)));
    const whole = await kpis(RANGE.from, RANGE.to);
    expect(r.totals_exact).toBe(true);
    expect(r.totals).toMatchObject(asRow(whole));

    // What the fixture holds, worked out by hand: 90 min before and 90 min after each midnight.
    // 14th: 22:30:05…23:59:55, 540 readings, 539 segments; 16th: 00:00:05…01:30:05, 541 readings, 540
    // segments; 15th: both (540 + 539) and the odometer's 50 m between the two drives.
    expect(r.days.map((d) => Math.round(d.distance_km * 1000))).toEqual([539 * 50, 1080 * 50, 540 * 50]);
    // The two segments across midnight count in the range, in no day.
    expect(r.totals.distance_km * 1000).toBeCloseTo((539 + 1080 + 540 + 2) * 50, 6);
    expect(r.days.map((d) => d.takeovers)).toEqual([1, 1, 1]);
    expect(r.days.map((d) => d.emergency_stops)).toEqual([0, 0, 1]);
    expect(r.totals.takeovers).toBe(3);
    expect(r.takeovers_by_cause.map((c) => [c.cause, c.count])).toEqual([
      ['PEDESTRIAN', 2],
      ['PARKED_VEHICLE', 1],
    ]);
    expect(r.takeovers_by_cause[0]!.per_100km).toBeCloseTo(whole.takeovers_per_100km_by_cause!['PEDESTRIAN']!, 9);
    expect(r.disengagements_by_cause.map((c) => [c.cause, c.count])).toEqual([['LOCALIZATION', 1]]);
    // Every reading's seq is there, numbered in time order: received = expected = 2 × 1081 states
    // + 2 × 361 link samples + 5 events, each day's too; the totals are the days' sums.
    expect(r.totals.readings_received).toBe(2 * 1081 + 2 * 361 + 5);
    expect(r.totals.readings_expected).toBe(r.totals.readings_received);
    for (const day of r.days) expect(day.readings_expected, day.date).toBe(day.readings_received);
    expect(r.days.reduce((n, d) => n + d.readings_received, 0)).toBe(r.totals.readings_received);
  });

  it.each([
    ['ja', '合計', '歩行者', '路上駐車車両', '走行距離 (km)', 'テイクオーバーの要因'],
    ['en', 'Total', 'Pedestrian', 'Parked vehicle', 'Distance (km)', 'Takeovers by cause'],
  ] as const)(
    'as CSV in %s: a BOM, RFC 4180, the figures of the JSON under headings in that language',
    async (lang, total, pedestrian, parked, distance, takeoversByCause) => {
      const res = await fetch(`${t.cloud.url}/api/v1/pilots/test-town/report?${range}&lang=${lang}&format=csv`, {
        headers: { authorization: `Bearer ${TOKENS.operator}` },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(res.headers.get('content-disposition')).toBe(
        `attachment; filename="michi-report-test-town-2026-10-14-2026-10-16-${lang}.csv"`,
      );
      const bytes = new Uint8Array(await res.arrayBuffer());
      expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
      const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
      const records = parseCsv(text.slice(1));
      const json = await report(`${range}&lang=${lang}`);

      const headingAt = records.findIndex((r) => r[0] === json.columns[0]!.label && r[1] === distance);
      expect(headingAt).toBeGreaterThan(0);
      expect(records[headingAt]).toEqual(json.columns.map((c) => c.label));
      expect(records[1]![1]).toContain('(test-town)');
      const rows = records.slice(headingAt + 1, headingAt + 5);
      expect(rows.map((r) => r[0])).toEqual(['2026-10-14', '2026-10-15', '2026-10-16', total]);
      const col = (key: (typeof REPORT_COLUMNS)[number]) => REPORT_COLUMNS.indexOf(key);
      for (const [i, figures] of [...json.days, json.totals].entries()) {
        const row = rows[i]!;
        expect(row.length).toBe(REPORT_COLUMNS.length);
        expect(Number(row[col('distance_km')])).toBeCloseTo(figures.distance_km, 3);
        expect(Number(row[col('autonomous_share')])).toBeCloseTo(figures.autonomous_share! * 100, 1);
        expect(Number(row[col('takeovers')])).toBe(figures.takeovers);
        expect(Number(row[col('rsrp_dbm_p5')])).toBeCloseTo(figures.rsrp_dbm_p5!, 1);
        expect(Number(row[col('readings_received')])).toBe(figures.readings_received);
        // No service minute of the fixture's nights (08:00–19:00): availability is 0 %, written as "0.0".
        expect(row[col('availability')]).toBe('0.0');
      }
      const causes = records.findIndex((r) => r[0] === takeoversByCause);
      expect(causes).toBe(headingAt + 6);
      expect(records.slice(causes + 2, causes + 5).map((r) => r.slice(0, 2))).toEqual([[pedestrian, '2'], [parked, '1'], ['']]);
    },
  );

  it('without a range: last month in the pilot’s time zone', async () => {
    const r = await report('');
    const now = new Date(Date.now() + JST);
    const expectedFrom = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1) - JST;
    const expectedTo = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1) - JST - 1;
    expect([r.from, r.to]).toEqual([expectedFrom, expectedTo]);
    expect(r.days[0]!.date.endsWith('-01')).toBe(true);
    expect(r.days.length).toBe(Math.round((expectedTo + 1 - expectedFrom) / 86_400_000));
  });

  it('refuses a bad language, format or range with a 400 naming the parameter', async () => {
    for (const [query, param] of [
      ['lang=fr', 'lang'],
      ['format=xlsx', 'format'],
      [`from=${RANGE.to}&to=${RANGE.from}`, 'from'],
      [`from=${RANGE.from}&to=${RANGE.from + 40 * 86_400_000}`, 'from'],
    ]) {
      const { status, body } = await apiGet(t.cloud, `/pilots/test-town/report?${query}`, TOKENS.operator);
      expect(status, query).toBe(400);
      expect(body.error.message).toContain(`"${param}"`);
    }
  });
});

describe('viewers: the municipality reads the report, privacy-filtered', () => {
  it('a viewer of a pilot that hides ids gets its report ending at now − the delay, naming no vehicle', async () => {
    // other-town's robot-1 reported at now − 60, 40, 20 and 5 s; the viewer's delay is 30 s (the cloud's clock stands still).
    const from = t.now - 120 * S;
    const to = t.now + 60 * S;
    const viewer = await report(`from=${from}&to=${to}`, TOKENS.otherViewer, 'other-town');
    const operator = await report(`from=${from}&to=${to}`, TOKENS.operator, 'other-town');
    expect(viewer.totals).toMatchObject(asRow(await kpis(from, to, TOKENS.otherViewer, 'other-town')));
    expect(viewer.totals.distance_km).toBeGreaterThan(0);
    expect(viewer.totals.distance_km).toBeLessThan(operator.totals.distance_km);
    expect(viewer.totals.readings_received).toBe(2);
    expect(operator.totals.readings_received).toBe(4);

    const csv = await apiGet(t.cloud, `/pilots/other-town/report?from=${from}&to=${to}&format=csv&lang=en`, TOKENS.otherViewer);
    expect(csv.status).toBe(200);
    expect(csv.body).not.toContain('robot-1');
    expect(JSON.stringify(viewer)).not.toContain('robot-1');
  });

  it('a viewer gets no report of a pilot outside its token (403), nor does a request without a token (401)', async () => {
    expect((await apiGet(t.cloud, `/pilots/test-town/report?${range}`, TOKENS.otherViewer)).status).toBe(403);
    expect((await apiGet(t.cloud, `/pilots/test-town/report?${range}`)).status).toBe(401);
  });
});

describe('a range over api.limits.maxRows: totals combined from the days', () => {
  let small: ApiTestCloud;
  beforeAll(async () => {
    // 2,000 rows: any one day of the fixture fits (at most ~1,650 rows), the three days do not.
    small = await startApiTestCloud({ api: { limits: { maxRows: 2_000 } } });
    await small.influx.write(drives());
  });
  afterAll(async () => {
    await small?.close();
  });

  it('has each day equal to /kpis of that day, totals summed from them (link percentiles null), and says so', async () => {
    const whole = await apiGet(small.cloud, `/pilots/test-town/kpis?${range}`, TOKENS.operator);
    expect(whole.status).toBe(422);
    const { status, body } = await apiGet(small.cloud, `/pilots/test-town/report?${range}`, TOKENS.operator);
    expect(status).toBe(200);
    const r = body as Report;
    expect(r.totals_exact).toBe(false);
    for (const day of r.days) {
      const { body: k } = await apiGet(small.cloud, `/pilots/test-town/kpis?from=${day.from}&to=${day.to}`, TOKENS.operator);
      expect(day, day.date).toMatchObject(asRow(k as Kpis));
    }
    // The days' sum: without the two segments across midnight that the exact totals hold.
    expect(r.totals.distance_km * 1000).toBeCloseTo((539 + 1080 + 540) * 50, 6);
    expect(r.totals.autonomous_share).toBeCloseTo(r.totals.autonomous_distance_km / r.totals.distance_km, 12);
    expect([r.totals.takeovers, r.totals.emergency_stops, r.totals.disengagements]).toEqual([3, 1, 1]);
    expect(r.totals.rsrp_dbm_p50).toBeNull();
    expect(r.totals.readings_received).toBe(2 * 1081 + 2 * 361 + 5);
    expect(r.takeovers_by_cause.map((c) => [c.cause, c.count])).toEqual([
      ['PEDESTRIAN', 2],
      ['PARKED_VEHICLE', 1],
    ]);
    expect(r.takeovers_by_cause[0]!.per_100km).toBeCloseTo((2 / r.totals.distance_km) * 100, 9);

    const csv = await apiGet(small.cloud, `/pilots/test-town/report?${range}&format=csv&lang=en`, TOKENS.operator);
    const lines = (csv.body as string).split('\r\n');
    const at = lines.findIndex((l) => l.startsWith('Total,'));
    expect(lines[at + 1]).toMatch(/^"?Note: the range holds more readings than one query may read/);
  });
});

describe('the same range from the rollups: exact totals within api.limits.maxRows', () => {
  let rolled: ApiTestCloud;
  beforeAll(async () => {
    // The fixture's days are ~2 months back: a backfill of 400 days rolls them up on start.
    rolled = await startApiTestCloud(
      { api: { limits: { maxRows: 2_000 } }, rollups: { backfillDays: 400, tickMs: 50 } },
      {},
      { lines: drives() },
    );
    await waitFor(() => rolled.cloud.rollups!.since() !== null && rolled.cloud.rollups!.pending === 0, {
      timeoutMs: 60_000,
      what: 'the rollups of the fixture',
    });
  });
  afterAll(async () => {
    await rolled?.close();
  });

  it('reads the range through the rollups like /kpis: the totals are exact, midnight segments included', async () => {
    const whole = await apiGet(rolled.cloud, `/pilots/test-town/kpis?${range}`, TOKENS.operator);
    expect(whole.status).toBe(200);
    const { status, body } = await apiGet(rolled.cloud, `/pilots/test-town/report?${range}`, TOKENS.operator);
    expect(status).toBe(200);
    const r = body as Report;
    expect(r.totals_exact).toBe(true);
    expect(r.totals).toMatchObject(asRow(whole.body as Kpis));
    expect(r.totals.distance_km * 1000).toBeCloseTo((539 + 1080 + 540 + 2) * 50, 6);
    expect(r.days.map((d) => Math.round(d.distance_km * 1000))).toEqual([539 * 50, 1080 * 50, 540 * 50]);
  });
});
