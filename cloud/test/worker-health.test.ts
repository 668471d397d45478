// The scale-out worker's /health and /metrics, as an operator's probe sees them: 200 while InfluxDB
// takes writes and the worker is connected to the broker; 503 naming InfluxDB while a real InfluxDB
// is paused (it accepts connections and answers nothing), 200 again once it answers; 503 with no
// connection once the real Mosquitto in front of it is gone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfluxDb, startMosquitto, waitFor, type InfluxHandle, type MosquittoHandle } from '../../scripts/test-support/index.js';
import { startIngestWorker, type IngestWorkerService } from '../src/worker-service.js';
import { cloudConfig, testLogger } from './support.js';

let influx: InfluxHandle;
let broker: MosquittoHandle;
let worker: IngestWorkerService;
let base: string;

async function health(): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}/health`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const until = (status: number, what: string) =>
  waitFor(async () => ((await health()).status === status ? true : undefined), { timeoutMs: 15_000, what });

beforeAll(async () => {
  influx = await startInfluxDb();
  broker = await startMosquitto();
  worker = await startIngestWorker(
    cloudConfig(influx.url, {
      influx: { timeoutMs: 1_000, healthIntervalMs: 200 },
      worker: { brokerUrl: broker.url, clientId: 'health-test', connections: 2, metrics: { port: 0 } },
    }),
    { logger: testLogger },
  );
  base = worker.metricsUrl.replace(/\/metrics$/, '');
});

afterAll(async () => {
  influx?.resume();
  await worker?.close();
  await broker?.stop();
  await influx?.stop();
});

describe('michi-ingest-worker /health and /metrics', () => {
  it('serves the cloud metrics and 404 elsewhere on the same listener', async () => {
    const metrics = await fetch(worker.metricsUrl);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('michi_cloud_');
    const other = await fetch(`${base}/api/v1/health`);
    expect(other.status).toBe(404);
    expect(await other.text()).toContain('GET /health');
  });

  it('follows InfluxDB: 503 while it is paused, 200 once it answers again', async () => {
    await until(200, 'healthy at start');
    expect((await health()).body).toEqual({ ok: true, influx: 'up', influxServers: { default: 'up' }, connections: 2, of: 2 });
    try {
      influx.pause();
      await until(503, '503 while InfluxDB is paused');
      expect((await health()).body).toMatchObject({ ok: false, influx: 'down', influxServers: { default: 'down' }, connections: 2 });
    } finally {
      influx.resume();
    }
    await until(200, '200 after InfluxDB resumed');
  });

  it('follows the broker: 503 with no connection once it is gone', async () => {
    await broker.stop();
    await until(503, '503 without the broker');
    expect((await health()).body).toMatchObject({ ok: false, influx: 'up', connections: 0, of: 2 });
  });
});
