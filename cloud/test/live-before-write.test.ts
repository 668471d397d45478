// Issue 6: the live feed does not wait for InfluxDB. With a real InfluxDB paused (SIGSTOP: it takes
// the write and answers nothing), a validated batch reaches the WebSocket live feed while its
// acknowledgement is still held; the ack comes only once InfluxDB took the write. A batch resent
// after a failed write, and an older reading, never move a vehicle's latest state back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { waitFor } from '../../scripts/test-support/index.js';
import type { CloudIngestClient } from '../src/ingest-grpc-client.js';
import { TOKENS, apiGet, startApiTestCloud, type ApiTestCloud } from './fixtures/api-support.js';
import { grpcClient, openUpload, type UploadSession } from './ingest-grpc-support.js';
import { SECRETS, batch, vehicleState } from './support.js';

let t: ApiTestCloud;
let client: CloudIngestClient;

beforeAll(async () => {
  t = await startApiTestCloud({ grpc: { enabled: true, port: 0 }, influx: { timeoutMs: 1_500 } });
  client = grpcClient(t.cloud.grpcPort!);
});

afterAll(async () => {
  t?.influx.resume();
  client?.close();
  await t?.close();
});

interface LiveState {
  vehicle: { id: string; state: { ts_ms: number; seq: number; speed_mps: number } };
}

/** A live feed of test-town for the operator, collecting its `state` messages of bus-1. */
async function liveBus1(): Promise<{ states: LiveState[]; close: () => void }> {
  const ws = new WebSocket(`${t.cloud.url.replace(/^http/, 'ws')}/api/v1/live?pilot=test-town&hz=10`, [
    'michi.v1',
    `bearer.${TOKENS.operator}`,
  ]);
  const states: LiveState[] = [];
  let snapshot: () => void;
  const gotSnapshot = new Promise<void>((resolve) => (snapshot = resolve));
  ws.on('message', (data: Buffer) => {
    const msg = JSON.parse(data.toString()) as { type: string } & LiveState;
    if (msg.type === 'snapshot') snapshot();
    if (msg.type === 'state' && msg.vehicle.id === 'bus-1') states.push(msg);
  });
  await gotSnapshot;
  return { states, close: () => ws.close() };
}

async function bus1State(): Promise<{ ts_ms: number; seq: number }> {
  const res = await apiGet(t.cloud, '/pilots/test-town/vehicles', TOKENS.operator);
  return (res.body.vehicles as { id: string; state: { ts_ms: number; seq: number } }[]).find((v) => v.id === 'bus-1')!.state;
}

describe('live feed before the InfluxDB write (issue 6)', () => {
  let up: UploadSession;

  it('shows a validated state while InfluxDB is paused and its acknowledgement is held', async () => {
    const live = await liveBus1();
    up = openUpload(client, { gateway: 'gw-a', secret: SECRETS['gw-a'] });
    const ts = Date.now() - 1_000;
    t.influx.pause();
    try {
      let acked = false;
      const ack = up.send(batch('gw-a', [vehicleState('bus-1', ts, 5001, { speed_mps: 7 })], 5001)).finally(() => (acked = true));
      await waitFor(() => live.states.some((s) => s.vehicle.state.ts_ms === ts) || undefined, {
        timeoutMs: 1_000,
        what: 'the state on the live feed while InfluxDB is paused',
      });
      expect(acked).toBe(false);
      expect(await bus1State()).toMatchObject({ ts_ms: ts, seq: 5001 });
      // InfluxDB never answered: not acknowledged, the gateway must send it again.
      expect((await ack).status).toBe('ACK_STATUS_RETRY');
    } finally {
      t.influx.resume();
      live.close();
    }
  });

  it('a resent batch lands once, and neither it nor an older reading moves the vehicle back or pushes it again', async () => {
    const live = await liveBus1();
    try {
      const ts = Date.now() - 500;
      // A newer state, then the resend of an older batch and an older reading.
      expect((await up.send(batch('gw-a', [vehicleState('bus-1', ts, 5003, { speed_mps: 9 })], 5003))).status).toBe('ACK_STATUS_ACCEPTED');
      await waitFor(() => live.states.some((s) => s.vehicle.state.ts_ms === ts) || undefined, { what: 'the newer state live' });
      const older = batch('gw-a', [vehicleState('bus-1', ts - 2_000, 5002, { speed_mps: 8 })], 5002);
      expect((await up.send(older)).status).toBe('ACK_STATUS_ACCEPTED');
      expect((await up.send(older)).status).toBe('ACK_STATUS_ACCEPTED');
      // The same reading again: the same timestamp is the same reading, pushed once.
      expect((await up.send(batch('gw-a', [vehicleState('bus-1', ts, 5003, { speed_mps: 9 })], 5003))).status).toBe('ACK_STATUS_ACCEPTED');
      await new Promise((r) => setTimeout(r, 300));
      expect(await bus1State()).toMatchObject({ ts_ms: ts, seq: 5003, speed_mps: 9 });
      expect(live.states.map((s) => s.vehicle.state.ts_ms)).toEqual([ts]);
      // The older reading is stored all the same (the track has it), once.
      const rows = await t.influx.rows(`SELECT "seq" FROM "vehicle_state" WHERE "source" = 'bus-1' AND time = ${ts - 2_000}ms`);
      expect(rows).toHaveLength(1);
    } finally {
      live.close();
      up.end();
    }
  });
});
