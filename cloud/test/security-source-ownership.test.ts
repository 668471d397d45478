// Pen-test findings 1 and 12 (issue 10), performed against a real cloud (aedes MQTT and grpc-js
// ingest), real mqtt.js and grpc-js gateway clients and a real InfluxDB:
// - a gateway's secret writes only its own sources (the seed's gatewayId, or relayGatewayIds):
//   gw-b cannot add, overwrite or freeze readings of bus-1 and lidar-1, which belong to gw-a;
// - a reading may only use the signal, count and measure names its pilot declares (fieldNames),
//   so a device cannot grow the InfluxDB schema without bound.
// The other readings of an attacking batch are stored; each refusal is counted and logged.
import { describe, expect, it } from 'vitest';
import type { michi } from '@michi/proto';
import { uploadOnce } from './ingest-grpc-support.js';
import {
  API_TOKENS,
  SECRETS,
  batch,
  capturingLogger,
  cloudConfig,
  cloudOnInflux,
  metric,
  publishBatch,
  sensorReading,
  topicOf,
  vehicleState,
} from './support.js';

const DAY_MS = 24 * 3_600_000;

const { logger, lines: logLines } = capturingLogger();

/** One batch over gRPC as `gateway`: its ack. */
const uploadAs = (gateway: 'gw-a' | 'gw-b', readings: michi.v1.Reading.$Properties[], firstSeq: number) =>
  uploadOnce(stack.cloud.grpcPort!, { gateway, secret: SECRETS[gateway] }, batch(gateway, readings, firstSeq));

const stack = cloudOnInflux((influxUrl) => cloudConfig(influxUrl, { grpc: { enabled: true, port: 0 } }), { logger });
const gateway = stack.gateway;

function rejectedReadings(reason: string): Promise<number> {
  return metric(stack.cloud.metricsUrl, 'michi_cloud_readings_rejected_total', { reason });
}

/** The skipped-items log lines of a gateway, with the codes of the rejections they show. */
function loggedCodes(gatewayId: string): string[] {
  return logLines
    .filter((l) => l['msg'] === 'batch items skipped; the rest of the batch was written' && l['gateway'] === gatewayId)
    .flatMap((l) => (l['first'] as { code: string }[]).map((r) => r.code));
}

async function points(measurement: string, where: string): Promise<Record<string, unknown>[]> {
  return stack.influx.rows(`SELECT * FROM "${measurement}" WHERE ${where}`, { epoch: 'ms' });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the API's JSON is dug into by the assertions
async function liveVehicle(id: string): Promise<any> {
  const res = await fetch(`${stack.cloud.url}/api/v1/pilots/test-town/vehicles`, {
    headers: { authorization: `Bearer ${API_TOKENS.operator}` },
  });
  const body = (await res.json()) as { vehicles: { id: string; state: unknown }[] };
  return body.vehicles.find((v) => v.id === id)?.state;
}

describe('source ownership (finding 1)', () => {
  it("MQTT: gw-b cannot write, overwrite or freeze gw-a's bus-1 and lidar-1; its own bus-2 in the same batch is stored", async () => {
    const a = await gateway('gw-a');
    const b = await gateway('gw-b');
    const now = Date.now();
    const t = now - 10_000;
    // gw-a reports bus-1 honestly.
    await publishBatch(a, topicOf('gw-a'), batch('gw-a', [vehicleState('bus-1', t, 1, { speed_mps: 5 })]));
    const rejectedBefore = await rejectedReadings('source_not_owned');

    // The attack, as in the pen-test report: a 6-day-old state of a source that is not gw-b's, the
    // same timestamp as gw-a's point (an overwrite), one 4 minutes ahead (would freeze the live
    // position), a sensor reading of gw-a's lidar; and gw-b's own bus-2 between them.
    await publishBatch(
      b,
      topicOf('gw-b'),
      batch('gw-b', [
        vehicleState('bus-1', now - 6 * DAY_MS, 100, { speed_mps: 33 }),
        vehicleState('bus-1', t, 101, { speed_mps: 33 }),
        vehicleState('bus-2', t, 102),
        vehicleState('bus-1', now + 4 * 60_000, 103, { speed_mps: 33 }),
        sensorReading('lidar-1', t, 104),
      ]),
    );

    // Nothing of the attacker's is in InfluxDB; gw-a's point is intact; gw-b's own reading landed.
    expect(await points('vehicle_state', `"source" = 'bus-1' AND time >= ${now - 7 * DAY_MS}ms`)).toMatchObject([
      { time: t, gateway: 'gw-a', seq: 1, speed_mps: 5 },
    ]);
    expect(await points('sensor_reading', `"source" = 'lidar-1'`)).toEqual([]);
    expect(await points('vehicle_state', `"source" = 'bus-2' AND time = ${t}ms`)).toMatchObject([{ gateway: 'gw-b', seq: 102 }]);

    // The live position is gw-a's, and still moves with gw-a's next report (not frozen in the future).
    expect(await liveVehicle('bus-1')).toMatchObject({ ts_ms: t, speed_mps: 5 });
    await publishBatch(a, topicOf('gw-a'), batch('gw-a', [vehicleState('bus-1', t + 1_000, 2, { speed_mps: 6 })], 2));
    expect(await liveVehicle('bus-1')).toMatchObject({ ts_ms: t + 1_000, speed_mps: 6 });

    expect((await rejectedReadings('source_not_owned')) - rejectedBefore).toBe(4);
    expect(loggedCodes('gw-b')).toEqual(Array(4).fill('MICHI_ERR_SOURCE_NOT_OWNED'));
  });

  it('gRPC: the ack refuses the foreign reading by index with MICHI_ERR_SOURCE_NOT_OWNED and stores the rest', async () => {
    const t = Date.now() - 20_000;
    const ack = await uploadAs('gw-b', [vehicleState('bus-1', t, 200), vehicleState('bus-2', t, 201)], 200);
    // The whole batch is acknowledged (count: its items), the refused reading listed by index.
    expect(ack.status).toBe('ACK_STATUS_ACCEPTED');
    expect(ack.count).toBe(2);
    expect(ack.rejected).toEqual([
      {
        index: 0,
        code: 'MICHI_ERR_SOURCE_NOT_OWNED',
        reason: expect.stringMatching(/source "bus-1" of pilot "test-town" belongs to another gateway; gateway "gw-b"/),
      },
    ]);
    expect(await points('vehicle_state', `"source" = 'bus-1' AND time = ${t}ms`)).toEqual([]);
    expect(await points('vehicle_state', `"source" = 'bus-2' AND time = ${t}ms`)).toMatchObject([{ gateway: 'gw-b', seq: 201 }]);
  });

  it('accepts a relay the seed lists: gw-a may send bus-2 (relayGatewayIds), over gRPC and MQTT', async () => {
    const t = Date.now() - 30_000;
    const ack = await uploadAs('gw-a', [vehicleState('bus-2', t, 300)], 300);
    expect(ack).toMatchObject({ status: 'ACK_STATUS_ACCEPTED', count: 1, rejected: [] });
    const a = await gateway('gw-a');
    await publishBatch(a, topicOf('gw-a'), batch('gw-a', [vehicleState('bus-2', t + 1, 301)], 301));
    expect(await points('vehicle_state', `"source" = 'bus-2' AND time >= ${t}ms AND time <= ${t + 1}ms`)).toMatchObject([
      { gateway: 'gw-a', seq: 300 },
      { gateway: 'gw-a', seq: 301 },
    ]);
  });
  it("never shows a viewer the relay gateways (gateway ids), while an operator sees bus-2's", async () => {
    const pilot = async (token: string): Promise<string> =>
      (await fetch(`${stack.cloud.url}/api/v1/pilots/test-town`, { headers: { authorization: `Bearer ${token}` } })).text();
    expect(await pilot(API_TOKENS.operator)).toContain('"relayGatewayIds":["gw-a"]');
    const viewer = await pilot(API_TOKENS.viewer);
    expect(viewer).not.toContain('relayGatewayIds');
    expect(viewer).not.toContain('gw-a');
  });
});

describe('declared field names (finding 12)', () => {
  async function fieldKeys(measurement: string): Promise<string[]> {
    return (await stack.influx.rows(`SHOW FIELD KEYS FROM "${measurement}"`)).map((r) => String(r['fieldKey']));
  }

  it('MQTT: 50 made-up signal names create no InfluxDB fields; the readings are refused, counted and logged', async () => {
    const a = await gateway('gw-a');
    const t = Date.now() - 40_000;
    const before = await rejectedReadings('undeclared_field');
    const items = Array.from({ length: 50 }, (_, i) => vehicleState('bus-1', t + i, 400 + i, { signals: { [`Vehicle.Junk.${i}`]: i } }));
    items.push(vehicleState('bus-1', t + 50, 450)); // declared: Vehicle.Cabin.Door.Row1.IsOpen
    await publishBatch(a, topicOf('gw-a'), batch('gw-a', items, 400));
    expect((await fieldKeys('vehicle_state')).filter((k) => k.startsWith('sig.'))).toEqual(['sig.Vehicle.Cabin.Door.Row1.IsOpen']);
    expect(await points('vehicle_state', `"source" = 'bus-1' AND time >= ${t}ms AND time <= ${t + 50}ms`)).toMatchObject([{ seq: 450 }]);
    expect((await rejectedReadings('undeclared_field')) - before).toBe(50);
    expect(loggedCodes('gw-a')).toContain('MICHI_ERR_UNDECLARED_FIELD');
  });

  it('gRPC: an undeclared count or measure is refused by index with MICHI_ERR_UNDECLARED_FIELD', async () => {
    const t = Date.now() - 50_000;
    const badCount = sensorReading('lidar-1', t, 500);
    badCount.sensor!.counts = { pedestrians: 1, zebras: 2 };
    const badMeasure = sensorReading('lidar-1', t + 1, 501);
    badMeasure.sensor!.measures = { queue_length_m: 3, made_up: 4 };
    const ack = await uploadAs('gw-a', [badCount, badMeasure, sensorReading('lidar-1', t + 2, 502)], 500);
    expect(ack.status).toBe('ACK_STATUS_ACCEPTED');
    expect(ack.count).toBe(3);
    expect(ack.rejected).toEqual([
      {
        index: 0,
        code: 'MICHI_ERR_UNDECLARED_FIELD',
        reason: 'items[0]: counts name "zebras" is not declared in fieldNames.counts of pilot "test-town"',
      },
      {
        index: 1,
        code: 'MICHI_ERR_UNDECLARED_FIELD',
        reason: 'items[1]: measures name "made_up" is not declared in fieldNames.measures of pilot "test-town"',
      },
    ]);
    const keys = await fieldKeys('sensor_reading');
    expect(keys).not.toContain('count.zebras');
    expect(keys).not.toContain('measure.made_up');
    expect(await points('sensor_reading', `"source" = 'lidar-1' AND time >= ${t}ms`)).toMatchObject([{ seq: 502 }]);
  });
});
