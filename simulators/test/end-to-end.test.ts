// One reading's whole path, for real: simulator → edge agent (aedes, SQLite buffer) → cloud (aedes)
// → InfluxDB 1.6.7 → HTTP API. Every reading the simulator had acknowledged must be in InfluxDB
// exactly once with the values it sent, and the API must show each vehicle's latest one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEASUREMENTS } from '@michi/cloud';
import { v1, type LinkSample, type ReadingKind, type VehicleState } from '@michi/proto';
import { runFleet, type SimReading } from '@michi/simulators';
import { startStack, waitFor, type TestStack } from '../../scripts/test-support/index.js';

const PILOT = 'maebashi-l4-bus';
const N = 600;

describe('simulator → edge → cloud → InfluxDB → API', () => {
  let stack: TestStack;
  let sent: SimReading[];

  beforeAll(async () => {
    stack = await startStack({ pilotId: PILOT });
    // Simulated time runs as fast as the edges acknowledge; timestamps are recent, so the cloud's
    // clock-skew window accepts them.
    const result = await runFleet({
      pilot: stack.pilot,
      mqttUrl: stack.gatewayUrls,
      deviceKeys: stack.deviceKeys,
      count: N,
      kinds: ['state', 'link'],
      speedup: Number.POSITIVE_INFINITY,
      startTsMs: Date.now() - 10 * 60_000,
      keep: true,
    });
    expect(result).toMatchObject({ sent: N, acked: N, failed: 0 });
    sent = result.readings;
  });

  afterAll(async () => {
    await stack?.close();
  });

  async function stored(kind: ReadingKind): Promise<Record<string, unknown>[]> {
    return stack.influx.rows(`SELECT * FROM ${MEASUREMENTS[kind]} WHERE pilot = '${PILOT}'`, { epoch: 'ms' });
  }

  it(`stores exactly the ${N} readings it was sent, once each`, async () => {
    await waitFor(
      async () => {
        const [s, l] = await Promise.all([stored('state'), stored('link')]);
        return s.length + l.length >= N;
      },
      { timeoutMs: 30_000, what: `${N} points in InfluxDB` },
    );
    const [states, links] = await Promise.all([stored('state'), stored('link')]);
    expect(states.length).toBe(sent.filter((r) => r.kind === 'state').length);
    expect(links.length).toBe(sent.filter((r) => r.kind === 'link').length);
    expect(states.length + links.length).toBe(N);
  });

  it('stores the values that were sent', async () => {
    const states = new Map((await stored('state')).map((row) => [`${String(row['source'])}@${String(row['time'])}`, row]));
    for (const r of sent.filter((x) => x.kind === 'state')) {
      const body = r.body as VehicleState;
      const row = states.get(`${r.sourceId}@${body.ts_ms}`);
      expect(row, `${r.sourceId} at ${body.ts_ms}`).toBeDefined();
      expect(row).toMatchObject({
        gateway: r.gatewayId,
        seq: body.seq,
        lat: body.position!.lat,
        lon: body.position!.lon,
        mode: String(v1.AutonomyMode[body.mode]).replace('AUTONOMY_MODE_', ''),
      });
      // float fields travel as protobuf float (32-bit)
      expect(Math.fround(row!['speed_mps'] as number)).toBe(Math.fround(body.speed_mps));
      expect(Math.fround(row!['heading_deg'] as number)).toBe(Math.fround(body.heading_deg));
    }
    const links = new Map((await stored('link')).map((row) => [`${String(row['source'])}@${String(row['time'])}`, row]));
    for (const r of sent.filter((x) => x.kind === 'link')) {
      const body = r.body as LinkSample;
      expect(links.get(`${r.sourceId}@${body.ts_ms}`)).toMatchObject({ cell: body.cell_id, pci: body.pci, band: body.band, seq: body.seq });
    }
  });

  it("serves every vehicle's latest state through the API", async () => {
    const res = await fetch(`${stack.cloud.url}/api/v1/pilots/${PILOT}/vehicles`, {
      headers: { authorization: `Bearer ${stack.tokens.operator}` },
    });
    expect(res.status).toBe(200);
    const { vehicles } = (await res.json()) as { vehicles: { id: string; state: { lat: number; lon: number; ts_ms: number } | null }[] };
    expect(vehicles.map((v) => v.id).sort()).toEqual(stack.pilot.vehicles.map((v) => v.id).sort());
    for (const v of vehicles) {
      const last = sent
        .filter((r) => r.kind === 'state' && r.sourceId === v.id)
        .map((r) => r.body as VehicleState)
        .sort((a, b) => a.ts_ms - b.ts_ms)
        .at(-1)!;
      expect(v.state).toMatchObject({ lat: last.position!.lat, lon: last.position!.lon, ts_ms: last.ts_ms });
    }
  });
});
