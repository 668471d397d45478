// MCAP recordings: byte-identical for a seed, readable by @mcap/core with the schemas they embed
// (as Foxglove reads them: protobufjs from the FileDescriptorSet), and a replay into a fresh stack
// stores exactly the points the original run stored.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { McapIndexedReader } from '@mcap/core';
import { loadSeeds, readingTopic } from '@michi/proto';
import { pino } from 'pino';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  McapRecorder,
  MqttPublisher,
  NullPublisher,
  openMcapReadings,
  replayRecording,
  runFleet,
  type SimReading,
  decodeRecorded,
  exportFromInflux,
} from '@michi/simulators';
import { startStack, waitFor, type TestStack } from '../../scripts/test-support/index.js';

const PILOT = 'maebashi-l4-bus';
const T0 = Date.UTC(2026, 10, 28, 9);
const logger = pino({ level: 'silent' });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'michi-mcap-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function record(file: string, seed: number, startTsMs = T0, onReading?: (r: SimReading) => void): Promise<SimReading[]> {
  const pilot = loadSeeds('seeds').find((p) => p.id === PILOT)!;
  const recorder = await McapRecorder.create(file, { pilot: PILOT, seed: String(seed) });
  const result = await runFleet({
    pilot,
    publisher: new NullPublisher(),
    durationS: 120,
    speedup: Infinity,
    seed,
    kinds: ['state', 'link', 'event', 'sensor'],
    startTsMs,
    fleet: { clock: {}, autonomy: { takeoverPerH: 20, emergencyStopPerH: 10 } },
    keep: true,
    onReading: (r) => {
      recorder.add(r);
      onReading?.(r);
    },
  });
  await recorder.close();
  return result.readings;
}

describe('MCAP recordings', () => {
  it('are byte-identical for the same seed, and differ for another', async () => {
    const [a, b, c] = ['a', 'b', 'c'].map((n) => path.join(dir, `${n}.mcap`)) as [string, string, string];
    await record(a, 7);
    await record(b, 7);
    await record(c, 8);
    const bytes = readFileSync(a);
    expect(bytes.length).toBeGreaterThan(10_000);
    expect(Buffer.compare(bytes, readFileSync(b))).toBe(0);
    expect(Buffer.compare(bytes, readFileSync(c))).not.toBe(0);
  });

  it('read back with @mcap/core, every message decoded through the schema it embeds', async () => {
    const file = path.join(dir, 'read.mcap');
    const made = await record(file, 3);
    const kinds = new Set(made.map((r) => r.kind));
    expect(kinds).toEqual(new Set(['state', 'link', 'event', 'sensor']));
    const buf = readFileSync(file);
    const reader = await McapIndexedReader.Initialize({
      readable: {
        size: () => Promise.resolve(BigInt(buf.length)),
        read: (o, s) => Promise.resolve(buf.subarray(Number(o), Number(o + s))),
      },
    });
    expect(reader.header.library).toBe('michi-sim');
    expect(reader.statistics?.messageCount).toBe(BigInt(made.length));
    const schemas = [...reader.schemasById.values()];
    expect(schemas.map((s) => [s.name, s.encoding]).sort()).toEqual([
      ['michi.v1.Event', 'protobuf'],
      ['michi.v1.LinkSample', 'protobuf'],
      ['michi.v1.SensorReading', 'protobuf'],
      ['michi.v1.VehicleState', 'protobuf'],
    ]);
    // What a viewer does: build types from the FileDescriptorSet alone, without michi's code.
    const { FileDescriptorSet } = descriptor as unknown as { FileDescriptorSet: protobuf.Type };
    const types = new Map(
      schemas.map((s) => {
        const root = (protobuf.Root as unknown as { fromDescriptor(d: unknown): protobuf.Root }).fromDescriptor(
          FileDescriptorSet.decode(s.data),
        );
        return [s.id, root.lookupType(s.name)];
      }),
    );
    const byKey = new Map(made.map((r) => [`${r.topic}@${r.body.ts_ms}`, r]));
    let n = 0;
    for await (const m of reader.readMessages()) {
      const ch = reader.channelsById.get(m.channelId)!;
      expect(ch.messageEncoding).toBe('protobuf');
      const decoded = types.get(ch.schemaId)!.toObject(types.get(ch.schemaId)!.decode(m.data), { longs: Number, enums: Number });
      const original = byKey.get(`${ch.topic}@${Number(m.logTime / 1_000_000n)}`)!;
      expect(original).toBeDefined();
      expect(decoded['sourceId']).toBe(original.sourceId);
      expect(Number(decoded['seq'])).toBe(Number(original.body.seq));
      expect(m.sequence).toBe(Number(original.body.seq));
      n++;
    }
    expect(n).toBe(made.length);
  });
});

describe('absent measurements in a recording', () => {
  it('stay absent, and a measured 0 stays 0, when recorded and read back (issue 11)', async () => {
    const file = path.join(dir, 'absent.mcap');
    const recorder = await McapRecorder.create(file);
    const at = (kind: 'state' | 'link') => ({
      kind,
      pilotId: PILOT,
      gatewayId: 'gw-1',
      sourceId: 'bus-1',
      topic: readingTopic(PILOT, 'gw-1', 'bus-1', kind),
    });
    recorder.add({ ...at('link'), body: { source_id: 'bus-1', ts_ms: T0, seq: 1, sinr_db: 12, rtt_ms: 0 } });
    recorder.add({ ...at('state'), body: { source_id: 'bus-1', ts_ms: T0 + 1, seq: 2, speed_mps: 3 } });
    await recorder.close();
    const recording = await openMcapReadings(file);
    const bodies = [];
    for await (const r of recording.readings()) bodies.push(decodeRecorded(r) as Record<string, unknown>);
    await recording.close();
    expect(bodies[0]!['rtt_ms']).toBe(0);
    for (const f of ['rsrq_db', 'ul_mbps', 'dl_mbps', 'rsrp_dbm', 'pci']) expect(Object.hasOwn(bodies[0]!, f), f).toBe(false);
    expect(Object.hasOwn(bodies[1]!, 'battery_pct')).toBe(false);
    expect(Object.hasOwn(bodies[1]!, 'odometer_m')).toBe(false);
  });
});

describe('replay into a fresh stack', () => {
  let stack: TestStack | undefined;
  afterAll(async () => {
    await stack?.close();
  });

  /** Every stored point of the pilot, without the cloud's receive time. */
  async function points(s: TestStack): Promise<string[]> {
    const rows: string[] = [];
    for (const m of ['vehicle_state', 'link_sample', 'sensor_reading', 'event']) {
      for (const row of await s.influx.rows(`SELECT * FROM ${m} WHERE pilot = '${PILOT}'`, { epoch: 'ms' })) {
        delete row['recv_ms'];
        rows.push(`${m} ${JSON.stringify(Object.entries(row).sort())}`);
      }
    }
    return rows.sort();
  }

  async function settle(s: TestStack, n: number): Promise<string[]> {
    await waitFor(async () => (await points(s)).length >= n, { timeoutMs: 60_000, what: `${n} points in InfluxDB` });
    return points(s);
  }

  it('stores the same points as the original run', async () => {
    const file = path.join(dir, 'replay.mcap');
    // Recent source times, so the cloud's clock-skew window takes them.
    const start = Date.now() - 5 * 60_000;
    stack = await startStack({ pilotId: PILOT });
    const pilot = stack.pilot;
    const recorder = await McapRecorder.create(file, { pilot: PILOT });
    const live = await runFleet({
      pilot,
      mqttUrl: stack.gatewayUrls,
      deviceKeys: stack.deviceKeys,
      durationS: 60,
      speedup: Infinity,
      seed: 21,
      kinds: ['state', 'link', 'event', 'sensor'],
      startTsMs: start,
      fleet: { clock: {}, autonomy: { takeoverPerH: 30, emergencyStopPerH: 10 } },
      onReading: (r) => recorder.add(r),
    });
    await recorder.close();
    expect(live).toMatchObject({ failed: 0 });
    const original = await settle(stack, live.sent);
    expect(original).toHaveLength(live.sent);

    // The same readings exported back out of InfluxDB (michi-sim record --influx) make the same file's worth.
    const exported = path.join(dir, 'exported.mcap');
    const fromInflux = await McapRecorder.create(exported, { pilot: PILOT });
    for await (const r of exportFromInflux({
      url: stack.influx.url,
      database: stack.influx.database,
      pilotId: PILOT,
      fromMs: start - 60_000,
      toMs: Date.now() + 60_000,
    })) {
      fromInflux.add(r);
    }
    await fromInflux.close();
    const keys = async (f: string): Promise<string[]> => {
      const rec = await openMcapReadings(f);
      const out: string[] = [];
      for await (const r of rec.readings()) out.push(`${r.topic}@${r.tsMs}#${Number(decodeRecorded(r).seq)}`);
      await rec.close();
      return out.sort();
    };
    expect(await keys(exported)).toEqual(await keys(file));
    await stack.close();
    stack = undefined;

    const info = await openMcapReadings(file);
    expect(info.messageCount).toBe(live.sent);
    await info.close();

    stack = await startStack({ pilotId: PILOT });
    const gateways = new Map(Object.entries(stack.gatewayUrls));
    const publisher = await MqttPublisher.open({
      pilotId: PILOT,
      gatewayUrls: gateways,
      clientIdPrefix: 'replay',
      deviceKeys: new Map(Object.entries(stack.deviceKeys)),
      logger,
    });
    try {
      const replayed = await replayRecording({ file, publisher, speed: Infinity });
      expect(replayed).toMatchObject({ sent: live.sent, acked: live.sent, failed: 0 });
    } finally {
      await publisher.close();
    }
    expect(await settle(stack, live.sent)).toEqual(original);
  });
});
