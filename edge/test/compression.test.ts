// uplink.compression: deflate against the real cloud and InfluxDB: compressed batches are decoded by
// the cloud (it recognizes the zlib header) and every reading lands; the bytes saved show in /metrics.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge, type EdgeHandle } from '../src/index.js';
import { waitFor } from '../../scripts/test-support/index.js';
import { DEVICE_KEY, DEVICE_KEY_ENV, metrics, metricValue, testEdgeConfig } from './support.js';
import { GW_SECRET, pointsOf, SECRET_ENV, startRealCloud, Vehicle, type Cloud } from './durability-support.js';

describe('edge agent: compressed uplink', () => {
  let dir: string;
  let cloud: Cloud;
  let edge: EdgeHandle;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'michi-edge-deflate-'));
    cloud = await startRealCloud();
    edge = await startEdge(
      testEdgeConfig(
        dir,
        cloud.mqttPort,
        { uplink: { passwordEnv: SECRET_ENV, compression: 'deflate' } },
        { [SECRET_ENV]: GW_SECRET, [DEVICE_KEY_ENV]: DEVICE_KEY },
      ),
    );
  });

  afterAll(async () => {
    await edge?.close();
    await cloud?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every reading through deflated batches', async () => {
    const bus = new Vehicle('bus-01', 50);
    await bus.connect(edge.mqttPort);
    try {
      for (let n = 0; n < 400; n++) await waitFor(() => bus.publishNext(n % 3 === 0 ? 'link' : 'state'), { what: 'room', intervalMs: 1 });
      await waitFor(() => bus.acked.length === 400, { what: 'every PUBACK' });
      await waitFor(() => edge.stats().buffer.depth === 0, { what: 'the cloud to acknowledge everything' });
      const states = new Set((await pointsOf(cloud.influx, 'state', 'bus-01')).map((p) => Number(p['seq'])));
      const links = new Set((await pointsOf(cloud.influx, 'link', 'bus-01')).map((p) => Number(p['seq'])));
      expect(bus.acked.filter((r) => !(r.kind === 'state' ? states : links).has(r.seq))).toEqual([]);
      const text = await metrics(edge);
      const raw = metricValue(text, 'michi_edge_uplink_bytes_total', 'stage="batch"')!;
      const sent = metricValue(text, 'michi_edge_uplink_bytes_total', 'stage="sent"')!;
      expect(sent).toBeLessThan(raw * 0.8);
    } finally {
      await bus.close();
    }
  });
});
