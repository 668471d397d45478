// Edge processing over real sockets: downsampled link samples and skewed clocks, seen from a vehicle
// (every reading acknowledged), the upstream (only the kept ones) and /metrics (the counts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { encodeReadingPayload, readingTopic } from '@michi/proto';
import { startEdge } from '../src/index.js';
import { waitFor } from '../../scripts/test-support/index.js';
import { body, connectDevice, GATEWAY, metrics, metricValue, PILOT, startUpstream, testEdgeConfig } from './support.js';

describe('edge agent: processing', () => {
  it('keeps link samples at most once a second per source, acknowledges the rest, and reports clock offsets', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'michi-edge-proc-'));
    const upstream = await startUpstream();
    const logs: Record<string, unknown>[] = [];
    const edge = await startEdge(
      testEdgeConfig(dir, upstream.port, { processing: { minIntervalMs: { link: 1_000 }, clockSkewWarnMs: 2_000 } }),
      { logger: pino({ level: 'info' }, { write: (l: string) => logs.push(JSON.parse(l) as Record<string, unknown>) }) },
    );
    const client = await connectDevice(edge.mqttPort, 'bus-01');
    try {
      const now = Date.now();
      // 30 link samples 100 ms apart in source time (3 s): 3 kept. All acknowledged.
      for (let i = 0; i < 30; i++) {
        const b = { ...body('link', 'bus-01', i + 1), ts_ms: now + i * 100 - 3_000 };
        await client.publishAsync(readingTopic(PILOT, GATEWAY, 'bus-01', 'link'), Buffer.from(encodeReadingPayload('link', b)), { qos: 1 });
      }
      // A state 30 s behind the gateway's clock: kept (timestamps are never changed), counted as skewed.
      const late = { ...body('state', 'bus-01', 100), ts_ms: now - 30_000 };
      await client.publishAsync(readingTopic(PILOT, GATEWAY, 'bus-01', 'state'), Buffer.from(encodeReadingPayload('state', late)), {
        qos: 1,
      });

      await waitFor(() => upstream.readings().has('bus-01/state/100'), { what: 'the state upstream' });
      const links = [...upstream.readings().keys()].filter((k) => k.startsWith('bus-01/link/'));
      expect(links.sort()).toEqual(['bus-01/link/1', 'bus-01/link/11', 'bus-01/link/21']);
      expect(upstream.readings().get('bus-01/state/100')).toMatchObject({ state: { ts_ms: String(now - 30_000) } });

      const text = await metrics(edge);
      expect(metricValue(text, 'michi_edge_filtered_total', 'reason="downsample",kind="link"')).toBe(27);
      expect(metricValue(text, 'michi_edge_received_total', 'kind="link"')).toBe(3);
      expect(metricValue(text, 'michi_edge_clock_skewed_total', 'source="bus-01"')).toBeGreaterThanOrEqual(2);
      // 30 s behind, plus the time the 30 acknowledged publishes before it took.
      const offset = metricValue(text, 'michi_edge_source_clock_offset_seconds', 'source="bus-01"')!;
      expect(offset).toBeLessThan(-30);
      expect(offset).toBeGreaterThan(-36);
      expect(logs.find((l) => l['code'] === 'MICHI_ERR_CLOCK_SKEW')).toMatchObject({ source: 'bus-01', level: 40 });
    } finally {
      await client.endAsync(true);
      await edge.close();
      await upstream.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
