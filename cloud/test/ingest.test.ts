// The MQTT ingest against a real InfluxDB and real mqtt.js gateway clients: a PUBACK means the
// readings are in InfluxDB; replays overwrite; gateways stay in their own lane; a failed write
// is never acknowledged, and the resend after reconnecting lands exactly once.
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { encodeBatch } from '@michi/proto';
import { serverNoDelayCalls, waitFor } from '../../scripts/test-support/index.js';
import {
  batch,
  cloudConfig,
  cloudOnInflux,
  connectGateway,
  linkSample,
  metric,
  publishBatch,
  publishOutcome,
  sensorReading,
  takeover,
  topicOf,
  vehicleState,
} from './support.js';

const stack = cloudOnInflux((influxUrl) => cloudConfig(influxUrl, { influx: { timeoutMs: 3_000 } }));
const gateway = stack.gateway;

async function count(measurement: string, where = 'true'): Promise<number> {
  const rows = await stack.influx.rows(`SELECT count("seq") FROM "${measurement}" WHERE ${where}`);
  return Number(rows[0]?.['count'] ?? 0);
}

describe('MQTT ingest', () => {
  it('acknowledges a batch only once every reading is queryable in InfluxDB, with the values sent', async () => {
    const gw = await gateway('gw-a');
    const t0 = Date.now() - 10_000;
    const items = [
      ...Array.from({ length: 50 }, (_, i) => vehicleState('bus-1', t0 + i * 100, i + 1)),
      linkSample('bus-1', t0 + 1, 100),
      sensorReading('lidar-1', t0 + 2, 7),
      takeover('bus-1', t0 + 3, 101),
    ];
    await publishBatch(gw, topicOf('gw-a'), batch('gw-a', items));

    // No waiting: the PUBACK itself says the points are there.
    expect(await count('vehicle_state', `"source" = 'bus-1'`)).toBe(50);
    const [state] = await stack.influx.rows(`SELECT * FROM vehicle_state WHERE "source" = 'bus-1' AND time = ${t0 + 4900}ms`, {
      epoch: 'ms',
    });
    expect(state).toMatchObject({
      time: t0 + 4900,
      pilot: 'test-town',
      source: 'bus-1',
      gateway: 'gw-a',
      seq: 50,
      lat: 36.3839 + 50 * 1e-5,
      lon: 139.0733,
      speed_mps: 5.5,
      heading_deg: 12.25,
      mode: 'AUTONOMOUS',
      battery_pct: 80.5,
      odometer_m: 1234.5,
      'sig.Vehicle.Cabin.Door.Row1.IsOpen': 0,
    });
    expect(state!['recv_ms']).toBeGreaterThanOrEqual(t0 + 10_000 - 5_000);

    const [link] = await stack.influx.rows(`SELECT * FROM link_sample WHERE "source" = 'bus-1'`, { epoch: 'ms' });
    expect(link).toMatchObject({
      time: t0 + 1,
      cell: '001-01:0x0000a1',
      pci: 101,
      band: 'n79',
      rsrp_dbm: -85.5,
      rsrq_db: -10.5,
      sinr_db: 18,
      slice: 'URLLC',
      handover: false,
      seq: 100,
    });
    const [sensor] = await stack.influx.rows(`SELECT * FROM sensor_reading WHERE "source" = 'lidar-1'`, { epoch: 'ms' });
    expect(sensor).toMatchObject({
      time: t0 + 2,
      sensor_kind: 'LIDAR',
      'count.pedestrians': 3,
      'count.vehicles': 12,
      'measure.queue_length_m': 35.5,
    });
    const [event] = await stack.influx.rows(`SELECT * FROM event WHERE "source" = 'bus-1'`, { epoch: 'ms' });
    expect(event).toMatchObject({
      time: t0 + 3,
      type: 'TAKEOVER',
      cause: 'PEDESTRIAN',
      severity: 'WARNING',
      duration_ms: 4200,
      detail: 'pedestrian stepped out, "quoted", back\\slash\nnew line',
    });

    expect(await metric(stack.cloud.metricsUrl, 'michi_cloud_readings_accepted_total', { kind: 'state' })).toBeGreaterThanOrEqual(50);
  });

  it('overwrites on replay: the same batch again, or relayed by another gateway, adds no points', async () => {
    const a = await gateway('gw-a');
    const b = await gateway('gw-b');
    const t0 = Date.now() - 60_000;
    const items = Array.from({ length: 20 }, (_, i) => vehicleState('bus-2', t0 + i * 10, 1_000 + i));
    await publishBatch(b, topicOf('gw-b'), batch('gw-b', items, 1_000));
    await publishBatch(b, topicOf('gw-b'), batch('gw-b', items, 1_000));
    await publishBatch(a, topicOf('gw-a'), batch('gw-a', items, 1_000));
    expect(await count('vehicle_state', `"source" = 'bus-2' AND time >= ${t0}ms AND time < ${t0 + 200}ms`)).toBe(20);
    const rows = await stack.influx.rows(
      `SELECT "gateway" FROM vehicle_state WHERE "source" = 'bus-2' AND time >= ${t0}ms AND time < ${t0 + 200}ms`,
    );
    expect(new Set(rows.map((r) => r['gateway']))).toEqual(new Set(['gw-a'])); // the last relay wins
  });

  it('times each hop of a reading from the batch it came in: held_ms and sent_ts_ms (issue 15)', async () => {
    const gw = await gateway('gw-a');
    const hop = (name: string, hop: string) => metric(stack.cloud.metricsUrl, `michi_cloud_hop_latency_seconds_${name}`, { hop });
    const read = async () => ({
      heldN: await hop('count', 'edge_held'),
      heldSum: await hop('sum', 'edge_held'),
      toEdgeSum: await hop('sum', 'to_edge'),
      uplinkN: await hop('count', 'uplink'),
      uplinkSum: await hop('sum', 'uplink'),
      validateN: await hop('count', 'validate'),
    });
    const before = await read();
    const sent = Date.now() - 30;
    // Received by the gateway 60 and 10 ms before it sent them, each 5 ms after its source timestamp.
    const items = [vehicleState('bus-1', sent - 65, 3_001), vehicleState('bus-1', sent - 15, 3_002)];
    const fromNewEdge = encodeBatch({
      pilot_id: 'test-town',
      gateway_id: 'gw-a',
      first_seq: 3_001,
      items,
      sent_ts_ms: sent,
      held_ms: [60, 10],
    });
    await publishBatch(gw, topicOf('gw-a'), fromNewEdge);
    const after = await read();
    expect(after.heldN - before.heldN).toBe(2);
    expect(after.heldSum - before.heldSum).toBeCloseTo(0.07, 6);
    expect(after.toEdgeSum - before.toEdgeSum).toBeCloseTo(0.01, 6);
    expect(after.uplinkN - before.uplinkN).toBe(2);
    expect(after.uplinkSum - before.uplinkSum).toBeGreaterThanOrEqual(0.06);
    expect(after.validateN - before.validateN).toBe(2);

    // A gateway older than held_ms: the hops after sent_ts_ms only.
    await publishBatch(gw, topicOf('gw-a'), batch('gw-a', [vehicleState('bus-1', Date.now() - 5, 3_003)], 3_003));
    const old = await read();
    expect([old.heldN, old.uplinkN, old.validateN]).toEqual([after.heldN, after.uplinkN + 1, after.validateN + 1]);
  });

  it('sets TCP_NODELAY on every gateway connection (Nagle cost 15-43 ms per hop on loopback)', async () => {
    expect(await serverNoDelayCalls(async () => ((await gateway('gw-a')).stream as net.Socket).localPort!)).toBe(1);
  });

  it('refuses a wrong password, an unknown gateway and a gateway without a configured secret, and counts them', async () => {
    await expect(connectGateway(stack.cloud.mqttPort, 'gw-a', { password: 'wrong' })).rejects.toMatchObject({ code: 4 });
    await expect(connectGateway(stack.cloud.mqttPort, 'gw-nobody', { password: 'x' })).rejects.toMatchObject({ code: 4 });
    await expect(connectGateway(stack.cloud.mqttPort, 'gw-nosecret', { password: 'anything' })).rejects.toMatchObject({ code: 5 });
    expect(await metric(stack.cloud.metricsUrl, 'michi_cloud_failed_logins_total', { reason: 'bad_password' })).toBe(1);
    expect(await metric(stack.cloud.metricsUrl, 'michi_cloud_failed_logins_total', { reason: 'unknown_gateway' })).toBe(1);
  });

  it("refuses gateway A publishing on gateway B's topic or with B's id in the batch, closing the connection", async () => {
    const t = Date.now() - 1_000;
    const onTopicOfB = await gateway('gw-a');
    expect(await publishOutcome(onTopicOfB, topicOf('gw-b'), batch('gw-b', [vehicleState('bus-1', t, 5_000)]))).toBe('closed');
    const withIdOfB = await gateway('gw-a');
    expect(await publishOutcome(withIdOfB, topicOf('gw-a'), batch('gw-b', [vehicleState('bus-1', t + 1, 5_001)]))).toBe('closed');
    const otherPilot = await gateway('gw-a');
    expect(await publishOutcome(otherPilot, topicOf('gw-a'), batch('gw-a', [vehicleState('bus-1', t + 2, 5_002)], 1, 'other-town'))).toBe(
      'closed',
    );

    expect(await count('vehicle_state', `time >= ${t}ms AND time <= ${t + 2}ms`)).toBe(0);
    expect(await metric(stack.cloud.metricsUrl, 'michi_cloud_batches_rejected_total', { reason: 'forbidden_topic' })).toBe(1);
    expect(await metric(stack.cloud.metricsUrl, 'michi_cloud_batches_rejected_total', { reason: 'gateway_mismatch' })).toBe(1);
    expect(await metric(stack.cloud.metricsUrl, 'michi_cloud_batches_rejected_total', { reason: 'pilot_mismatch' })).toBe(1);
  });

  it('writes the valid items of a batch and counts the others by reason', async () => {
    const gw = await gateway('gw-a');
    const now = Date.now();
    const before = {
      invalid: await metric(stack.cloud.metricsUrl, 'michi_cloud_readings_rejected_total', { reason: 'invalid_reading' }),
      unknown: await metric(stack.cloud.metricsUrl, 'michi_cloud_readings_rejected_total', { reason: 'unknown_source' }),
      skew: await metric(stack.cloud.metricsUrl, 'michi_cloud_readings_rejected_total', { reason: 'clock_skew' }),
    };
    const items = [
      vehicleState('bus-1', now - 500, 9_000),
      vehicleState('bus-1', now - 400, 9_001, { speed_mps: 500 }), // out of range
      vehicleState('bus-9', now - 300, 9_002), // no such vehicle
      sensorReading('bus-1', now - 200, 9_003), // a vehicle sending a sensor reading
      vehicleState('bus-1', now - 8 * 24 * 3600_000, 9_004), // older than the 7-day window
      vehicleState('bus-1', now + 10 * 60_000, 9_005), // 10 minutes ahead
      vehicleState('bus-1', now - 100, 9_006),
    ];
    await publishBatch(gw, topicOf('gw-a'), batch('gw-a', items, 9_000));
    const rows = await stack.influx.rows(`SELECT "seq" FROM vehicle_state WHERE "seq" >= 9000 AND "seq" < 9100`);
    expect(rows.map((r) => r['seq']).sort()).toEqual([9_000, 9_006]);
    expect(await metric(stack.cloud.metricsUrl, 'michi_cloud_readings_rejected_total', { reason: 'invalid_reading' })).toBe(
      before.invalid + 1,
    );
    expect(await metric(stack.cloud.metricsUrl, 'michi_cloud_readings_rejected_total', { reason: 'unknown_source' })).toBe(
      before.unknown + 2,
    );
    expect(await metric(stack.cloud.metricsUrl, 'michi_cloud_readings_rejected_total', { reason: 'clock_skew' })).toBe(before.skew + 2);
  });

  it('acknowledges and counts a payload that can never be decoded, so the gateway does not resend it forever', async () => {
    const gw = await gateway('gw-a');
    expect(await publishOutcome(gw, topicOf('gw-a'), Buffer.from('{"pilot_id": "test-town", "gateway_id": "gw-a", "bogus": 1}'))).toBe(
      'acked',
    );
    expect(await metric(stack.cloud.metricsUrl, 'michi_cloud_batches_rejected_total', { reason: 'decode' })).toBe(1);
  });

  it("ignores a gateway's last will, even one on its batch topic", async () => {
    const t = Date.now() - 1_000;
    const gw = await gateway('gw-a', {
      will: { topic: topicOf('gw-a'), payload: Buffer.from(batch('gw-a', [vehicleState('bus-1', t, 30_000)])), qos: 1 },
    });
    gw.stream.destroy(); // an unclean disconnect: the broker publishes the will
    await waitFor(async () => (await metric(stack.cloud.metricsUrl, 'michi_cloud_batches_rejected_total', { reason: 'will' })) === 1, {
      what: 'the will to be refused',
    });
    expect(await count('vehicle_state', `"seq" = 30000`)).toBe(0);
  });

  it('does not acknowledge while InfluxDB hangs, closes the connection, and the resend after reconnecting lands exactly once', async () => {
    const gw = await gateway('gw-b', { reconnectPeriod: 300 });
    const t0 = Date.now() - 5_000;
    const items = Array.from({ length: 10 }, (_, i) => vehicleState('bus-2', t0 + i, 20_000 + i));
    let acked = false;
    let closes = 0;
    gw.on('close', () => closes++);
    stack.influx.pause();
    const published = publishBatch(gw, topicOf('gw-b'), batch('gw-b', items, 20_000)).then(() => {
      acked = true;
    });
    try {
      await waitFor(() => closes > 0, { timeoutMs: 10_000, what: 'the cloud to close the connection' });
      expect(acked).toBe(false);
      expect(
        await metric(stack.cloud.metricsUrl, 'michi_cloud_batches_rejected_total', { reason: 'storage_unreachable' }),
      ).toBeGreaterThanOrEqual(1);
    } finally {
      stack.influx.resume();
    }
    await published; // mqtt.js resent it after reconnecting; this PUBACK follows the write
    expect(await count('vehicle_state', `"seq" >= 20000 AND "seq" < 20010`)).toBe(10);
  });
});
