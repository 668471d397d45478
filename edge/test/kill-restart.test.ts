// Issue 3, "done when": kill -9 of the agent mid-stream, then a restart. The agent is a real child
// process (michi-edge --config), the cloud and InfluxDB are real. Every reading the agent
// acknowledged to a vehicle must end up in InfluxDB exactly once, with its values.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../scripts/test-support/index.js';
import { metricValue } from './support.js';
import { bodyAt, drive, pointsOf, scrape, Vehicle } from './durability-support.js';
import { durabilityRig } from './durability-rig.js';

describe('edge agent: kill -9 mid-stream and restart', () => {
  const rig = durabilityRig('kill');

  it('delivers every acknowledged reading to InfluxDB exactly once, values included', { timeout: 180_000 }, async () => {
    const yaml = await rig.agentYaml();
    let agent = await rig.spawnAgent(yaml);
    const vehicles = [new Vehicle('bus-01', 50), new Vehicle('bus-02', 50), new Vehicle('weather-ekimae', 50)];
    rig.vehicles.push(...vehicles);
    for (const v of vehicles) await v.connect(agent.mqttPort);

    // 1,200 readings/s in, states, links, sensor readings and now and then an event.
    const kindOf = (v: Vehicle, n: number) =>
      v.source === 'weather-ekimae' ? 'sensor' : n % 50 === 0 ? 'event' : n % 2 ? 'link' : 'state';
    const traffic = drive(vehicles, 400, kindOf);
    await sleep(2_000);
    // InfluxDB hangs: acknowledgements from the cloud stop, batches stay in flight, the buffer grows.
    rig.cloud.influx.pause();
    await sleep(1_500);
    const before = await scrape(agent.metricsPort);
    expect(metricValue(before, 'michi_edge_buffer_depth')).toBeGreaterThan(200);
    expect(metricValue(before, 'michi_edge_uplink_inflight_batches')).toBeGreaterThan(0);

    const killed = await agent.kill('SIGKILL');
    expect(killed).toBeNull(); // no exit code: killed by the signal, nothing flushed
    traffic.stop();
    const ackedBeforeKill = vehicles.reduce((n, v) => n + v.acked.length, 0);
    expect(ackedBeforeKill).toBeGreaterThan(1_000);
    rig.cloud.influx.resume();

    agent = await rig.spawnAgent(yaml);
    // What the killed agent had committed is there; it goes upstream as the backlog.
    expect(agent.logs().find((l) => l['msg'] === 'buffer open')?.['depth']).toBeGreaterThan(200);
    for (const v of vehicles) {
      await v.close();
      await v.connect(agent.mqttPort);
    }
    const after = drive(vehicles, 100, kindOf);
    await sleep(1_000);
    after.stop();
    await sleep(500); // the last PUBACKs
    await waitFor(async () => metricValue(await scrape(agent.metricsPort), 'michi_edge_buffer_depth') === 0, {
      what: 'the restarted agent to forward everything',
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    await agent.kill('SIGTERM');

    for (const v of vehicles) {
      for (const kind of ['state', 'link', 'sensor', 'event'] as const) {
        const acked = v.acked.filter((r) => r.kind === kind);
        const sent = v.sent.filter((r) => r.kind === kind);
        if (sent.length === 0) continue;
        const fields =
          kind === 'state'
            ? 'seq, speed_mps, lat'
            : kind === 'link'
              ? 'seq, pci, rsrp_dbm'
              : kind === 'sensor'
                ? 'seq, "measure.rain_mm_h"'
                : 'seq, detail';
        const points = await pointsOf(rig.cloud.influx, kind, v.source, fields);
        const bySeq = new Map<number, Record<string, unknown>>();
        for (const p of points) {
          // Exactly once: one point per seq (a duplicate would have its own timestamp, hence its own point).
          expect(bySeq.has(Number(p['seq'])), `${v.source}/${kind} seq ${String(p['seq'])} twice`).toBe(false);
          bySeq.set(Number(p['seq']), p);
        }
        const missing = acked.filter((r) => !bySeq.has(r.seq)).map((r) => r.seq);
        expect({ source: v.source, kind, missing }).toEqual({ source: v.source, kind, missing: [] });
        // Nothing that was never sent; unacknowledged readings may or may not have made it (at most once).
        const sentSeqs = new Set(sent.map((r) => r.seq));
        expect([...bySeq.keys()].filter((s) => !sentSeqs.has(s))).toEqual([]);
        for (const r of acked) {
          const p = bySeq.get(r.seq)!;
          expect(p['time']).toBe(r.tsMs);
          const b = bodyAt(kind, v.source, r.seq, r.tsMs) as Record<string, unknown>;
          if (kind === 'state') {
            expect(p['speed_mps']).toBe(b['speed_mps']);
            expect(p['lat']).toBeCloseTo((b['position'] as { lat: number }).lat, 9);
          } else if (kind === 'link') {
            expect([p['pci'], p['rsrp_dbm']]).toEqual([b['pci'], b['rsrp_dbm']]);
          } else if (kind === 'sensor') {
            expect(p['measure.rain_mm_h']).toBe((b['measures'] as Record<string, number>)['rain_mm_h']);
          } else {
            expect(p['detail']).toBe(b['detail']);
          }
        }
      }
    }
  });
});
