// Penetration-test findings 5, 7 and 12 (WebSocket part) of issue 10, each attack performed against
// a real cloud (real InfluxDB, MQTT ingest, HTTP and WebSocket): a token smuggled past the audit
// log's redaction by encoding its parameter name; a viewer reading the last seconds of a delayed
// pilot through /kpis; a cross-origin page opening the live feed; one token holding unlimited
// connections; and a bearer-only subprotocol offer that made the server echo the token.
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Counter } from 'prom-client';
import { waitFor } from '../../scripts/test-support/index.js';
import { TOKENS, apiGet, startApiTestCloud, type ApiTestCloud } from './fixtures/api-support.js';
import { batch, connectGateway, publishBatch, topicOf, vehicleState } from './support.js';

const ALLOWED_ORIGIN = 'https://dashboard.example';
const MAX_PER_TOKEN = 8;

let t: ApiTestCloud;

beforeAll(async () => {
  t = await startApiTestCloud({ api: { allowedOrigins: [ALLOWED_ORIGIN], maxLiveConnectionsPerToken: MAX_PER_TOKEN } });
});

afterAll(async () => {
  await t?.close();
});

function wsUrl(query: string): string {
  return `${t.cloud.url.replace(/^http/, 'ws')}/api/v1/live?${query}`;
}

interface Handshake {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The open socket when the upgrade was accepted (the caller closes it). */
  ws: WebSocket | null;
}

/** Opens the live feed and reports how the server answered the upgrade, accepted (101) or not. */
function handshake(query: string, protocols: string[], headers: Record<string, string> = {}): Promise<Handshake> {
  const ws = new WebSocket(wsUrl(query), protocols, { headers });
  return new Promise((resolve, reject) => {
    let upgradeHeaders: IncomingHttpHeaders = {};
    ws.once('upgrade', (res) => (upgradeHeaders = res.headers));
    ws.once('open', () => resolve({ status: 101, headers: upgradeHeaders, body: '', ws }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ws: null }));
    });
    ws.once('error', (err) => reject(err));
  });
}

async function refusedCount(reason: string): Promise<number> {
  const counter = t.cloud.metrics.registry.getSingleMetric('michi_cloud_live_refused_total') as Counter<'reason'> | undefined;
  const values = (await counter?.get())?.values ?? [];
  return values.find((v) => v.labels['reason'] === reason)?.value ?? 0;
}

function auditText(): string {
  return readFileSync(t.auditFile, 'utf8');
}

describe('finding 5: a token in the live feed URL never reaches the audit log', () => {
  it('redacts ?%74oken=, other encodings and spellings, and a token under any name', async () => {
    const secret = TOKENS.otherViewer;
    const encoded = [...secret].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`).join('');
    // hz marks each attempt's audit line (the URL keeps it); each is a real upgrade attempt.
    const attempts = [
      `pilot=other-town&hz=1.1&%74oken=${secret}`, // the reported bypass: accepted as a token, logged in clear
      `pilot=other-town&hz=1.2&%54%4F%4B%45%4E=${secret}`, // TOKEN, every letter encoded
      `pilot=other-town&hz=1.3&Token=${secret}`,
      `pilot=other-town&hz=1.4&access_token=${secret}`,
      `pilot=other-town&hz=1.5&%61ccess%5Ftoken=${secret}`,
      `pilot=other-town&hz=1.6&token=${encoded}`, // the value %-encoded
      `pilot=other-town&hz=1.7&x=${secret}`, // any name
      `pilot=other-town&hz=1.8&${secret}`, // as a name
      `pilot=other-town&hz=1.9&tok%65n=${secret}&token=${secret}`,
      `pilot=${secret}&hz=2.1&token=${secret}`, // as the pilot (refused 403: other pilot)
      `pilot=other-town&hz=50&batch=1&%74oken=${secret}`, // refused 400 (hz): audited too
    ];
    for (const q of attempts) {
      const h = await handshake(q, []);
      h.ws?.close();
    }
    // the pilot in the path: the token as the pilot (refused 403) is redacted there too
    const inPath = new WebSocket(`${t.cloud.url.replace(/^http/, 'ws')}/api/v1/pilots/${secret}/live?hz=2.2&token=${secret}`);
    await new Promise((resolve) => (inPath.once('unexpected-response', resolve), inPath.once('error', resolve)));
    inPath.terminate();
    // an HTTP route's audit line too (the token in the query as well as the header)
    const http = await fetch(`${t.cloud.url}/api/v1/pilots/other-town/vehicles?%74oken=${secret}&hz=3.1`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    expect(http.status).toBe(200);

    const markers = [
      'hz=1.1',
      'hz=1.2',
      'hz=1.3',
      'hz=1.4',
      'hz=1.5',
      'hz=1.6',
      'hz=1.7',
      'hz=1.8',
      'hz=1.9',
      'hz=2.1',
      'hz=2.2',
      'hz=50',
      'hz=3.1',
    ];
    await waitFor(() => markers.every((m) => auditText().includes(m)), { what: 'every attempt in the audit file' });
    const text = auditText();
    const lines = text.trim().split('\n');
    // the connection attempts are there, with their outcome and who they were
    const entries = lines.map((l) => JSON.parse(l) as { url: string; status: number; token: string | null });
    // the reported bypass: the feed takes %74oken as its token (101), so the line names the token's id
    expect(entries.find((e) => e.url.includes('hz=1.1'))).toMatchObject({ status: 101, token: 'other-viewer' });
    expect(entries.find((e) => e.url.includes('hz=50'))).toMatchObject({ status: 400 });
    expect(entries.find((e) => e.url.includes('hz=2.2'))).toMatchObject({ status: 403, url: '/api/v1/pilots/[redacted]/live?hz=2.2' });
    // …and the secret in no form: not as sent, not %-encoded, not once decoded
    expect(text).not.toContain(secret);
    expect(text.toLowerCase()).not.toContain(encoded.toLowerCase());
    for (const l of lines) expect(decodeURIComponent(l)).not.toContain(secret);
  });
});

describe('finding 7: a viewer gets no KPIs of the seconds its delay hides', () => {
  it('answers /kpis for the last 3 s like /tracks (nothing) to a viewer, with data to an operator', async () => {
    const gw = await connectGateway(t.cloud.mqttPort, 'gw-other');
    try {
      const now = Date.now();
      const from = now - 3_000;
      const readings = [0, 1, 2].map((i) =>
        vehicleState('robot-1', now - 2_000 + i * 1_000, 100 + i, {
          position: { lat: 35.8942 + i * 1e-4, lon: 139.9506 },
          odometer_m: 5_000 + i * 11,
          speed_mps: 11,
        }),
      );
      await publishBatch(gw, topicOf('gw-other', 'other-town'), batch('gw-other', readings, 100, 'other-town'));
      const kpis = (token: string) => apiGet(t.cloud, `/pilots/other-town/kpis?from=${from}&to=${now + 1_000}`, token);
      await waitFor(async () => (await kpis(TOKENS.operator)).body.distance_km > 0, { what: 'the readings in InfluxDB' });

      const operator = (await kpis(TOKENS.operator)).body;
      expect(operator.distance_km).toBeCloseTo(0.022, 6);
      expect(operator.speed_mean_kmh).toBeCloseTo(39.6, 6);
      expect(operator.autonomous_share).toBe(1);

      const tracks = await apiGet(t.cloud, `/pilots/other-town/tracks?from=${from}&to=${now + 1_000}`, TOKENS.otherViewer);
      expect(tracks.status).toBe(200);
      expect(tracks.body.tracks.flatMap((tr: { points: unknown[] }) => tr.points)).toEqual([]);
      const viewer = await kpis(TOKENS.otherViewer);
      expect(viewer.status).toBe(200);
      expect(viewer.body).toMatchObject({
        from,
        to: now + 1_000,
        distance_km: 0,
        autonomous_distance_km: 0,
        autonomous_share: null,
        speed_mean_kmh: null,
        speed_p95_kmh: null,
        latency_ms: { p50: null, p95: null },
      });
    } finally {
      gw.end(true);
    }
  });
});

describe('finding 12: the live feed upgrade', () => {
  const protocols = ['michi.v1', `bearer.${TOKENS.operator}`];

  it('refuses a cross-origin page with 403; allows its own origin, api.allowedOrigins and no Origin', async () => {
    const before = await refusedCount('origin');
    for (const origin of ['https://evil.example', 'null', `${t.cloud.url}.evil.example`, 'http://localhost:1']) {
      const h = await handshake('pilot=test-town', protocols, { origin });
      expect({ origin, status: h.status }).toEqual({ origin, status: 403 });
      expect(JSON.parse(h.body).error.code).toBe('MICHI_ERR_FORBIDDEN');
    }
    expect(await refusedCount('origin')).toBe(before + 4);
    const accepted: Record<string, string>[] = [{ origin: t.cloud.url }, { origin: ALLOWED_ORIGIN }, {}];
    for (const headers of accepted) {
      const h = await handshake('pilot=test-town', protocols, headers);
      expect({ headers, status: h.status }).toEqual({ headers, status: 101 });
      h.ws?.close();
    }
  });

  it(`refuses a token's ${MAX_PER_TOKEN + 1}th connection with 429 while its ${MAX_PER_TOKEN} stay open`, async () => {
    const mine = ['michi.v1', `bearer.${TOKENS.townViewer}`];
    const open: WebSocket[] = [];
    try {
      for (let i = 0; i < MAX_PER_TOKEN; i++) {
        const h = await handshake('pilot=test-town', mine);
        expect(h.status).toBe(101);
        open.push(h.ws!);
      }
      const before = await refusedCount('connections_per_token');
      const ninth = await handshake('pilot=test-town', mine);
      expect(ninth.status).toBe(429);
      expect(JSON.parse(ninth.body).error.code).toBe('MICHI_ERR_RATE_LIMITED');
      expect(await refusedCount('connections_per_token')).toBe(before + 1);
      // ?token= counts against the same token
      expect((await handshake(`pilot=test-town&token=${TOKENS.townViewer}`, [])).status).toBe(429);
      // another token is not affected
      const other = await handshake('pilot=test-town', protocols);
      expect(other.status).toBe(101);
      other.ws?.close();
      // the eight are still served: each answers a ping
      await Promise.all(open.map((ws) => new Promise<void>((resolve) => (ws.once('pong', () => resolve()), ws.ping()))));
      expect(open.every((ws) => ws.readyState === WebSocket.OPEN)).toBe(true);
      // closing one frees its place
      const closed = open.pop()!;
      await new Promise<void>((resolve) => (closed.once('close', () => resolve()), closed.close()));
      await waitFor(
        async () => {
          const h = await handshake('pilot=test-town', mine);
          if (h.ws) open.push(h.ws);
          return h.status === 101;
        },
        { what: 'a place again after one closed' },
      );
    } finally {
      for (const ws of open) ws.close();
    }
  });

  it('refuses a bearer.* offer without michi.v1 with 400, never echoing the token in a header', async () => {
    const before = await refusedCount('subprotocol');
    const h = await handshake('pilot=test-town', [`bearer.${TOKENS.operator}`]);
    h.ws?.close();
    expect(JSON.stringify(h.headers)).not.toContain(TOKENS.operator);
    expect(h.status).toBe(400);
    expect(JSON.parse(h.body).error.code).toBe('MICHI_ERR_BAD_REQUEST');
    expect(h.body).not.toContain(TOKENS.operator);
    expect(await refusedCount('subprotocol')).toBe(before + 1);
    // offered beside michi.v1, michi.v1 is the one echoed
    const ok = await handshake('pilot=test-town', protocols);
    ok.ws?.close();
    expect(ok.status).toBe(101);
    expect(ok.headers['sec-websocket-protocol']).toBe('michi.v1');
    expect(JSON.stringify(ok.headers)).not.toContain(TOKENS.operator);
  });
});
