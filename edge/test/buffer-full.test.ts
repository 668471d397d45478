// Issue 3, "done when": the buffer fills while the cloud is down. The documented policy holds (the
// oldest routine telemetry goes first, link samples before states, events never) and the drop
// counters equal what is missing in InfluxDB once the cloud is back. Agent as a child process;
// cloud and InfluxDB real.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { ReadingKind } from '@michi/proto';
import { waitFor } from '../../scripts/test-support/index.js';
import { metricValue } from './support.js';
import { pointsOf, scrape, Vehicle, type Sent } from './durability-support.js';
import { durabilityRig } from './durability-rig.js';

const MAX_BYTES = 64 * 1024;

describe('edge agent: a full buffer', () => {
  const rig = durabilityRig('full');
  const vehicles = [new Vehicle('bus-01', 20), new Vehicle('bus-02', 20)];
  rig.vehicles.push(...vehicles);

  it('evicts the oldest link samples, then states, never events, and counts every drop', { timeout: 120_000 }, async () => {
    await rig.cloud.stop();
    const yaml = await rig.agentYaml({ buffer: [`maxBytes: ${MAX_BYTES}`], uplink: ['batchMaxBytes: 8192', 'maxInflightBatches: 4'] });
    const a = await rig.spawnAgent(yaml.replace('  mqtt:\n', '  mqtt:\n    maxPayloadBytes: 1024\n'));
    for (const v of vehicles) await v.connect(a.mqttPort);

    // About 150 KB of readings into 64 KB: a link sample, a state, ..., and every 25th an event.
    const kindOf = (n: number): ReadingKind => (n % 25 === 0 ? 'event' : n % 2 ? 'link' : 'state');
    for (let n = 1; n <= 1_100; n++) {
      for (const v of vehicles) {
        await waitFor(() => v.publishNext(kindOf(n)), { what: 'room in the window', intervalMs: 1 });
      }
    }
    await waitFor(() => vehicles.every((v) => v.acked.length === v.sent.length), { what: 'every PUBACK' });
    const full = await scrape(a.metricsPort);
    expect(metricValue(full, 'michi_edge_buffer_bytes')).toBeLessThanOrEqual(MAX_BYTES);
    expect(metricValue(full, 'michi_edge_rejected_total', 'reason="buffer_full",code="MICHI_ERR_BUFFER_FULL"')).toBe(0);

    await rig.cloud.start();
    await waitFor(async () => metricValue(await scrape(a.metricsPort), 'michi_edge_buffer_depth') === 0, {
      what: 'the buffer to drain',
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    await sleep(200);
    const after = await scrape(a.metricsPort);

    const missing: Record<ReadingKind, Sent[]> = { state: [], link: [], sensor: [], event: [] };
    const delivered: Record<ReadingKind, Sent[]> = { state: [], link: [], sensor: [], event: [] };
    for (const v of vehicles) {
      for (const kind of ['state', 'link', 'event'] as const) {
        const have = new Set((await pointsOf(rig.cloud.influx, kind, v.source)).map((p) => Number(p['seq'])));
        for (const r of v.acked.filter((x) => x.kind === kind)) (have.has(r.seq) ? delivered : missing)[kind].push(r);
      }
    }
    const dropped = (kind: ReadingKind) => metricValue(after, 'michi_edge_buffer_dropped_total', `reason="buffer_full",kind="${kind}"`);
    // The counters are exactly what is missing.
    expect({ link: dropped('link'), state: dropped('state') }).toEqual({ link: missing.link.length, state: missing.state.length });
    expect(missing.event).toEqual([]);
    expect(delivered.event.length).toBe(2 * Math.floor(1_100 / 25));
    // Something was dropped, link samples first: more of them than states, and they were the oldest.
    expect(missing.link.length).toBeGreaterThan(0);
    expect(missing.link.length).toBeGreaterThan(missing.state.length);
    for (const kind of ['link', 'state'] as const) {
      if (missing[kind].length === 0) continue;
      const newestDropped = Math.max(...missing[kind].map((r) => r.tsMs));
      const oldestKept = Math.min(...delivered[kind].map((r) => r.tsMs));
      // Two vehicles publish concurrently, so "oldest" is by arrival, within a few ms of source time.
      expect(newestDropped - oldestKept).toBeLessThan(50);
    }
  });
});
