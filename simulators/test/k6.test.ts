// A short smoke of every k6 script (simulators/k6/) against a real stack: each must pass its own
// thresholds (latency p95, errors, zero loss by sequence numbers). k6 is built once by
// scripts/load.sh (go install through the Go module proxy) and cached; if it cannot be installed
// this fails with the reason rather than skipping.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failedThresholds, k6Path, preload, runK6, scriptConfig, SMOKE, vehiclesFor, type K6Script } from './k6-runner.js';
import { startLoadStack, type LoadStack } from './load-stack.js';

const SEEDED = 3; // maebashi-l4-bus's own buses

describe('k6 load scripts (smoke)', () => {
  let k6: string;
  let stack: LoadStack;
  let config: object;

  beforeAll(async () => {
    k6 = k6Path();
    stack = await startLoadStack({ pilotId: 'maebashi-l4-bus', vehicles: vehiclesFor(SMOKE, SEEDED) });
    config = scriptConfig(stack, SMOKE, SEEDED, await preload(stack, SEEDED, SMOKE.preloadMin));
  }, 600_000);

  afterAll(async () => {
    await stack?.close();
  });

  it.each<[K6Script, string]>([
    ['mqtt-ingest.js', 'mqtt_readings_acked'],
    ['grpc-ingest.js', 'grpc_readings_acked'],
    ['http-api.js', 'http_reqs'],
  ])(
    '%s passes its thresholds',
    async (script, countMetric) => {
      const run = await runK6(k6, script, config, 150_000);
      expect(failedThresholds(run), run.output).toEqual([]);
      expect(run.code, run.output).toBe(0);
      expect(Number(run.summary?.metrics[countMetric]?.['count'] ?? 0)).toBeGreaterThan(0);
      expect(run.summary?.metrics['readings_lost']?.['count'] ?? 0).toBe(0);
    },
    180_000,
  );
});
