// Issue 3, "done when": the upstream is cut for 60 s while vehicles keep publishing. After the
// cloud returns on the same port, the backlog drains at its capped rate, nothing is lost, each
// source's readings keep their order within the backlog and within the live stream, and live
// readings reach InfluxDB within 2 s of the reconnection while the backlog is still draining.
// Agent as a child process; cloud and InfluxDB real. The same case runs for both uplink modes; the
// gRPC cut is 20 s to keep the suite short (the scheduler under both transports is the same code,
// so the 60 s MQTT run covers the longer backlog).
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { ReadingKind } from '@michi/proto';
import { waitFor } from '../../scripts/test-support/index.js';
import { metricValue } from './support.js';
import { drive, MEASUREMENT, pointsOf, scrape, Vehicle } from './durability-support.js';
import { durabilityRig } from './durability-rig.js';

const BACKLOG_RATE = 1_000;

describe.each([
  { mode: 'mqtt', cutMs: 60_000 },
  { mode: 'grpc', cutMs: 20_000 },
] as const)('edge agent, $mode uplink: a $cutMs ms upstream cut', ({ mode, cutMs }) => {
  const rig = durabilityRig('cut', () => ({ grpc: mode === 'grpc' }));
  const vehicles = [new Vehicle('bus-01', 50), new Vehicle('bus-02', 50)];
  rig.vehicles.push(...vehicles);

  it('drains the backlog behind live readings, loses nothing and keeps per-source order', { timeout: 240_000 }, async () => {
    const yaml = await rig.agentYaml({
      uplink: [
        `backlogMaxReadingsPerS: ${BACKLOG_RATE}`,
        ...(mode === 'grpc' ? ['mode: grpc', 'grpc:', `  address: 127.0.0.1:${rig.cloud.grpcPort}`] : []),
      ],
    });
    const a = await rig.spawnAgent(yaml);
    for (const v of vehicles) await v.connect(a.mqttPort);
    // 100 readings/s: states and link samples, an event every 100th.
    const kindOf = (_v: Vehicle, n: number): ReadingKind => (n % 100 === 0 ? 'event' : n % 3 === 0 ? 'link' : 'state');
    const traffic = drive(vehicles, 50, kindOf);
    await sleep(3_000);

    await rig.cloud.stop();
    const cutAt = Date.now();
    await sleep(cutMs);
    // What the vehicles handed over during the cut is the backlog. Their rate drops on a loaded
    // machine (each waits for its PUBACKs), so it is counted, not assumed.
    const ackedInCut = vehicles.reduce((n, v) => n + v.acked.filter((r) => r.tsMs >= cutAt).length, 0);
    const down = await scrape(a.metricsPort);
    expect(metricValue(down, 'michi_edge_uplink_connected')).toBe(0);
    const backlogDepth = metricValue(down, 'michi_edge_buffer_depth')!;
    // At least a quarter of the nominal 100 readings/s, or the cut proves little.
    expect(ackedInCut).toBeGreaterThan((cutMs / 1000) * 25);
    expect(backlogDepth).toBeGreaterThanOrEqual(ackedInCut);

    const restartAt = Date.now();
    await rig.cloud.start();
    const connected = await waitFor(() => a.logs().find((l) => l['msg'] === 'uplink connected' && Number(l['time']) >= restartAt), {
      what: 'the uplink to reconnect',
      timeoutMs: 10_000,
    });
    const connectedAt = Number(connected['time']);

    // The first reading bus-01 published after the reconnection is in InfluxDB within 2 s...
    const firstLive = await waitFor(
      async () => {
        const rows = await rig.cloud.influx.rows(
          `SELECT seq FROM vehicle_state WHERE source = 'bus-01' AND time >= ${connectedAt}ms LIMIT 1`,
          {
            epoch: 'ms',
          },
        );
        return rows[0] ? { visibleAt: Date.now(), ts: Number(rows[0]['time']) } : undefined;
      },
      { what: 'a live reading in InfluxDB', timeoutMs: 10_000, intervalMs: 50 },
    );
    const health = (await (await fetch(`http://127.0.0.1:${a.metricsPort}/healthz`)).json()) as { uplink: { backlogDraining: boolean } };
    // ...while the backlog still drains.
    const backlogSoFar = await rig.cloud.influx.rows(
      `SELECT count(seq) FROM vehicle_state WHERE time >= ${cutAt}ms AND time < ${connectedAt}ms`,
      {
        epoch: 'ms',
      },
    );
    const liveLatencyMs = firstLive.visibleAt - Math.max(firstLive.ts, connectedAt);
    expect(liveLatencyMs).toBeLessThanOrEqual(2_000);
    expect(health.uplink.backlogDraining).toBe(true);
    expect(Number(backlogSoFar[0]?.['count'] ?? 0)).toBeLessThan(backlogDepth * 0.6);

    await sleep(3_000);
    traffic.stop();
    await sleep(500);
    await waitFor(async () => metricValue(await scrape(a.metricsPort), 'michi_edge_buffer_depth') === 0, {
      what: 'the backlog to drain',
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    const drainedAt = Date.now();
    // Capped: about backlogDepth / rate seconds, not as fast as the cloud could take it.
    expect(drainedAt - connectedAt).toBeGreaterThan(((backlogDepth / BACKLOG_RATE) * 1000) / 2);
    const up = await scrape(a.metricsPort);
    expect(metricValue(up, 'michi_edge_uplink_batches_sent_total', 'stream="backlog"')).toBeGreaterThan(0);
    expect(metricValue(up, 'michi_edge_uplink_batches_sent_total', 'stream="event"')).toBeGreaterThan(0);
    expect(metricValue(up, 'michi_edge_buffer_dropped_total', 'reason="buffer_full",kind="state"')).toBe(0);

    for (const v of vehicles) {
      for (const kind of ['state', 'link', 'event'] as const) {
        const acked = v.acked.filter((r) => r.kind === kind);
        const points = await pointsOf(rig.cloud.influx, kind, v.source);
        const seqs = points.map((p) => Number(p['seq']));
        expect(new Set(seqs).size, `${v.source}/${kind}: one point per seq`).toBe(seqs.length);
        const have = new Set(seqs);
        expect({ source: v.source, kind, missing: acked.filter((r) => !have.has(r.seq)).map((r) => r.seq) }).toEqual({
          source: v.source,
          kind,
          missing: [],
        });
        if (kind === 'event') continue;
        // Per-source order: by seq, the cloud received them in order, except at the one place where
        // the live stream overtook the backlog.
        const byseq = points.map((p) => ({ seq: Number(p['seq']), recv: Number(p['recv_ms']) })).sort((x, y) => x.seq - y.seq);
        const descents = byseq.filter((p, i) => i > 0 && p.recv < byseq[i - 1]!.recv);
        expect(
          descents.length,
          `${MEASUREMENT[kind]} of ${v.source}: out of order at ${JSON.stringify(descents.slice(0, 3))}`,
        ).toBeLessThanOrEqual(1);
      }
    }
  });
});
