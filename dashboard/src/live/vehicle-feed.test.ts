// The live feed against a real WebSocket server (ws, on a free loopback port): the snapshot and
// the state messages merge into one list, alarm messages pass through, and polling takes over
// when the socket goes away.
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { MichiApi } from '../api.js';
import { fakeMichiApi } from '../fake-michi-api.js';
import type { LiveAlarmMessage, VehicleStatus } from '../api-types.js';
import { liveVehicles, type FeedTransport, type VehicleFeedListener } from './vehicle-feed.js';

const state = (ts_ms: number, lat = 36.39): VehicleStatus['state'] => ({
  ts_ms,
  recv_ms: ts_ms,
  seq: null,
  link: null,
  lat,
  lon: 139.07,
  speed_mps: 5,
  heading_deg: 0,
  mode: 'AUTONOMOUS' as const,
  battery_pct: 80,
});
const bus = (id: string, s: VehicleStatus['state']): VehicleStatus => ({
  id,
  kind: 'bus',
  name: { ja: id, en: id },
  routeId: 'loop',
  state: s,
});

describe('liveVehicles', () => {
  let server: WebSocketServer | null = null;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = null;
  });

  async function listen(): Promise<{ url: string; requests: string[] }> {
    const requests: string[] = [];
    server = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (p) => (p.has('michi.v1') ? 'michi.v1' : false) });
    server.on('connection', (_ws, req) => requests.push(req.url ?? ''));
    await new Promise((resolve) => server!.once('listening', resolve));
    return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/live?pilot=p&token=t`, requests };
  }

  function api(url: string, polled: { n: number }): MichiApi {
    return fakeMichiApi({
      token: () => 't',
      live: () => ({ url, protocols: ['michi.v1'] }),
      listVehicles: async () => {
        polled.n += 1;
        return [bus('bus-01', state(1))];
      },
    });
  }

  const feeds: { stop(): void }[] = [];
  afterEach(() => {
    for (const feed of feeds.splice(0)) feed.stop();
  });

  /**
   * A server that sends `messages` to each connection, and the feed on it with the lists it shows
   * collected; `listener` adds to the feed's callbacks.
   */
  async function follow(messages: unknown[], listener: Partial<VehicleFeedListener> = {}) {
    const { url, requests } = await listen();
    server!.on('connection', (ws) => {
      for (const m of messages) ws.send(JSON.stringify(m));
    });
    const snapshots: VehicleStatus[][] = [];
    const feed = liveVehicles(
      api(url, { n: 0 }),
      'p',
      { snapshot: (v) => snapshots.push(v), error: () => undefined, ...listener },
      { WebSocket: WebSocket as unknown as typeof globalThis.WebSocket, flushMs: 20 },
    );
    feeds.push(feed);
    return { snapshots, requests };
  }

  it('merges the snapshot and state messages into one list', async () => {
    const transports: FeedTransport[] = [];
    const { snapshots, requests } = await follow(
      [
        { type: 'snapshot', now_ms: 1, vehicles: [bus('bus-01', state(1)), bus('bus-02', null)] },
        { type: 'state', vehicle: { id: 'bus-02', state: state(2, 36.5) } },
        { type: 'state', vehicle: { id: 'bus-01', state: state(3, 36.6) } },
      ],
      { transport: (t) => transports.push(t) },
    );
    await expect.poll(() => snapshots.length, { timeout: 3000 }).toBeGreaterThanOrEqual(2);
    const last = snapshots[snapshots.length - 1]!;
    expect(last.map((v) => [v.id, v.state?.ts_ms, v.name.en])).toEqual([
      ['bus-01', 3, 'bus-01'],
      ['bus-02', 2, 'bus-02'],
    ]);
    expect(transports).toEqual(['websocket']);
    expect(requests[0]).toContain('pilot=p');
  });

  it('passes alarm changes and counts on at once, without a vehicle redraw', async () => {
    const alarms: LiveAlarmMessage[] = [];
    const change = { changeId: 4, kind: 'raised', atMs: 10, alarm: { id: 'p.bus-01.minimal-risk.9', severity: 'critical' } };
    const { snapshots } = await follow(
      [
        { type: 'snapshot', now_ms: 1, vehicles: [bus('bus-01', state(1))] },
        { type: 'alarm', change },
        { type: 'alarm-count', critical: 1, warning: 0, info: 2 },
      ],
      { alarm: (m) => alarms.push(m) },
    );
    await expect.poll(() => alarms.length, { timeout: 3000 }).toBe(2);
    expect(alarms).toEqual([
      { type: 'alarm', change },
      { type: 'alarm-count', critical: 1, warning: 0, info: 2 },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(snapshots).toHaveLength(1);
  });

  it('takes a states message (the changes of one moment) like one state message per vehicle', async () => {
    const { snapshots } = await follow([
      { type: 'snapshot', now_ms: 1, vehicles: [bus('bus-01', state(5)), bus('bus-02', null)] },
      {
        type: 'states',
        vehicles: [
          { id: 'bus-01', state: state(4, 36.1) },
          { id: 'bus-02', state: state(7, 36.7) },
          { id: 'bus-03', state: state(8, 36.8) },
        ],
      },
    ]);
    await expect.poll(() => snapshots.at(-1)?.length, { timeout: 3000 }).toBe(3);
    // bus-01's older state is ignored; the others are taken, a vehicle not in the snapshot too.
    expect(snapshots.at(-1)!.map((v) => [v.id, v.state?.ts_ms])).toEqual([
      ['bus-01', 5],
      ['bus-02', 7],
      ['bus-03', 8],
    ]);
  });

  it('ignores a state older than the one it shows for that vehicle', async () => {
    const { snapshots } = await follow([
      { type: 'snapshot', now_ms: 1, vehicles: [bus('bus-01', state(5)), bus('bus-02', null)] },
      { type: 'state', vehicle: { id: 'bus-01', state: state(3, 36.1) } },
      { type: 'state', vehicle: { id: 'bus-01', state: state(6, 36.6) } },
      { type: 'state', vehicle: { id: 'bus-01', state: state(4, 36.2) } },
      { type: 'state', vehicle: { id: 'bus-02', state: state(2) } },
    ]);
    // bus-02's state comes last: once it is shown, every message has been handled
    await expect.poll(() => snapshots.at(-1)?.find((v) => v.id === 'bus-02')?.state?.ts_ms, { timeout: 3000 }).toBe(2);
    expect(snapshots.at(-1)!.find((v) => v.id === 'bus-01')!.state).toMatchObject({ ts_ms: 6, lat: 36.6 });
  });

  it('polls when the socket closes, and stops polling when stopped', async () => {
    const { url } = await listen();
    server!.on('connection', (ws) => ws.close(1011, 'gone'));
    const polled = { n: 0 };
    const transports: FeedTransport[] = [];
    const errors: unknown[] = [];
    const feed = liveVehicles(
      api(url, polled),
      'p',
      { snapshot: () => undefined, error: (e) => errors.push(e), transport: (t) => transports.push(t) },
      { WebSocket: WebSocket as unknown as typeof globalThis.WebSocket, reconnectMs: 60_000, poll: { intervalMs: 20 } },
    );
    try {
      await expect.poll(() => polled.n, { timeout: 3000 }).toBeGreaterThanOrEqual(2);
      expect(transports).toEqual(['polling']);
      expect(String(errors[0])).toContain('1011');
    } finally {
      feed.stop();
    }
    const after = polled.n;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(polled.n).toBeLessThanOrEqual(after + 1);
  });
});
