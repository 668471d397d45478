// Pen-test findings 4, 8, 11a and 11b (docs/security.md), each performed against a real cloud with
// a real InfluxDB over real HTTP: encoded and folded paths that reach (or almost reach) an API route
// without a token or with too small a one; /metrics on the API port and on its own listener; the
// security headers of the API and the dashboard; a time beyond what InfluxDB can store.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RANGE } from './fixtures/api-fixture.js';
import { TOKENS, startApiTestCloud, type ApiTestCloud } from './fixtures/api-support.js';
import { metric } from './support.js';

let t: ApiTestCloud;
let dashboardDir: string;

beforeAll(async () => {
  dashboardDir = mkdtempSync(join(tmpdir(), 'michi-dashboard-'));
  mkdirSync(join(dashboardDir, 'assets'));
  writeFileSync(join(dashboardDir, 'index.html'), '<!doctype html><title>michi</title>');
  writeFileSync(join(dashboardDir, 'assets', 'app.js'), 'export {};');
  t = await startApiTestCloud({ dashboardDir });
});

afterAll(async () => {
  await t?.close();
});

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * GET with the path sent byte for byte: fetch() would normalise it (WHATWG URL parsing), and an
 * attacker's curl or socket does not.
 */
function rawGet(path: string, token?: string): Promise<RawResponse> {
  const { hostname, port } = new URL(t.cloud.url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: hostname, port, path, method: 'GET', headers: token ? { authorization: `Bearer ${token}` } : {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function auditLines(): Record<string, unknown>[] {
  return readFileSync(t.auditFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Waits for the audit line of each url (the audit file is written asynchronously). */
async function auditLinesFor(urls: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
  const found = new Map<string, Record<string, unknown>>();
  for (let i = 0; i < 50; i++) {
    for (const l of auditLines()) if (urls.includes(String(l['url']))) found.set(String(l['url']), l);
    if (found.size === urls.length) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return found;
}

describe('finding 4: an encoded path meets the same checks as the plain one', () => {
  /** Variants of API paths: percent-encoded letters and slashes, doubled slashes, upper case, trailing dots. */
  const variants = [
    '/%61pi/v1/pilots/test-town/vehicles',
    '/%61%70%69/v1/pilots',
    '/api/%761/me',
    '/api/v1/pilots/test-town%2Fvehicles',
    '/api%2Fv1/pilots',
    '/api%2fv1%2fpilots%2ftest-town%2fvehicles',
    '//api/v1/pilots',
    '/api//v1/pilots/test-town/vehicles',
    '/API/v1/pilots',
    '/Api/V1/pilots/test-town/vehicles',
    '/api/v1/pilots.',
    '/api/v1/pilots/test-town/vehicles.',
    '/api/v1/pilots/test-town/vehicles..',
  ];

  it('answers 401 without a token to every variant, never 500, with an audit line for each', async () => {
    const refusedBefore = await metric(t.cloud.metricsUrl, 'michi_cloud_api_refusals_total', { reason: 'unauthenticated' });
    for (const path of variants) {
      const res = await rawGet(path);
      expect({ path, status: res.status }).toEqual({ path, status: 401 });
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'MICHI_ERR_UNAUTHENTICATED' } });
    }
    const lines = await auditLinesFor(variants);
    for (const path of variants) {
      expect({ path, line: lines.get(path) }).toMatchObject({ path, line: { token: null, role: null, status: 401, method: 'GET' } });
    }
    expect(await metric(t.cloud.metricsUrl, 'michi_cloud_api_refusals_total', { reason: 'unauthenticated' })).toBe(
      refusedBefore + variants.length,
    );
    // The route the router matched is what the audit names, however the path was spelled.
    expect(lines.get('/%61pi/v1/pilots/test-town/vehicles')).toMatchObject({ route: '/api/v1/pilots/:pilot/vehicles', pilot: 'test-town' });
  });

  it('answers 403 to a viewer on an operator-only route, however it is spelled', async () => {
    const q = `?from=${RANGE.from}&to=${RANGE.to}`;
    const paths = [`/%61pi/v1/pilots/test-town/completeness${q}`, `/api/v1/pilots/test-town/%63ompleteness${q}`];
    for (const path of paths) {
      const res = await rawGet(path, TOKENS.townViewer);
      expect({ path, status: res.status }).toEqual({ path, status: 403 });
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'MICHI_ERR_FORBIDDEN' } });
    }
    const lines = await auditLinesFor(paths);
    for (const path of paths) {
      expect(lines.get(path)).toMatchObject({ token: 'town-viewer', route: '/api/v1/pilots/:pilot/completeness', status: 403 });
    }
  });

  it('with a valid token: a variant that matches a route is served, one that does not is a 404, never a 500', async () => {
    const served = await rawGet('/%61pi/v1/pilots/test-town/vehicles', TOKENS.operator);
    expect(served.status).toBe(200);
    for (const path of variants.filter(
      (p) => !p.startsWith('/%61pi/v1/pilots/test-town/') && p !== '/%61%70%69/v1/pilots' && p !== '/api/%761/me',
    )) {
      const res = await rawGet(path, TOKENS.operator);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      // an unknown pilot ("test-town/vehicles") or no such route
      expect(['MICHI_ERR_NOT_FOUND', 'MICHI_ERR_UNKNOWN_SOURCE']).toContain(
        (JSON.parse(res.body) as { error: { code: string } }).error.code,
      );
    }
    // A restricted viewer learns nothing about other pilots through an encoded slash either.
    expect((await rawGet('/api/v1/pilots/other-town%2Fvehicles', TOKENS.townViewer)).status).toBe(403);
  });
});

describe('finding 8: /metrics is not on the API port', () => {
  it('answers 404 on the API port, with or without a token', async () => {
    expect((await rawGet('/metrics')).status).toBe(404);
    const withToken = await rawGet('/metrics', TOKENS.operator);
    expect(withToken.status).toBe(404);
    expect(withToken.body).not.toContain('michi_cloud_');
    expect(withToken.body).not.toContain('test-town');
  });

  it('serves the metrics on their own listener, bound to 127.0.0.1 only', async () => {
    const url = new URL(t.cloud.metricsUrl);
    expect(url.hostname).toBe('127.0.0.1');
    expect(url.port).not.toBe(new URL(t.cloud.url).port);
    const res = await fetch(t.cloud.metricsUrl);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('michi_cloud_readings_accepted_total');
    // Another loopback address reaches a listener on 0.0.0.0 but not one bound to 127.0.0.1.
    const outcome = await new Promise<string>((resolve) => {
      const s = connect({ host: '127.0.0.2', port: Number(url.port) });
      s.once('connect', () => {
        s.destroy();
        resolve('connected');
      });
      s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
    expect(outcome).toBe('ECONNREFUSED');
  });
});

describe('finding 11a: security headers on every response', () => {
  const expected = {
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  };

  it('sets CSP (frame-ancestors none), nosniff, no-referrer and DENY on API, error and dashboard responses', async () => {
    const responses = {
      api: await rawGet('/api/v1/pilots', TOKENS.operator),
      unauthenticated: await rawGet('/api/v1/pilots'),
      notFound: await rawGet('/nothing-here'),
      health: await rawGet('/api/v1/health'),
      dashboard: await rawGet('/'),
      asset: await rawGet('/assets/app.js'),
    };
    expect(responses.dashboard.status).toBe(200);
    expect(responses.asset.status).toBe(200);
    for (const [name, res] of Object.entries(responses)) {
      expect({ name, headers: res.headers }).toMatchObject({ name, headers: expected });
      const csp = String(res.headers['content-security-policy']);
      expect({ name, csp }).toMatchObject({ name, csp: expect.stringContaining("frame-ancestors 'none'") });
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-eval');
    }
  });
});

describe('finding 11b: a time InfluxDB cannot store is a 400 naming the parameter', () => {
  it('answers 400 MICHI_ERR_BAD_REQUEST, not 503, to from or to beyond 2262', async () => {
    for (const path of [
      '/api/v1/pilots/test-town/tracks?from=9000000000000000',
      '/api/v1/pilots/test-town/events?from=9000000000000000',
      '/api/v1/pilots/test-town/kpis?to=9223372036855',
      '/api/v1/pilots/test-town/coverage?from=9223372036855000&to=9223372036855001',
    ]) {
      const res = await rawGet(path, TOKENS.operator);
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      const { error } = JSON.parse(res.body) as { error: { code: string; message: string } };
      expect(error.code).toBe('MICHI_ERR_BAD_REQUEST');
      expect(error.message).toMatch(/query parameter "(from|to)"/);
    }
    expect(await metric(t.cloud.metricsUrl, 'michi_cloud_api_refusals_total', { reason: 'bad_request' })).toBeGreaterThanOrEqual(4);
  });

  it('still answers the last storable millisecond', async () => {
    const last = 9_223_372_036_854;
    const res = await rawGet(`/api/v1/pilots/test-town/tracks?from=${last - 60_000}&to=${last}`, TOKENS.operator);
    expect(res.status).toBe(200);
  });
});
