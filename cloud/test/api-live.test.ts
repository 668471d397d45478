// The WebSocket live feed end to end: a gateway publishes over MQTT, the cloud writes to a real
// InfluxDB, and a WebSocket client gets the snapshot, then throttled state messages, with the
// token as a subprotocol, a query parameter or a header; refusals are plain HTTP errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { robotStates } from './fixtures/api-fixture.js';
import { waitFor } from '../../scripts/test-support/index.js';
import { TOKENS, apiGet, startApiTestCloud, type ApiTestCloud } from './fixtures/api-support.js';
import { batch, connectGateway, metric, publishBatch, topicOf, vehicleState } from './support.js';

let t: ApiTestCloud;

beforeAll(async () => {
  t = await startApiTestCloud();
});

afterAll(async () => {
  await t?.close();
});

interface Received {
  at: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- messages are dug into by the assertions
  msg: any;
}

interface LiveClient {
  ws: WebSocket;
  received: Received[];
  snapshot: Promise<Received>;
}

function wsUrl(query: string, path = '/api/v1/live'): string {
  return `${t.cloud.url.replace(/^http/, 'ws')}${path}?${query}`;
}

function connect(query: string, opts: { protocols?: string[]; headers?: Record<string, string>; path?: string } = {}): Promise<LiveClient> {
  const ws = new WebSocket(wsUrl(query, opts.path), opts.protocols ?? [], { headers: opts.headers ?? {} });
  const received: Received[] = [];
  let gotSnapshot: (r: Received) => void;
  const snapshot = new Promise<Received>((resolve) => (gotSnapshot = resolve));
  ws.on('message', (data: Buffer) => {
    const r = { at: Date.now(), msg: JSON.parse(data.toString()) };
    received.push(r);
    if (r.msg.type === 'snapshot') gotSnapshot(r);
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, received, snapshot }));
    ws.once('error', reject);
  });
}

/** The HTTP status and JSON error of a refused upgrade. */
function refusal(query: string, opts: { protocols?: string[]; path?: string } = {}): Promise<{ status: number; code: string }> {
  const ws = new WebSocket(wsUrl(query, opts.path), opts.protocols ?? []);
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(body) as { error: { code: string } }).error.code }));
    });
    ws.once('open', () => reject(new Error('the upgrade was accepted')));
    ws.once('error', () => undefined);
  });
}

describe('live feed', () => {
  it('starts with a snapshot equal to GET /vehicles (token as a subprotocol; the server selects michi.v1)', async () => {
    const c = await connect('pilot=test-town', { protocols: ['michi.v1', `bearer.${TOKENS.operator}`] });
    try {
      expect(c.ws.protocol).toBe('michi.v1');
      const { msg } = await c.snapshot;
      const http = await apiGet(t.cloud, '/pilots/test-town/vehicles', TOKENS.operator);
      expect(msg.type).toBe('snapshot');
      expect(msg.vehicles).toEqual(http.body.vehicles);
      expect(msg.now_ms).toBeGreaterThan(0);
    } finally {
      c.ws.close();
    }
  });

  it('with batch=1, sends the vehicles a batch changed in one states message; batch=2 is refused', async () => {
    const c = await connect('pilot=test-town&batch=1', { protocols: ['michi.v1', `bearer.${TOKENS.operator}`] });
    const gw = await connectGateway(t.cloud.mqttPort, 'gw-a');
    try {
      await c.snapshot;
      // Older than what the tests after this one publish: the cache keeps each vehicle's newest state.
      const ts = Date.now() - 20_000;
      await publishBatch(gw, topicOf('gw-a'), batch('gw-a', [vehicleState('bus-1', ts, 5_001), vehicleState('bus-2', ts, 5_002)]));
      await waitFor(() => c.received.some((r) => r.msg.type === 'states'), { what: 'a states message', timeoutMs: 10_000 });
      const { msg } = c.received.find((r) => r.msg.type === 'states')!;
      expect(msg.vehicles.map((v: { id: string; state: { ts_ms: number } }) => [v.id, v.state.ts_ms]).sort()).toEqual([
        ['bus-1', ts],
        ['bus-2', ts],
      ]);
      expect(c.received.filter((r) => r.msg.type === 'state')).toEqual([]);
    } finally {
      gw.end(true);
      c.ws.close();
    }
    expect(await refusal(`pilot=test-town&batch=2&token=${TOKENS.operator}`)).toEqual({ status: 400, code: 'MICHI_ERR_BAD_REQUEST' });
  });

  it('pushes changes at most hz times per second per vehicle, ending with the latest state', async () => {
    const c = await connect('pilot=test-town&hz=2', { protocols: ['michi.v1', `bearer.${TOKENS.operator}`] });
    const gw = await connectGateway(t.cloud.mqttPort, 'gw-a');
    try {
      await c.snapshot;
      const droppedBefore = await metric(t.cloud.metricsUrl, 'michi_cloud_live_updates_dropped_total', { reason: 'throttled' });
      const start = Date.now();
      const t0 = start - 5_000;
      // 20 states of bus-1 within about a second: 20 Hz against a client that asked for 2 Hz
      for (let seq = 1; seq <= 20; seq++) {
        await publishBatch(gw, topicOf('gw-a'), batch('gw-a', [vehicleState('bus-1', t0 + seq * 50, 1000 + seq, { speed_mps: seq })]));
        await new Promise((r) => setTimeout(r, 50));
      }
      const published = Date.now();
      await new Promise((r) => setTimeout(r, 1_200));
      const states = c.received.filter((r) => r.msg.type === 'state' && r.msg.vehicle.id === 'bus-1');
      const seconds = (published - start) / 1000;
      expect(states.length).toBeGreaterThanOrEqual(2);
      // at most one per 500 ms, plus the one due when the burst ended
      expect(states.length).toBeLessThanOrEqual(Math.ceil(seconds * 2) + 1);
      for (let i = 1; i < states.length; i++) expect(states[i]!.at - states[i - 1]!.at).toBeGreaterThanOrEqual(450);
      expect(states.at(-1)!.msg.vehicle.state).toMatchObject({ seq: 1020, ts_ms: t0 + 1000, speed_mps: 20 });
      expect(states[0]!.msg.vehicle.state).toEqual(
        expect.objectContaining({ ts_ms: expect.any(Number), lat: expect.any(Number), mode: 'AUTONOMOUS', battery_pct: 80.5 }),
      );
      const droppedAfter = await metric(t.cloud.metricsUrl, 'michi_cloud_live_updates_dropped_total', { reason: 'throttled' });
      expect(droppedAfter - droppedBefore).toBeGreaterThanOrEqual(20 - states.length - 1);
    } finally {
      gw.end(true);
      c.ws.close();
    }
  });

  it('takes the token as ?token= or an Authorization header too', async () => {
    const byQuery = await connect(`pilot=test-town&token=${TOKENS.townViewer}`);
    expect((await byQuery.snapshot).msg.vehicles).toHaveLength(2);
    byQuery.ws.close();
    const byHeader = await connect('pilot=test-town', { headers: { authorization: `Bearer ${TOKENS.operator}` } });
    expect((await byHeader.snapshot).msg.type).toBe('snapshot');
    byHeader.ws.close();
  });

  it('refuses with 401, 403, 404 and 400 before upgrading', async () => {
    expect(await refusal('pilot=test-town')).toEqual({ status: 401, code: 'MICHI_ERR_UNAUTHENTICATED' });
    expect(await refusal('pilot=test-town', { protocols: ['michi.v1', 'bearer.wrong-token-0123456789'] })).toEqual({
      status: 401,
      code: 'MICHI_ERR_UNAUTHENTICATED',
    });
    expect(await refusal(`pilot=other-town&token=${TOKENS.townViewer}`)).toEqual({ status: 403, code: 'MICHI_ERR_FORBIDDEN' });
    expect(await refusal(`pilot=nowhere&token=${TOKENS.operator}`)).toEqual({ status: 404, code: 'MICHI_ERR_UNKNOWN_SOURCE' });
    expect(await refusal(`pilot=test-town&hz=50&token=${TOKENS.operator}`)).toEqual({ status: 400, code: 'MICHI_ERR_BAD_REQUEST' });
    expect(await refusal(`token=${TOKENS.operator}`)).toEqual({ status: 400, code: 'MICHI_ERR_BAD_REQUEST' });
  });

  it('serves the same feed with the pilot in the path, /api/v1/pilots/:pilot/live, checked the same way', async () => {
    const path = '/api/v1/pilots/test-town/live';
    const c = await connect('hz=2', { protocols: ['michi.v1', `bearer.${TOKENS.townViewer}`], path });
    try {
      const { msg } = await c.snapshot;
      const http = await apiGet(t.cloud, '/pilots/test-town/vehicles', TOKENS.townViewer);
      expect(msg.vehicles).toEqual(http.body.vehicles);
    } finally {
      c.ws.close();
    }
    const other = '/api/v1/pilots/other-town/live';
    expect(await refusal(`token=${TOKENS.townViewer}`, { path: other })).toEqual({ status: 403, code: 'MICHI_ERR_FORBIDDEN' });
    expect(await refusal('', { path })).toEqual({ status: 401, code: 'MICHI_ERR_UNAUTHENTICATED' });
    expect(await refusal(`hz=50&token=${TOKENS.operator}`, { path })).toEqual({ status: 400, code: 'MICHI_ERR_BAD_REQUEST' });
    // a plain GET is not an upgrade
    const plain = await fetch(`${t.cloud.url}${path}`, { headers: { authorization: `Bearer ${TOKENS.operator}` } });
    expect(plain.status).toBe(426);
  });

  /** A viewer's timestamp of a reading on other-town's 50 m grid: the end of its 4 s sample period (privacy.ts). */
  const periodEnd = (ts: number): number => Math.floor(ts / 4_000) * 4_000 + 4_000;

  it("gives a viewer the pilot's public view: aliases and the delayed state", async () => {
    // The newest fixture state whose sample period had ended the pilot's 30 s delay before `at`: which
    // one depends on how long the tests before this one took after the fixture was written.
    const visibleAt = (at: number): number =>
      Math.max(
        ...robotStates(t.now)
          .map((s) => periodEnd(s.t))
          .filter((end) => end <= at - 30_000),
      );
    const before = Date.now();
    const c = await connect('pilot=other-town', { protocols: ['michi.v1', `bearer.${TOKENS.otherViewer}`] });
    try {
      const { msg } = await c.snapshot;
      expect(msg.vehicles.map((v: { id: string }) => v.id)).toEqual(['vehicle-1']);
      expect([visibleAt(before), visibleAt(Date.now())]).toContain(msg.vehicles[0].state.ts_ms);
      expect(JSON.stringify(msg)).not.toContain('robot-1');
    } finally {
      c.ws.close();
    }
  });

  it('pushes to a viewer what was published, once it is older than the public delay, coarsened and aliased', async () => {
    const c = await connect('pilot=other-town&hz=2', { protocols: ['michi.v1', `bearer.${TOKENS.otherViewer}`] });
    const gw = await connectGateway(t.cloud.mqttPort, 'gw-other');
    try {
      await c.snapshot;
      // newer than the fixture's last reading (now − 5 s), visible once it is 30 s old
      const ts = Math.max(Date.now() - 25_000, t.now - 4_000);
      const lat = 35.8945678;
      await publishBatch(
        gw,
        topicOf('gw-other', 'other-town'),
        batch('gw-other', [vehicleState('robot-1', ts, 99, { position: { lat, lon: 139.9505678 } })], 1, 'other-town'),
      );
      const published = Date.now();
      await waitFor(() => c.received.some((r) => r.msg.type === 'state' && r.msg.vehicle.state.ts_ms === periodEnd(ts)), {
        timeoutMs: 45_000,
        what: 'the delayed state',
      });
      const r = c.received.find((x) => x.msg.type === 'state' && x.msg.vehicle.state.ts_ms === periodEnd(ts))!;
      expect(r.msg.vehicle.id).toBe('vehicle-1');
      // not before the end of its sample period was 30 s old (the timestamp against this machine's clock)
      expect(r.at - periodEnd(ts)).toBeGreaterThanOrEqual(30_000 - 5);
      expect(r.at).toBeGreaterThanOrEqual(published);
      const step = 50 / 111_320;
      expect(r.msg.vehicle.state.lat).toBeCloseTo(Math.round(lat / step) * step, 12);
    } finally {
      gw.end(true);
      c.ws.close();
    }
  }, 60_000);

  it('counts open connections and lets the cloud close with clients connected', async () => {
    const c = await connect('pilot=test-town', { protocols: ['michi.v1', `bearer.${TOKENS.operator}`] });
    await c.snapshot;
    expect(await metric(t.cloud.metricsUrl, 'michi_cloud_live_clients')).toBeGreaterThanOrEqual(1);
    const closed = new Promise<number>((resolve) => c.ws.once('close', (code) => resolve(code)));
    await t.cloud.close();
    expect(await closed).toBe(1001);
  });
});
