// The HTTP API under concurrent viewers: each virtual user is a person with the dashboard open,
// loading the vehicles, the last minutes' tracks, events, KPIs and 5G coverage of the pilot, then
// thinking for a moment. The harness fills InfluxDB beforehand with a simulated run.
// Thresholds: p95 latency, error rate, and zero loss of the preloaded data (every source's
// sequence numbers complete in the API's completeness report).
import http from 'k6/http';
import { check, sleep } from 'k6';
import { CFG, latencyThreshold, lossCheck } from './lib/common.js';

const H = CFG.http || {};
const loss = lossCheck();

export const options = {
  scenarios: { viewers: { executor: 'constant-vus', vus: H.viewers || 5, duration: H.duration || '10s' } },
  teardownTimeout: '150s',
  thresholds: {
    ...latencyThreshold('http_req_duration', H.p95Ms, 500),
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.99'],
    ...loss.thresholds,
  },
};

const headers = { authorization: `Bearer ${CFG.token}` };

export default function () {
  const to = H.toMs || Date.now();
  const from = H.fromMs || to - 15 * 60000;
  const base = `${CFG.apiUrl}/api/v1/pilots/${CFG.pilot}`;
  const range = `from=${from}&to=${to}`;
  const res = http.batch([
    ['GET', `${base}/vehicles`, null, { headers, tags: { name: 'vehicles' } }],
    ['GET', `${base}/tracks?${range}&maxPoints=500`, null, { headers, tags: { name: 'tracks' } }],
    ['GET', `${base}/events?${range}&limit=100`, null, { headers, tags: { name: 'events' } }],
    ['GET', `${base}/kpis?${range}`, null, { headers, tags: { name: 'kpis' } }],
    ['GET', `${base}/coverage?${range}&res=9`, null, { headers, tags: { name: 'coverage' } }],
  ]);
  for (const r of res) {
    if (r.status !== 200) console.warn(`${r.request.url.split('?')[0]}: ${r.status} ${String(r.body).slice(0, 200)}`);
    check(r, { 'status 200': (x) => x.status === 200 });
  }
  sleep(H.thinkS === undefined ? 1 : H.thinkS);
}

export function teardown() {
  // The preloaded sources: each must have all its readings (of every kind) without a gap.
  loss.run(H.sources || [], 0, H.fromMs || Date.now() - 15 * 60000);
}
