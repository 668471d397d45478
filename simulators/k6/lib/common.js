/* global __ENV */
// What every michi k6 script shares: its configuration (one JSON object in MICHI_LOAD_CONFIG,
// written by the harness that started the stack) and the zero-loss check at the end, through the
// API's data completeness (per-source sequence numbers: received, missing, gaps).
import http from 'k6/http';
import { sleep } from 'k6';
import { Counter } from 'k6/metrics';

export const CFG = JSON.parse(__ENV.MICHI_LOAD_CONFIG || '{}');

/** A VehicleState in the proto3 JSON mapping, near the start of the pilot's first route. */
/**
 * The p95 latency threshold of a script. `make test`'s smoke passes p95Ms: null: it checks that
 * everything arrives, not how fast, because the test machine is shared and its timing is noise;
 * `make load` sets the limit (the script's own default when absent).
 */
export function latencyThreshold(metric, p95Ms, fallbackMs) {
  return p95Ms === null ? {} : { [metric]: [`p(95)<${p95Ms ?? fallbackMs}`] };
}

export function vehicleState(sourceId, seq, tsMs) {
  const [lon, lat] = CFG.origin || [139.07, 36.38];
  return {
    source_id: sourceId,
    ts_ms: tsMs,
    seq,
    position: { lat: lat + (seq % 1000) * 1e-6, lon: lon + (seq % 1000) * 1e-6 },
    speed_mps: 5 + (seq % 7),
    heading_deg: (seq * 7) % 360,
    mode: 'AUTONOMY_MODE_AUTONOMOUS',
    odometer_m: 1000 + seq * 5,
    battery_pct: 80,
  };
}

/**
 * Waits (up to timeoutS) until the API's completeness shows every one of `sources` with
 * `expected` readings received and no gap; returns how many are missing at the end.
 */
function missingReadings(sources, expected, fromMs, timeoutS = 120) {
  const deadline = Date.now() + timeoutS * 1000;
  const want = new Set(sources);
  let missing = sources.length * expected;
  for (;;) {
    const to = Date.now() + 60000;
    const res = http.get(`${CFG.apiUrl}/api/v1/pilots/${CFG.pilot}/completeness?from=${fromMs - 120000}&to=${to}`, {
      headers: { authorization: `Bearer ${CFG.token}` },
      tags: { name: 'completeness' },
    });
    if (res.status === 200) {
      missing = 0;
      const seen = new Set();
      for (const s of res.json('sources')) {
        if (!want.has(s.source)) continue;
        seen.add(s.source);
        missing += Math.max(0, expected - s.received) + s.missing;
      }
      for (const s of want) if (!seen.has(s)) missing += expected;
      if (missing === 0) return 0;
    }
    if (Date.now() > deadline) return missing;
    sleep(1);
  }
}

/**
 * The zero-loss check a script ends with: its thresholds, and `run` for its teardown, which adds
 * what missingReadings reports to readings_lost. Call it in the init context, where k6 creates metrics.
 */
export function lossCheck() {
  const lost = new Counter('readings_lost');
  const checked = new Counter('loss_checked');
  return {
    thresholds: {
      readings_lost: ['count==0'],
      // The loss check ran to its end (a teardown that timed out would leave readings_lost empty).
      loss_checked: ['count==1'],
    },
    run(sources, expected, fromMs) {
      lost.add(missingReadings(sources, expected, fromMs));
      checked.add(1);
    },
  };
}

/**
 * What the ingest scripts share (one virtual user per source of cfg.sources, one iteration each):
 * their options (scenario `scenario`; `thresholds` and the zero-loss check's), setup (the start
 * time) and teardown (the loss check: `expected` readings of each source). Call it in the init context.
 */
export function perSourceRun(scenario, cfg, expected, thresholds) {
  const sources = cfg.sources || [];
  const loss = lossCheck();
  return {
    options: {
      scenarios: {
        [scenario]: {
          executor: 'per-vu-iterations',
          vus: Math.max(1, sources.length),
          iterations: 1,
          maxDuration: cfg.maxDuration || '5m',
        },
      },
      teardownTimeout: '150s',
      thresholds: { ...thresholds, ...loss.thresholds },
    },
    setup: () => ({ startMs: Date.now() }),
    teardown: (data) =>
      loss.run(
        sources.map((s) => s.id),
        expected,
        data.startMs,
      ),
  };
}
