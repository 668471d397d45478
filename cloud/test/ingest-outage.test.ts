// InfluxDB hangs for 60 s under load (SIGSTOP: its port stays open and answers nothing, the worst
// case for a writer), then comes back: real edge agents (aedes, SQLite buffer) keep taking readings
// from the simulated fleet, the cloud stops acknowledging, the edges buffer and resend; in the end
// every reading the edges acknowledged is in InfluxDB exactly once, checked per source and kind by
// sequence number.
import { afterAll, describe, expect, it } from 'vitest';
import { MEASUREMENTS } from '@michi/cloud';
import type { ReadingKind } from '@michi/proto';
import { runFleet, type SimReading } from '@michi/simulators';
import { startStack, waitFor, type TestStack } from '../../scripts/test-support/index.js';

const PILOT = 'maebashi-l4-bus';
const OUTAGE_MS = 60_000;

let stack: TestStack | undefined;

afterAll(async () => {
  stack?.influx.resume();
  await stack?.close();
});

describe('InfluxDB down for 60 s under load', () => {
  it('loses nothing and duplicates nothing', { timeout: 300_000 }, async () => {
    stack = await startStack({ pilotId: PILOT });
    const { influx } = stack;
    const started = Date.now();
    const fleet = runFleet({
      pilot: stack.pilot,
      mqttUrl: stack.gatewayUrls,
      deviceKeys: stack.deviceKeys,
      kinds: ['state', 'link'],
      rateHz: 10,
      linkRateHz: 5,
      durationS: (OUTAGE_MS + 25_000) / 1_000,
      speedup: 1,
      startTsMs: Date.now(),
      keep: true,
      drainTimeoutMs: 30_000,
    });

    await new Promise((r) => setTimeout(r, 10_000));
    influx.pause();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    influx.resume();
    const result = await fleet;
    expect(Date.now() - started).toBeGreaterThan(OUTAGE_MS);
    expect(result.failed).toBe(0);
    expect(result.acked).toBe(result.sent);
    const sent: SimReading[] = result.readings;
    expect(sent.length).toBeGreaterThan(1_000);

    const expected = new Map<string, number[]>();
    for (const r of sent) {
      const key = `${r.kind}/${r.sourceId}`;
      const seqs = expected.get(key) ?? [];
      seqs.push(Number((r.body as { seq: number }).seq));
      expected.set(key, seqs);
    }
    const stored = async (kind: ReadingKind) =>
      influx.rows(`SELECT "seq", "source" FROM ${MEASUREMENTS[kind]} WHERE pilot = '${PILOT}'`, { epoch: 'ms' });
    await waitFor(
      async () => {
        const [s, l] = await Promise.all([stored('state'), stored('link')]);
        return s.length + l.length >= sent.length || undefined;
      },
      { timeoutMs: 120_000, what: `${sent.length} points in InfluxDB after the outage` },
    );
    for (const kind of ['state', 'link'] as const) {
      const rows = await stored(kind);
      const got = new Map<string, number[]>();
      for (const row of rows) {
        const key = `${kind}/${String(row['source'])}`;
        const seqs = got.get(key) ?? [];
        seqs.push(Number(row['seq']));
        got.set(key, seqs);
      }
      for (const [key, seqs] of expected) {
        if (!key.startsWith(`${kind}/`)) continue;
        // One point per reading (a resend overwrites its own point), and every sequence number.
        expect(
          got.get(key)?.sort((a, b) => a - b),
          key,
        ).toEqual([...seqs].sort((a, b) => a - b));
      }
    }
    expect(
      await stack.cloud.metrics.batchesRejected.get().then((m) => m.values.some((v) => String(v.labels['reason']).startsWith('storage_'))),
    ).toBe(true);
  });
});
