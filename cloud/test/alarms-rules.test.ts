// Each alarm rule family against the real cloud: readings published over MQTT as a gateway, into a
// real InfluxDB, raise and clear alarms that the engine holds and its SQLite store keeps.
import type { MqttClient } from 'mqtt';
import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../scripts/test-support/index.js';
import type { Alarm, AlarmChange, AlarmRule } from '../src/alarms/index.js';
import { NO_GO, OUTSIDE, SLOW, alarmSeeds, eventOf } from './alarms-support.js';
import {
  PILOT,
  batch,
  cloudConfig,
  cloudOnInflux,
  linkSample,
  metric,
  publishBatch,
  sensorReading,
  topicOf,
  vehicleState,
} from './support.js';

const changes: AlarmChange[] = [];
let seq = 1;

const stack = cloudOnInflux((influxUrl) => {
  const seedsDir = alarmSeeds(
    {
      rules: {
        'source-silent': { vehicleS: 60 },
        'gateway-backlog': { lagS: 5 },
        'link-degraded': { forS: 0 },
        'remote-intervention': { autoClearS: 1 },
      },
    },
    (town) => {
      (town['vehicles'] as Record<string, unknown>[])[0]!['silenceS'] = 1; // bus-1
      (town['vehicles'] as Record<string, unknown>[])[1]!['silenceS'] = 1; // bus-2, of gw-b
      (town['gateways'] as Record<string, unknown>[])[1]!['silenceS'] = 2; // gw-b
    },
  );
  return cloudConfig(influxUrl, { seedsDir, alarms: { lateAfterS: 5, tickIntervalMs: 100 } });
});
/** The one client of each gateway that send() publishes with. */
const clients = new Map<string, MqttClient>();

beforeAll(() => {
  stack.cloud.alarms!.onChange((c) => changes.push(c));
});

async function send(gateway: string, ...items: Parameters<typeof batch>[1]): Promise<void> {
  let c = clients.get(gateway);
  if (!c) {
    c = await stack.gateway(gateway);
    clients.set(gateway, c);
  }
  await publishBatch(c, topicOf(gateway), batch(gateway, items, seq));
  seq += items.length;
}

/** The open alarm of (source, rule), as the store has it. */
function open(source: string, rule: AlarmRule): Alarm | undefined {
  return stack.cloud.alarms!.store.listOpen(PILOT).find((a) => a.source === source && a.rule === rule);
}

function kinds(source: string, rule: AlarmRule): string[] {
  return changes.filter((c) => c.alarm.source === source && c.alarm.rule === rule).map((c) => c.kind);
}

const state = (source: string, ts: number, extra: Parameters<typeof vehicleState>[3] = {}) => vehicleState(source, ts, seq++, extra);

describe('alarm rules on ingested readings', () => {
  it('events: emergency stop (critical) and takeover (warning) stay until an operator clears them; remote intervention clears itself', async () => {
    const t = Date.now();
    await send('gw-a', eventOf(3, 'bus-1', t, seq), eventOf(1, 'bus-1', t + 1, seq + 1), eventOf(4, 'bus-1', t + 2, seq + 2));
    expect(open('bus-1', 'emergency-stop')).toMatchObject({ severity: 'critical', state: 'active', count: 1 });
    expect(open('bus-1', 'takeover')).toMatchObject({ severity: 'warning', state: 'active' });
    await waitFor(() => kinds('bus-1', 'remote-intervention').includes('cleared'), {
      timeoutMs: 5_000,
      what: 'the remote intervention auto-cleared',
    });
    const stop = open('bus-1', 'emergency-stop')!;
    stack.cloud.alarms!.acknowledge(stop.id, 'test-operator', 'on the phone with the driver');
    stack.cloud.alarms!.clear(stop.id, 'test-operator');
    expect(open('bus-1', 'emergency-stop')).toBeUndefined();
    expect(stack.cloud.alarms!.store.get(stop.id)).toMatchObject({
      state: 'cleared',
      clearedBy: 'test-operator',
      acknowledgedBy: 'test-operator',
    });
    expect(await metric(stack.cloud.metricsUrl, 'michi_cloud_alarm_changes_total', { kind: 'raised', rule: 'emergency-stop' })).toBe(1);
  });

  it('the same batch sent twice yields one alarm', async () => {
    stack.cloud.alarms!.clear(open('bus-1', 'takeover')!.id, 'test-operator');
    const payload = batch('gw-a', [eventOf(1, 'bus-1', Date.now(), 500)], 500);
    const c = await stack.gateway('gw-a');
    await publishBatch(c, topicOf('gw-a'), payload);
    await publishBatch(c, topicOf('gw-a'), payload);
    expect(kinds('bus-1', 'takeover')).toEqual(['raised', 'cleared', 'raised']);
    expect(open('bus-1', 'takeover')!.count).toBe(1);
  });

  it('vehicle state: minimal-risk mode, geofences (outside, no-go, slow zone) and low battery raise and clear', async () => {
    let t = Date.now() - 3_000;
    await send('gw-a', state('bus-1', (t += 100), { mode: 5, position: { lat: NO_GO.lat, lon: NO_GO.lon }, battery_pct: 15 }));
    expect(open('bus-1', 'minimal-risk')).toMatchObject({ severity: 'critical' });
    expect(open('bus-1', 'in-no-go-zone')).toMatchObject({ position: { lat: NO_GO.lat, lon: NO_GO.lon } });
    expect(open('bus-1', 'low-battery')).toMatchObject({ worstValue: 15, unit: '%' });
    await send('gw-a', state('bus-1', (t += 100), { mode: 2, position: { lat: SLOW.lat, lon: SLOW.lon }, speed_mps: 5, battery_pct: 22 }));
    expect(open('bus-1', 'minimal-risk')).toBeUndefined();
    expect(open('bus-1', 'in-no-go-zone')).toBeUndefined();
    expect(open('bus-1', 'over-slow-zone-limit')).toMatchObject({ worstValue: 5, unit: 'm/s' });
    expect(open('bus-1', 'low-battery')).toBeDefined(); // 22 %: not above the clear threshold (25 %)
    await send('gw-a', state('bus-1', (t += 100), { position: { lat: OUTSIDE.lat, lon: OUTSIDE.lon }, battery_pct: 30 }));
    expect(open('bus-1', 'over-slow-zone-limit')).toBeUndefined();
    expect(open('bus-1', 'low-battery')).toBeUndefined();
    expect(open('bus-1', 'outside-operational-area')).toMatchObject({ severity: 'critical' });
    await send('gw-a', state('bus-1', t + 100));
    expect(open('bus-1', 'outside-operational-area')).toBeUndefined();
    for (const rule of ['minimal-risk', 'in-no-go-zone', 'over-slow-zone-limit', 'low-battery', 'outside-operational-area'] as const)
      expect(kinds('bus-1', rule)).toEqual(['raised', 'cleared']);
  });

  it('5G link: degraded below the raise threshold, still degraded between the thresholds, cleared past the clear threshold', async () => {
    let t = Date.now() - 3_000;
    const link = (rsrp: number) => ({ link: { ...linkSample('bus-1', (t += 100), seq++).link, rsrp_dbm: rsrp } });
    await send('gw-a', link(-120));
    expect(open('bus-1', 'link-degraded')).toMatchObject({ worstValue: -120, unit: 'dBm' });
    await send('gw-a', link(-107));
    expect(open('bus-1', 'link-degraded')).toBeDefined();
    await send('gw-a', link(-100));
    expect(open('bus-1', 'link-degraded')).toBeUndefined();
    expect(kinds('bus-1', 'link-degraded')).toEqual(['raised', 'cleared']);
  });

  it('silence: a source while its gateway goes on sending, cleared when it reports; a gateway; not its sources', async () => {
    await send('gw-a', state('bus-1', Date.now()));
    // gw-a goes on sending its LiDAR's readings; bus-1 says nothing for its 1 s.
    const keepSending = setInterval(() => void send('gw-a', sensorReading('lidar-1', Date.now(), seq++)).catch(() => {}), 200);
    try {
      await waitFor(() => open('bus-1', 'source-silent'), { timeoutMs: 5_000, what: "bus-1's silence alarm" });
    } finally {
      clearInterval(keepSending);
    }
    await send('gw-a', state('bus-1', Date.now()));
    expect(open('bus-1', 'source-silent')).toBeUndefined();
    // gw-b (silenceS 2) has sent nothing since the cloud started; nor has bus-2 (silenceS 1), whose
    // alarm the gateway's explains.
    const silent = await waitFor(() => open('gw-b', 'gateway-silent'), { timeoutMs: 5_000, what: "gw-b's silence alarm" });
    expect(silent).toMatchObject({ sourceType: 'gateway', severity: 'critical' });
    expect(kinds('bus-2', 'source-silent')).toEqual([]);
    await send('gw-b', state('bus-2', Date.now()));
    expect(open('gw-b', 'gateway-silent')).toBeUndefined();
  });

  it('a backlog (readings older than lateAfterS) raises gateway-backlog and no alarm of its readings; caught up, it clears', async () => {
    const old = Date.now() - 20_000;
    await send('gw-a', state('bus-1', Date.now() - 21_000)); // before the backlog: bus-1's newest so far is older
    await send('gw-b', state('bus-1', old, { mode: 5 }), eventOf(3, 'bus-1', old + 1, seq));
    expect(open('gw-b', 'gateway-backlog')).toMatchObject({ severity: 'info', unit: 's' });
    expect(open('bus-1', 'minimal-risk')).toBeUndefined();
    expect(open('bus-1', 'emergency-stop')).toBeUndefined();
    // Live data goes on beside the backlog; lagS (5 s) after the last batch behind, it has caught up.
    await send('gw-b', state('bus-2', Date.now()));
    expect(open('gw-b', 'gateway-backlog')).toBeDefined();
    await waitFor(() => kinds('gw-b', 'gateway-backlog').includes('cleared'), { timeoutMs: 10_000, what: 'the backlog alarm cleared' });
    expect(await metric(stack.cloud.metricsUrl, 'michi_cloud_alarms_open', { severity: 'info' })).toBe(0);
  });
});
