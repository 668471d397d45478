// Issue 3 from the simulator's side: the vehicles and sensors of a shipped pilot publish to real
// edge agents, which require per-device credentials. With each gateway's device key every source
// connects (MQTT) or opens its stream (gRPC) as itself and every reading is acknowledged; without
// it the edge refuses, and the simulator says what to give it. The CLI takes the key by variable name.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSeeds, type Pilot } from '@michi/proto';
import { GrpcPublisher, runFleet } from '@michi/simulators';
import { freePort, startPilotEdges, waitFor } from '../../scripts/test-support/index.js';
import { michiSim } from './michi-sim-process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const logger = pino({ level: 'silent' });

describe('the simulator against edges that require per-device credentials', () => {
  let dir: string;
  let pilot: Pilot;
  const started: { close(): Promise<void> }[] = [];
  let edges: Awaited<ReturnType<typeof startPilotEdges>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'michi-sim-auth-'));
    pilot = loadSeeds(join(ROOT, 'seeds')).find((p) => p.id === 'maebashi-l4-bus')!;
    // No cloud: the edges acknowledge once a reading is on their disk, and keep retrying upstream.
    edges = await startPilotEdges({
      pilot,
      seedsDir: join(ROOT, 'seeds'),
      dir,
      cloudMqttPort: await freePort(),
      env: Object.fromEntries(pilot.gateways.map((g) => [g.credentialsRef.replace(/^env:/, ''), 'unused-secret'])),
      logger,
      started,
      grpc: true,
    });
  });

  afterAll(async () => {
    for (const s of started.reverse()) await s.close().catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('MQTT: every source connects as itself and every reading is acknowledged; without the keys the edge refuses', async () => {
    const run = { pilot, mqttUrl: edges.gatewayUrls, count: 200, speedup: Infinity, kinds: ['state', 'link', 'sensor'] as const, logger };
    const result = await runFleet({ ...run, kinds: [...run.kinds], deviceKeys: edges.deviceKeys });
    expect(result).toMatchObject({ sent: 200, acked: 200, failed: 0 });
    // The run closed its connections, one per vehicle and sensor.
    await waitFor(() => [...edges.edges.values()].every((e) => e.stats().localClients === 0), { what: 'the connections to close' });

    await expect(runFleet({ ...run, kinds: [...run.kinds] })).rejects.toMatchObject({
      code: 'MICHI_ERR_SIM_CONNECT',
      message: expect.stringMatching(/Bad username or password.*--device-key-env/) as unknown,
    });
    const wrong = Object.fromEntries(Object.keys(edges.deviceKeys).map((gw) => [gw, 'w'.repeat(43)]));
    await expect(runFleet({ ...run, kinds: [...run.kinds], deviceKeys: wrong })).rejects.toMatchObject({
      code: 'MICHI_ERR_SIM_CONNECT',
      message: expect.stringMatching(/Bad username or password \(is the device key of gateway/) as unknown,
    });
  });

  it('gRPC: one authenticated stream per source; without the keys every stream is refused UNAUTHENTICATED', async () => {
    const gatewayAddrs = new Map([...edges.edges].map(([gw, e]) => [gw, `127.0.0.1:${e.grpcPort}`]));
    const run = { pilot, count: 100, speedup: Infinity, kinds: ['state', 'link'] as ('state' | 'link')[] };
    const authed = await GrpcPublisher.open({ gatewayAddrs, deviceKeys: new Map(Object.entries(edges.deviceKeys)), logger });
    try {
      expect(await runFleet({ ...run, publisher: authed })).toMatchObject({ sent: 100, acked: 100, rejected: 0, failed: 0 });
    } finally {
      await authed.close();
    }
    const anonymous = await GrpcPublisher.open({ gatewayAddrs, logger });
    try {
      const result = await runFleet({ ...run, publisher: anonymous, drainTimeoutMs: 5_000 });
      expect(result.acked).toBe(0);
      expect(result.failedByReason['grpc_UNAUTHENTICATED']).toBeGreaterThan(0);
    } finally {
      await anonymous.close();
    }
  });

  it("michi-sim --device-key-env reads each gateway's key from the variable it names", async () => {
    const env: Record<string, string> = { PATH: process.env['PATH'] ?? '' };
    const args = ['--pilot', pilot.id, '--count', '30', '--speedup', 'max', '--kinds', 'state'];
    Object.entries(edges.deviceKeys).forEach(([gw, key], i) => {
      env[`SIM_TEST_KEY_${i}`] = key;
      args.push('--gateway-url', `${gw}=${edges.gatewayUrls[gw]}`, '--device-key-env', `${gw}=SIM_TEST_KEY_${i}`);
    });
    const out = await michiSim(args, { env });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/acked 30/);
    for (const key of Object.values(edges.deviceKeys)) expect(out.stdout + out.stderr).not.toContain(key);
  });
});
