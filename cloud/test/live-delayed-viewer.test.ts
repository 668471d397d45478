// Regression: a delayed viewer who connects after every other delayed viewer has left must not be
// sent a position from when the last one was connected. The cloud's clock is shifted forward by
// the test, so readings published now are past other-town's 30 s public delay without waiting.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startInfluxDb, waitFor, type InfluxHandle } from '../../scripts/test-support/index.js';
import { startCloud, type CloudService } from '../src/cloud-service.js';
import { fixtureLines } from './fixtures/api-fixture.js';
import { AUTH, TOKENS, TOKEN_ENV, apiGet } from './fixtures/api-support.js';
import { batch, cloudConfig, connectGateway, metric, publishBatch, testLogger, topicOf, vehicleState } from './support.js';

let influx: InfluxHandle;
let cloud: CloudService;
/** Added to the cloud's clock: the cloud lives this far in the future. */
let shiftMs = 0;
/**
 * A viewer's timestamp of a reading on other-town's 50 m grid: the end of its 4 s sample period
 * (privacy.ts); readings 4 s apart are in different periods.
 */
const periodEnd = (ts: number): number => Math.floor(ts / 4_000) * 4_000 + 4_000;

beforeAll(async () => {
  influx = await startInfluxDb();
  await influx.write(fixtureLines(Date.now()));
  cloud = await startCloud(cloudConfig(influx.url, { auth: AUTH }, TOKEN_ENV), { logger: testLogger, now: () => Date.now() + shiftMs });
});

afterAll(async () => {
  await cloud?.close();
  await influx?.stop();
});

interface Viewer {
  ws: WebSocket;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- messages are dug into by the assertions
  messages: any[];
}

/** A viewer of other-town (30 s delay, 50 m grid), once its snapshot has arrived. */
async function viewer(): Promise<Viewer> {
  const ws = new WebSocket(`${cloud.url.replace(/^http/, 'ws')}/api/v1/live?pilot=other-town&hz=5`, [
    'michi.v1',
    `bearer.${TOKENS.otherViewer}`,
  ]);
  const v: Viewer = { ws, messages: [] };
  ws.on('message', (data: Buffer) => v.messages.push(JSON.parse(data.toString())));
  await waitFor(() => v.messages.some((m) => m.type === 'snapshot'), { what: 'the snapshot' });
  return v;
}

async function stateTs(token: string): Promise<number | undefined> {
  return (await apiGet(cloud, '/pilots/other-town/vehicles', token)).body.vehicles[0]?.state?.ts_ms;
}

describe('live feed, delayed viewers', () => {
  it('sends a viewer who connects after the last delayed viewer left nothing older than its snapshot', async () => {
    const gw = await connectGateway(cloud.mqttPort, 'gw-other');
    const publish = (ts: number, seq: number, lat: number) =>
      publishBatch(
        gw,
        topicOf('gw-other', 'other-town'),
        batch('gw-other', [vehicleState('robot-1', ts, seq, { position: { lat, lon: 139.9505678 } })], seq, 'other-town'),
      );
    try {
      // A is connected while robot-1 reports at ts1, then leaves.
      const a = await viewer();
      const ts1 = Date.now();
      await publish(ts1, 10, 35.89);
      await waitFor(async () => (await stateTs(TOKENS.operator)) === ts1, { what: 'the first state in the cache' });
      a.ws.close();
      await waitFor(async () => (await metric(cloud.metricsUrl, 'michi_cloud_live_clients')) === 0, { what: 'A gone' });

      // With nobody watching, robot-1 moves ~1 km (ts2); then both readings are older than the delay.
      const ts2 = ts1 + 4_000;
      await publish(ts2, 11, 35.9);
      await waitFor(async () => (await stateTs(TOKENS.operator)) === ts2, { what: 'the second state in the cache' });
      shiftMs = 50_000;
      await waitFor(async () => (await stateTs(TOKENS.otherViewer)) === periodEnd(ts2), { what: 'the second state in InfluxDB' });

      // B starts from ts2 (InfluxDB) and must not be moved back to ts1.
      const b = await viewer();
      try {
        expect(b.messages[0].vehicles[0].state.ts_ms).toBe(periodEnd(ts2));
        const sent = () => b.messages.filter((m) => m.type === 'state').map((m) => m.vehicle.state.ts_ms as number);
        // a few ticks at 5 Hz: nothing newer than ts2 is known, so nothing is sent
        await new Promise((r) => setTimeout(r, 700));
        expect(sent()).toEqual([]);
        // the next reading, while B watches, reaches B (it is past the delay on the shifted clock)
        const ts3 = ts2 + 4_000;
        await publish(ts3, 12, 35.91);
        await waitFor(() => sent().includes(periodEnd(ts3)), { what: 'the third state' });
        expect(sent()).toEqual([periodEnd(ts3)]);
      } finally {
        b.ws.close();
      }
    } finally {
      gw.end(true);
    }
  });
});
