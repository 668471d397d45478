// runFleet against real aedes brokers on port 0: what arrives is exactly what was asked for,
// decodable, valid, on the right topics, from the right clients.
import { decodeReadingPayload, detectFormat, loadSeeds, parseTopic, readingBody, type ReadingKind } from '@michi/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/test-support/index.js';
import { SimErrorCodes } from '../src/errors.js';
import { runFleet } from '../src/run-fleet.js';
import { startTestBroker, type ReceivedPublish, type TestBroker } from './aedes-broker.js';
import { testPilot } from './pilot-fixture.js';

const T0 = Date.UTC(2026, 10, 28, 1, 0, 0);

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(async () => {
  await broker?.stop();
});

/** What the broker received since `from`, decoded as an edge agent would. */
function decoded(received: ReceivedPublish[]) {
  return received.map((p) => {
    const topic = parseTopic(p.topic);
    if (topic.type !== 'reading') throw new Error(`unexpected topic ${p.topic}`);
    const reading = decodeReadingPayload(topic.kind, p.payload);
    const body = readingBody(reading);
    return { ...topic, topic: p.topic, clientId: p.clientId, qos: p.qos, format: detectFormat(p.payload), body, reading };
  });
}

describe('runFleet over MQTT', () => {
  it('delivers exactly N decodable, valid readings on the expected topics, with the values it made', async () => {
    const from = broker.received.length;
    const result = await runFleet({
      pilot: testPilot(),
      mqttUrl: broker.url,
      count: 25,
      rateHz: 10,
      speedup: 100,
      kinds: ['state', 'link'],
      startTsMs: T0,
      seed: 3,
      keep: true,
    });
    expect(result).toMatchObject({ sent: 25, acked: 25, failed: 0, failedByReason: {} });
    expect(result.readings).toHaveLength(25);

    // A PUBACK means the broker has it: every acknowledged reading is already there.
    const got = decoded(broker.received.slice(from));
    expect(got).toHaveLength(25);
    for (const r of got) {
      expect(r.pilot).toBe('test-town');
      expect(r.qos).toBe(1);
      expect(r.format).toBe('protobuf');
      expect(r.clientId).toBe(`sim-test-town-${r.gateway}`);
      expect(r.body.source_id).toBe(r.source);
      expect(r.gateway).toBe(r.source === 'robot-1' ? 'gw-b' : 'gw-a');
    }
    // Per source, in the order sent: sequence numbers 1, 2, 3, ... over both kinds.
    for (const source of ['bus-1', 'bus-2', 'robot-1']) {
      const seqs = got.filter((r) => r.source === source).map((r) => r.body.seq);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    }
    // State at 10 Hz, link samples at 1 Hz: 3 vehicles × (1 state + 1 link) at t = 0, then states.
    // (Made in this order; the two gateways' connections may interleave it at the broker.)
    expect(result.readings.slice(0, 6).map((r) => `${r.sourceId}/${r.kind}`)).toEqual([
      'bus-1/state',
      'bus-1/link',
      'bus-2/state',
      'bus-2/link',
      'robot-1/state',
      'robot-1/link',
    ]);
    expect(got.filter((r) => r.kind === 'link')).toHaveLength(3);
    // 6 readings at t = 0, then 3 per 100 ms: the 25th is made at t = 0.7 s.
    expect(new Set(got.map((r) => r.body.ts_ms))).toEqual(new Set([0, 100, 200, 300, 400, 500, 600, 700].map((ms) => T0 + ms)));

    // The values that arrived are the ones the simulator made and reported.
    const made = new Map(result.readings.map((r) => [`${r.sourceId}#${r.body.seq}`, r]));
    got.forEach((r) => {
      const kept = made.get(`${r.source}#${r.body.seq}`)!;
      expect(r.kind).toBe(kept.kind);
      expect(r.topic).toBe(kept.topic);
      if (r.kind === 'state') {
        const s = r.reading.state!;
        const k = kept.body as typeof s;
        expect(s.position!.lat).toBe(k.position!.lat);
        expect(s.position!.lon).toBe(k.position!.lon);
        expect(s.speed_mps).toBeCloseTo(k.speed_mps!, 5);
        expect(s.odometer_m).toBe(k.odometer_m);
        expect(s.mode).toBe(2); // AUTONOMY_MODE_AUTONOMOUS
      } else {
        const l = r.reading.link!;
        expect(['001-01:0x0000000a1', '001-01:0x0000000a2']).toContain(l.cell_id);
        expect(l.rsrp_dbm).toBeLessThan(-31);
      }
    });
  });

  it('publishes proto3 JSON when asked', async () => {
    const from = broker.received.length;
    const result = await runFleet({ pilot: testPilot(), mqttUrl: broker.url, count: 6, speedup: Infinity, format: 'json', startTsMs: T0 });
    expect(result).toMatchObject({ sent: 6, acked: 6, failed: 0 });
    const got = decoded(broker.received.slice(from));
    expect(got.map((r) => r.format)).toEqual(Array(6).fill('json'));
    const first = JSON.parse(broker.received[from]!.payload.toString()) as Record<string, unknown>;
    expect(first).toMatchObject({ source_id: 'bus-1', ts_ms: String(T0), seq: '1', mode: 'AUTONOMY_MODE_AUTONOMOUS' });
  });

  it('gives the same readings for the same seed', async () => {
    const once = async (): Promise<unknown[]> => {
      const from = broker.received.length;
      await runFleet({
        pilot: testPilot(),
        mqttUrl: broker.url,
        count: 30,
        speedup: Infinity,
        seed: 11,
        kinds: ['state', 'link'],
        startTsMs: T0,
      });
      return broker.received.slice(from).map((p) => [p.topic, p.payload.toString('hex')]);
    };
    expect(await once()).toEqual(await once());
  });

  it('spreads the vehicles over each period in `phases` groups, every vehicle once per period', async () => {
    const pilot = testPilot();
    const stamps = async (phases?: number) => {
      const from = broker.received.length;
      await runFleet({ pilot, mqttUrl: broker.url, durationS: 3, speedup: Infinity, kinds: ['state'], startTsMs: T0, phases });
      const bySource = new Map<string, number[]>();
      for (const r of decoded(broker.received.slice(from)))
        bySource.set(r.source, [...(bySource.get(r.source) ?? []), Number(r.body.ts_ms)]);
      return pilot.vehicles.map((v) => bySource.get(v.id)!);
    };
    // Default: every vehicle at the same instants.
    expect(await stamps()).toEqual(pilot.vehicles.map(() => [T0, T0 + 1000, T0 + 2000]));
    const n = pilot.vehicles.length;
    expect(await stamps(n)).toEqual(pilot.vehicles.map((_, i) => [0, 1000, 2000].map((t) => T0 + t + Math.round((i * 1000) / n))));
    await expect(runFleet({ pilot, mqttUrl: broker.url, count: 1, phases: 0 })).rejects.toMatchObject({ code: SimErrorCodes.USAGE });
  });

  it('paces simulated time to the wall clock, scaled by speedup, for durationS simulated seconds', async () => {
    const from = broker.received.length;
    const started = performance.now();
    const result = await runFleet({ pilot: testPilot(), mqttUrl: broker.url, durationS: 6, rateHz: 2, speedup: 10, startTsMs: T0 });
    const wallMs = performance.now() - started;
    // 6 simulated s at 2 Hz: t = 0, 0.5, ..., 5.5, for 3 vehicles; the last at 5.5 s / 10 = 0.55 s.
    expect(result).toMatchObject({ sent: 36, acked: 36, failed: 0 });
    expect(result.simulatedS).toBeCloseTo(5.5, 9);
    expect(wallMs).toBeGreaterThanOrEqual(540);
    expect(wallMs).toBeLessThan(5_000);
    const ts = decoded(broker.received.slice(from)).map((r) => r.body.ts_ms);
    expect([...new Set(ts)]).toEqual(Array.from({ length: 12 }, (_, i) => T0 + i * 500));
  });

  it('stops when its signal aborts, with every reading it sent acknowledged', async () => {
    const abort = new AbortController();
    const from = broker.received.length;
    // Aborted once three ticks of its 3 vehicles reached the broker, however long connecting took on a
    // loaded machine (a fixed 300 ms timer fired before the second tick under a load average of 20).
    const ticks = setInterval(() => {
      if (broker.received.length - from >= 9) abort.abort();
    }, 5);
    const result = await runFleet({ pilot: testPilot(), mqttUrl: broker.url, rateHz: 10, signal: abort.signal, startTsMs: T0 }).finally(
      () => clearInterval(ticks),
    );
    expect(result.failed).toBe(0);
    expect(result.acked).toBe(result.sent);
    // 3 vehicles at 10 Hz until the abort: nothing after it.
    expect(result.sent).toBeGreaterThanOrEqual(9);
    expect(result.sent).toBeLessThanOrEqual(3 * (Math.floor(result.elapsedMs / 100) + 1));
    expect(broker.received.length - from).toBe(result.sent);
  });

  it("sends each gateway's readings to the broker given for it", async () => {
    const other = await startTestBroker();
    try {
      const from = broker.received.length;
      const result = await runFleet({
        pilot: testPilot(),
        mqttUrl: { 'gw-a': broker.url, 'gw-b': other.url },
        count: 9,
        speedup: Infinity,
        startTsMs: T0,
      });
      expect(result).toMatchObject({ sent: 9, acked: 9, failed: 0 });
      const a = decoded(broker.received.slice(from));
      const b = decoded(other.received);
      expect(a.map((r) => r.source).sort()).toEqual(['bus-1', 'bus-1', 'bus-1', 'bus-2', 'bus-2', 'bus-2']);
      expect(b.map((r) => `${r.gateway}/${r.source}/${r.clientId}`)).toEqual(Array(3).fill('gw-b/robot-1/sim-test-town-gw-b'));
    } finally {
      await other.stop();
    }
  });

  it('refuses a gateway without a broker URL, and reports a broker it cannot reach', async () => {
    await expect(runFleet({ pilot: testPilot(), mqttUrl: { 'gw-a': broker.url }, count: 1 })).rejects.toMatchObject({
      code: SimErrorCodes.PILOT,
      message: expect.stringContaining('gateway "gw-b"'),
    });
    const closed = await freePort();
    await expect(runFleet({ pilot: testPilot(), mqttUrl: `mqtt://127.0.0.1:${closed}`, count: 1 })).rejects.toMatchObject({
      code: SimErrorCodes.CONNECT,
      message: expect.stringContaining(`127.0.0.1:${closed}`),
    });
  });

  it('checks its options', async () => {
    const pilot = testPilot();
    await expect(runFleet({ pilot, mqttUrl: broker.url, rateHz: 0 })).rejects.toMatchObject({
      code: SimErrorCodes.USAGE,
      message: 'rateHz: expected a number > 0, got 0',
    });
    await expect(runFleet({ pilot, mqttUrl: broker.url, count: 1.5 })).rejects.toMatchObject({ code: SimErrorCodes.USAGE });
    await expect(runFleet({ pilot, mqttUrl: broker.url, kinds: ['video' as 'state'] })).rejects.toMatchObject({
      code: SimErrorCodes.USAGE,
      message: expect.stringContaining('"video"'),
    });
    await expect(runFleet({ pilot: { ...pilot, vehicles: [] }, mqttUrl: broker.url })).rejects.toMatchObject({ code: SimErrorCodes.USAGE });
  });
});

describe('runFleet with the shipped bus pilot (seeds/)', () => {
  it('delivers valid state and link readings of its buses, served by its cell sites', async () => {
    const pilot = loadSeeds('seeds').find((p) => p.id === 'maebashi-l4-bus');
    expect(pilot, 'seeds/ holds the maebashi-l4-bus pilot').toBeDefined();
    const from = broker.received.length;
    const result = await runFleet({
      pilot: pilot!,
      mqttUrl: broker.url,
      count: 60,
      speedup: Infinity,
      kinds: ['state', 'link'],
      startTsMs: T0,
    });
    expect(result).toMatchObject({ sent: 60, acked: 60, failed: 0 });
    const got = decoded(broker.received.slice(from));
    expect(got).toHaveLength(60);
    const vehicles = new Map(pilot!.vehicles.map((v) => [v.id, v]));
    const cells = new Map(pilot!.cellSites.map((c) => [c.cellId, c]));
    const kinds = new Set<ReadingKind>();
    for (const r of got) {
      kinds.add(r.kind);
      const vehicle = vehicles.get(r.source);
      expect(vehicle, r.source).toBeDefined();
      expect(r.pilot).toBe('maebashi-l4-bus');
      expect(r.gateway).toBe(vehicle!.gatewayId);
      if (r.kind === 'state') {
        const s = r.reading.state!;
        expect(s.speed_mps!).toBeLessThanOrEqual(vehicle!.nominalSpeedKmh / 3.6 + 1e-6);
        // Within the town: a couple of kilometres of the map centre.
        expect(Math.abs(s.position!.lon! - pilot!.map.center[0])).toBeLessThan(0.03);
        expect(Math.abs(s.position!.lat! - pilot!.map.center[1])).toBeLessThan(0.03);
      } else {
        const l = r.reading.link!;
        const site = cells.get(l.cell_id ?? '');
        expect(site, `cell ${l.cell_id}`).toBeDefined();
        expect(l.pci).toBe(site!.pci);
        expect(l.band).toBe(site!.band);
      }
    }
    expect(kinds).toEqual(new Set(['state', 'link']));
  });
});
