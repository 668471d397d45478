// Issue 13 item 6: a viewer of a pilot with a public delay (other-town: 30 s, 50 m grid, aliased
// ids) who connects to the live feed while nobody else watches it delayed gets, at once, each
// vehicle's state as of now − delay, and then the delayed stream without a pause: the readings of
// the last 30 s come due one by one. Before, the feed kept a delay history only from the first
// delayed viewer's connection on, so the map stood still for the whole delay after connecting.
// Real cloud, real InfluxDB, readings over MQTT from a real gateway client.
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { waitFor } from '../../scripts/test-support/index.js';
import { VIEWER_MAX_SPEED_MPS, coarsen } from '../src/api/privacy.js';
import { AUTH, TOKENS, TOKEN_ENV, apiGet } from './fixtures/api-support.js';
import { batch, cloudConfig, cloudOnInflux, connectGateway, publishBatch, topicOf, vehicleState } from './support.js';

const DELAY_MS = 30_000;
const GRID_M = 50;
/** One state per vehicle per period for a viewer of a coarsened pilot (privacy.ts): 4 s on 50 m. */
const PERIOD_MS = Math.ceil(GRID_M / VIEWER_MAX_SPEED_MPS) * 1000;
const LON = 139.9505678;
/** robot-1's latitude at reading k: 0.001° (~110 m) apart, so every reading lands on its own 50 m cell. */
const latOf = (k: number): number => 35.88 + k * 0.001;

const stack = cloudOnInflux((influxUrl) => cloudConfig(influxUrl, { auth: AUTH }, TOKEN_ENV));

interface Received {
  at: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- messages are dug into by the assertions
  msg: any;
}

describe('live feed, a delayed viewer connecting', () => {
  it('gets the state as of now − delay at once, then the delayed stream without waiting out the delay', async () => {
    const gw = await connectGateway(stack.cloud.mqttPort, 'gw-other');
    /** reading k's source timestamp */
    const tsOf = new Map<number, number>();
    const publish = async (k: number, ts: number): Promise<void> => {
      tsOf.set(k, ts);
      await publishBatch(
        gw,
        topicOf('gw-other', 'other-town'),
        batch('gw-other', [vehicleState('robot-1', ts, k, { position: { lat: latOf(k), lon: LON } })], k, 'other-town'),
      );
    };
    const ws: WebSocket[] = [];
    try {
      // 50 s of drive at 1 Hz, the last reading now: the ones older than 30 s are what a viewer may see.
      const start = Date.now() - 50_000;
      for (let k = 0; k <= 50; k++) await publish(k, start + k * 1000);
      await waitFor(
        async () => (await apiGet(stack.cloud, '/pilots/other-town/vehicles', TOKENS.operator)).body.vehicles[0]?.state?.seq === 50,
        {
          what: 'the last reading in the cache',
        },
      );
      // ...and in InfluxDB, where the stream's first 30 s come from
      await waitFor(
        async () => {
          const r = await apiGet(
            stack.cloud,
            `/pilots/other-town/tracks?from=${start}&to=${start + 50_000}&maxPoints=100`,
            TOKENS.operator,
          );
          return (r.body.tracks?.[0]?.points?.length ?? 0) === 51;
        },
        { what: 'the readings in InfluxDB' },
      );

      // Readings go on in real time while the viewer watches.
      let k = 51;
      const live = setInterval(() => void publish(k++, Date.now()).catch(() => undefined), 1000);

      const connectedAt = Date.now();
      const socket = new WebSocket(`${stack.cloud.url.replace(/^http/, 'ws')}/api/v1/live?pilot=other-town&hz=5`, [
        'michi.v1',
        `bearer.${TOKENS.otherViewer}`,
      ]);
      ws.push(socket);
      const got: Received[] = [];
      socket.on('message', (data: Buffer) => got.push({ at: Date.now(), msg: JSON.parse(data.toString()) }));
      try {
        // 1. The first message, within a second: robot-1 (as vehicle-1) where it was 30 s ago, on the 50 m grid.
        //    (from the upgrade: the handshake is not the feed's doing)
        await new Promise((resolve, reject) => {
          socket.once('open', resolve);
          socket.once('error', reject);
        });
        await waitFor(() => got.length > 0, { timeoutMs: 1_000, what: 'the first message within a second' });
        const first = got[0]!;
        expect(first.msg.type).toBe('snapshot');
        const v = first.msg.vehicles[0];
        expect(v.id).toBe('vehicle-1');
        const ts0 = v.state.ts_ms as number;
        expect(ts0).toBeLessThanOrEqual(first.msg.now_ms - DELAY_MS);
        // (the state as of the last period end before now − delay: up to a period earlier than that)
        expect(ts0).toBeGreaterThan(connectedAt - DELAY_MS - PERIOD_MS - 2_000);
        // A viewer of a coarsened pilot gets one state per sample period (4 s on a 50 m grid, privacy.ts),
        // stamped with the period's end: the last reading at or before that time.
        const kAt = (ts: number): number => Math.max(...[...tsOf].filter(([, t]) => t <= ts).map(([kk]) => kk));
        expect(ts0 % PERIOD_MS).toBe(0);
        const k0 = kAt(ts0);
        expect([v.state.lat, v.state.lon]).toEqual(coarsen(latOf(k0), LON, GRID_M));

        // 2. Then the delayed stream at once: the readings of the last 30 s as they come due, not
        //    nothing until the delay has passed since connecting.
        const states = (): Received[] => got.filter((r) => r.msg.type === 'state');
        await waitFor(() => states().length >= 2, {
          timeoutMs: 3 * PERIOD_MS,
          what: `two delayed states within ${(3 * PERIOD_MS) / 1000} s of connecting (the delay is ${DELAY_MS / 1000} s)`,
        });
        await new Promise((r) => setTimeout(r, PERIOD_MS));
        let prev = ts0;
        const ks: number[] = [];
        for (const { at, msg } of states()) {
          const s = msg.vehicle.state;
          expect(msg.vehicle.id).toBe('vehicle-1');
          // never a reading newer than now − delay (the cloud's clock is this process's), never back in time, never twice
          expect(s.ts_ms).toBeLessThanOrEqual(at - DELAY_MS);
          expect(s.ts_ms).toBeGreaterThan(prev);
          expect(s.ts_ms % PERIOD_MS).toBe(0);
          prev = s.ts_ms;
          const kk = kAt(s.ts_ms);
          ks.push(kk);
          expect([s.lat, s.lon]).toEqual(coarsen(latOf(kk), LON, GRID_M));
          expect(s.link).toBeNull();
        }
        // the periods after the snapshot's, in order (a tick held up by a busy event loop may send the
        // later of two periods that came due meanwhile, as the throttle does)
        expect(ks[0]).toBeLessThanOrEqual(k0 + (2 * PERIOD_MS) / 1000);
        expect(new Set(ks).size).toBe(ks.length);
      } finally {
        clearInterval(live);
      }
    } finally {
      for (const s of ws) s.close();
      gw.end(true);
    }
  });
});
