// The load the scale-out tests (scale-out.test.ts, nats-cluster.test.ts) put through a broker while
// they kill workers or nodes: three gateways of two pilots, each publishing its source's vehicle
// states with sequence numbers 1..N in batches at QoS 1, ten unacknowledged at most, so that
// afterwards each source can be checked for exactly-once by sequence number (expectEachReadingOnce).
import type { MqttClient } from 'mqtt';
import { expect } from 'vitest';
import { waitFor, type InfluxHandle } from '../../scripts/test-support/index.js';
import { SECRETS, batch, publishBatch, vehicleState } from './support.js';

const LOAD_SOURCES = [
  { gateway: 'gw-a', pilot: 'test-town', source: 'bus-1' },
  { gateway: 'gw-b', pilot: 'test-town', source: 'bus-2' },
  { gateway: 'gw-other', pilot: 'other-town', source: 'robot-1' },
] as const;
const BATCHES = 150;
const PER_BATCH = 20;
/** Readings each source publishes, sequence numbers 1..READINGS_PER_SOURCE. */
const READINGS_PER_SOURCE = BATCHES * PER_BATCH;

export interface SequencedLoad {
  /** Resolves once every batch is acknowledged. */
  readonly done: Promise<void>;
  /** Batches acknowledged so far. */
  published(): number;
  readonly batches: number;
  /** Resolves once a third of the batches is acknowledged: mid-stream, where the tests kill something. */
  aThirdPublished(timeoutMs: number): Promise<void>;
}

/**
 * Starts publishing from every LOAD_SOURCES gateway, connected by `connect` (its index in the
 * list, so that each can start at a different node), readings 10 ms apart from `t0`.
 */
export function publishSequencedLoad(
  connect: (gateway: keyof typeof SECRETS, password: string, index: number) => Promise<MqttClient>,
  t0: number,
): SequencedLoad {
  let published = 0;
  const publishers = LOAD_SOURCES.map(async ({ gateway, pilot, source }, g) => {
    const c = await connect(gateway, SECRETS[gateway], g);
    const window: Promise<void>[] = [];
    for (let b = 0; b < BATCHES; b++) {
      const items = Array.from({ length: PER_BATCH }, (_, i) => {
        const seq = b * PER_BATCH + i + 1;
        return vehicleState(source, t0 + seq * 10, seq);
      });
      window.push(
        publishBatch(c, `michi/v1/${pilot}/${gateway}/batch`, batch(gateway, items, b * PER_BATCH + 1, pilot)).then(() => void published++),
      );
      if (window.length >= 10) await window.shift();
      await new Promise((r) => setTimeout(r, 15));
    }
    await Promise.all(window);
  });
  const batches = LOAD_SOURCES.length * BATCHES;
  return {
    done: Promise.all(publishers).then(() => undefined),
    published: () => published,
    batches,
    aThirdPublished: (timeoutMs) =>
      waitFor(() => published >= batches / 3 || undefined, { what: 'a third of the batches published', timeoutMs }).then(() => undefined),
  };
}

/**
 * Exactly once: waits until every source has READINGS_PER_SOURCE readings since `t0` in InfluxDB,
 * then expects one point per reading (a redelivery overwrites its own points), no gaps, nothing extra.
 */
export async function expectEachReadingOnce(influx: InfluxHandle, t0: number, timeoutMs: number): Promise<void> {
  const expected = READINGS_PER_SOURCE;
  for (const { source } of LOAD_SOURCES) {
    await waitFor(async () => (await seqsOf(influx, source, t0)).length >= expected || undefined, {
      what: `${expected} readings of ${source} in InfluxDB`,
      timeoutMs,
    });
    expect(await seqsOf(influx, source, t0)).toEqual(Array.from({ length: expected }, (_, i) => i + 1));
  }
}

/** The sequence numbers of `source`'s vehicle states in InfluxDB since `since`, ascending. */
async function seqsOf(influx: InfluxHandle, source: string, since: number): Promise<number[]> {
  const rows = await influx.rows(`SELECT "seq" FROM vehicle_state WHERE "source" = '${source}' AND time >= ${since}ms`);
  return rows.map((r) => Number(r['seq'])).sort((a, b) => a - b);
}
