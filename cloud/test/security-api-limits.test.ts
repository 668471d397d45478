// Pen-test finding 9 (docs/security.md, "API limits"), performed against a real cloud with a real
// InfluxDB over real HTTP: a viewer token floods the history routes with maximum-range requests
// (refused with 429 and Retry-After beyond its rate and its queries in flight, /health stays fast,
// another token is still served, every answer given is right); guessed tokens are slowed per
// address; a query against a hung (SIGSTOPped) InfluxDB is abandoned with 504 at the configured
// deadline; a range holding more rows than the cap is refused with 422 naming the limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RANGE, T0, stateLine } from './fixtures/api-fixture.js';
import { TOKENS, startApiTestCloud, type ApiTestCloud } from './fixtures/api-support.js';
import { metric } from './support.js';

const DAY_MS = 86_400_000;
const LIMITS = {
  rate: { perSecond: 20, burst: 40 },
  anonymousRate: { perSecond: 5, burst: 10 },
  maxQueriesPerToken: 2,
  maxQueries: 4,
  maxQueuedPerToken: 4,
  queueTimeoutMs: 1_000,
  queryTimeoutMs: 2_000,
  maxRows: 5_000,
};
/** Readings of bus-1 two days before the fixture, one a second: more rows than LIMITS.maxRows. */
const EXTRA_ROWS = 6_000;

let t: ApiTestCloud;
/** The longest range the API takes (31 days), ending when the fixture was written. */
let maxRange: string;

beforeAll(async () => {
  // Without rollups: the row cap of raw reads is what is tested (with them, long KPI ranges read few rows: kpi-rollups.test.ts).
  t = await startApiTestCloud({ api: { limits: LIMITS }, rollups: { enabled: false } });
  const start = T0 - 2 * DAY_MS;
  const lines = Array.from({ length: EXTRA_ROWS }, (_, i) =>
    stateLine({
      source: 'bus-1',
      t: start + i * 1_000,
      seq: 10_000 + i,
      lat: 36.3839 + i * 1e-6,
      lon: 139.0733,
      speed: 5,
      heading: 0,
      mode: 'AUTONOMOUS',
      odometer: 0,
      recv: start + i * 1_000 + 50,
    }),
  );
  await t.influx.write(lines);
  maxRange = `from=${t.now - 31 * DAY_MS}&to=${t.now}`;
});

afterAll(async () => {
  t?.influx.resume();
  await t?.close();
});

interface Answer {
  status: number;
  retryAfter: string | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are dug into by the assertions
  body: any;
  ms: number;
}

async function get(path: string, token?: string): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(`${t.cloud.url}/api/v1${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  const body: unknown = await res.json();
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body, ms: performance.now() - started };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function healthTimes(n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const h = await get('/health');
    expect(h.status).toBe(200);
    times.push(h.ms);
  }
  return times;
}

const refusals = (reason: string): Promise<number> => metric(t.cloud.metricsUrl, 'michi_cloud_api_refusals_total', { reason });

describe('finding 9: one viewer token floods the history routes with maximum-range requests', () => {
  it('is refused with 429 and Retry-After beyond its rate and queries in flight; /health stays fast; another token is served; answers are right', async () => {
    const paths = [`/pilots/test-town/tracks?${maxRange}`, `/pilots/test-town/coverage?${maxRange}&res=9`];
    // The right answers, asked one at a time before the flood (and the same token's bucket refills meanwhile).
    const expected = new Map<string, unknown>();
    for (const p of paths) {
      const a = await get(p, TOKENS.townViewer);
      expect(a.status).toBe(200);
      expected.set(p, a.body);
    }
    const kpiPath = `/pilots/test-town/kpis?from=${RANGE.from}&to=${RANGE.to}`;
    const kpis = await get(kpiPath, TOKENS.operator);
    expect(kpis.status).toBe(200);
    expect(kpis.body.distance_km).toBeGreaterThan(3);
    const baseline = median(await healthTimes(10));
    await new Promise((r) => setTimeout(r, 2_500)); // the viewer's bucket is full again
    const [rateBefore, busyBefore] = [await refusals('rate_limited'), await refusals('busy')];

    // 100 requests, 20 in parallel, as the pen test did.
    const flood = (async () => {
      const answers: (Answer & { path: string })[] = [];
      for (let wave = 0; wave < 5; wave++) {
        const batch = Array.from({ length: 20 }, (_, i) => paths[i % paths.length]!);
        answers.push(...(await Promise.all(batch.map(async (p) => ({ ...(await get(p, TOKENS.townViewer)), path: p })))));
      }
      return answers;
    })();
    await new Promise((r) => setTimeout(r, 50));
    const duringHealth = await healthTimes(10);
    const other = await get(kpiPath, TOKENS.operator);
    const answers = await flood;

    // Refused, with a time to come back, in the API's error shape.
    const refused = answers.filter((a) => a.status === 429);
    expect(refused.length).toBeGreaterThan(20);
    for (const a of refused) {
      expect(a.body.error.code).toBe('MICHI_ERR_RATE_LIMITED');
      expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1);
    }
    expect(refused.some((a) => /request rate/.test(a.body.error.message as string))).toBe(true);
    // Every request that was served got the full, right answer: nothing else (no 5xx).
    const served = answers.filter((a) => a.status !== 429);
    expect(served.length).toBeGreaterThan(0);
    for (const a of served) {
      expect(a.status).toBe(200);
      expect(a.body).toEqual(expected.get(a.path));
    }
    // Another token is served meanwhile, right.
    expect(other.status).toBe(200);
    expect(other.body).toEqual(kpis.body);
    // /health is not gated: generous, the machine is shared.
    expect(median(duringHealth)).toBeLessThan(Math.max(20 * baseline, 250));
    expect(await refusals('rate_limited')).toBeGreaterThan(rateBefore);
    expect(await refusals('busy')).toBeGreaterThan(busyBefore);
    expect(refused.some((a) => /too many history queries at once/.test(a.body.error.message as string))).toBe(true);
  });

  it('slows token guessing per address: 429 instead of 401 beyond the anonymous rate', async () => {
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => get('/me', `guessed-token-${i}-0123456789`)));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(LIMITS.anonymousRate.burst + 1);
    const refused = answers.filter((a) => a.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(15);
    expect(refused[0]!.body.error.code).toBe('MICHI_ERR_RATE_LIMITED');
    expect(Number(refused[0]!.retryAfter)).toBeGreaterThanOrEqual(1);
    // A valid token has its own bucket.
    expect((await get('/me', TOKENS.operator)).status).toBe(200);
  });
});

describe('finding 9: memory bounded whatever the range', () => {
  it('refuses KPIs of a range holding more rows than api.limits.maxRows with 422 naming the limit; a shorter range is answered', async () => {
    const before = await refusals('too_large');
    const big = await get(`/pilots/test-town/kpis?${maxRange}`, TOKENS.operator);
    expect(big.status).toBe(422);
    expect(big.body.error.code).toBe('MICHI_ERR_TOO_LARGE');
    expect(big.body.error.message).toContain(`more than ${LIMITS.maxRows} rows (api.limits.maxRows)`);
    expect(big.body.error.message).toContain('shorter range');
    expect(await refusals('too_large')).toBe(before + 1);
    const small = await get(`/pilots/test-town/kpis?from=${RANGE.from}&to=${RANGE.to}`, TOKENS.operator);
    expect(small.status).toBe(200);
    // Coverage aggregates as InfluxDB streams: the same maximum range is answered, every sample counted.
    const coverage = await get(`/pilots/test-town/coverage?${maxRange}&res=9`, TOKENS.operator);
    expect(coverage.status).toBe(200);
    expect(coverage.body.cells.length).toBeGreaterThan(0);
  });
});

describe('finding 9: a query against a hung InfluxDB', () => {
  it('is abandoned with 504 MICHI_ERR_TIMEOUT at api.limits.queryTimeoutMs, and the gate is free again after', async () => {
    const path = `/pilots/test-town/kpis?from=${RANGE.from}&to=${RANGE.to}`;
    const before = await refusals('timeout');
    t.influx.pause();
    let hung: Answer;
    try {
      hung = await get(path, TOKENS.operator);
    } finally {
      t.influx.resume();
    }
    expect(hung.status).toBe(504);
    expect(hung.body.error.code).toBe('MICHI_ERR_TIMEOUT');
    expect(hung.body.error.message).toContain(`longer than ${LIMITS.queryTimeoutMs} ms (api.limits.queryTimeoutMs`);
    expect(hung.ms).toBeGreaterThanOrEqual(LIMITS.queryTimeoutMs - 100);
    expect(hung.ms).toBeLessThan(LIMITS.queryTimeoutMs + 2_000);
    expect(await refusals('timeout')).toBe(before + 1);
    // The abandoned query gave its place back: the token's queries run again.
    const again = await Promise.all([get(path, TOKENS.operator), get(path, TOKENS.operator)]);
    expect(again.map((a) => a.status)).toEqual([200, 200]);
  });
});
