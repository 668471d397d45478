// The documented replay of an older recording into the cloud (docs/simulator.md), run as a person
// runs it: the cloud refuses readings older than its past window while acknowledging their batch,
// so a replay that printed "acked 486, failed 0" stored nothing. Now michi-sim refuses to start
// and says how many readings are too old; with --shift-to-now every reading is stored, moved to now.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadSeeds } from '@michi/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McapRecorder, NullPublisher, runFleet } from '@michi/simulators';
import { startStack, waitFor, type TestStack } from '../../scripts/test-support/index.js';
import { michiSim } from './michi-sim-process.js';

const PILOT = 'maebashi-l4-bus';
const DAY_MS = 86_400_000;

let dir: string;
let file: string;
let recorded: number;
let stack: TestStack;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'michi-replay-old-'));
  file = path.join(dir, 'old.mcap');
  // Two minutes of the pilot, ten days ago: older than the cloud's default 7-day window.
  const recorder = await McapRecorder.create(file, { pilot: PILOT });
  const result = await runFleet({
    pilot: loadSeeds('seeds').find((p) => p.id === PILOT)!,
    publisher: new NullPublisher(),
    durationS: 120,
    speedup: Infinity,
    seed: 5,
    kinds: ['state', 'link', 'event'],
    startTsMs: Date.now() - 10 * DAY_MS,
    onReading: (r) => recorder.add(r),
  });
  await recorder.close();
  recorded = result.sent;
  stack = await startStack({ pilotId: PILOT });
}, 120_000);

afterAll(async () => {
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function storedStates(): Promise<{ count: number; oldestMs: number }> {
  const rows = await stack.influx.rows(`SELECT count(speed_mps) FROM vehicle_state WHERE pilot = '${PILOT}'`, { epoch: 'ms' });
  const oldest = await stack.influx.rows(`SELECT first(speed_mps) FROM vehicle_state WHERE pilot = '${PILOT}'`, { epoch: 'ms' });
  return { count: Number(rows[0]?.['count'] ?? 0), oldestMs: Number(oldest[0]?.['time'] ?? NaN) };
}

describe('michi-sim replay of an older recording into the cloud', () => {
  it('does not start, and says how many readings the cloud would refuse', async () => {
    const out = await michiSim(['replay', '--in', file, '--cloud', stack.cloudMqttUrl, '--speed', 'max'], {
      env: { ...process.env, ...stack.secretEnv },
    });
    expect(out.code, out.stdout + out.stderr).toBe(2);
    expect(out.stderr).toContain(`${recorded} of ${recorded} readings`);
    expect(out.stderr).toContain('--shift-to-now');
    expect((await storedStates()).count).toBe(0);
  }, 120_000);

  it('with --shift-to-now stores every reading, the recording ending now', async () => {
    const before = Date.now();
    const out = await michiSim(['replay', '--in', file, '--cloud', stack.cloudMqttUrl, '--speed', 'max', '--shift-to-now'], {
      env: { ...process.env, ...stack.secretEnv },
    });
    expect(out.code, out.stdout + out.stderr).toBe(0);
    expect(out.stdout).toContain(`acked ${recorded}, failed 0`);
    const points = async (): Promise<number> => {
      let n = 0;
      for (const m of ['vehicle_state', 'link_sample', 'event']) {
        const rows = await stack.influx.rows(`SELECT count(*) FROM ${m} WHERE pilot = '${PILOT}'`);
        const counts = Object.entries(rows[0] ?? {}).filter(([k]) => k.startsWith('count_'));
        n += Math.max(0, ...counts.map(([, v]) => Number(v)));
      }
      return n;
    };
    await waitFor(async () => (await points()) >= recorded, { timeoutMs: 30_000, what: `${recorded} replayed points in InfluxDB` });
    expect(await points()).toBe(recorded);
    // Two recorded minutes ending now: nothing older than that window.
    expect((await storedStates()).oldestMs).toBeGreaterThan(before - 180_000);
  }, 120_000);
});
