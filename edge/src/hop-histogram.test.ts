import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LabeledHistogram } from './hop-histogram.js';

const config = { name: 'michi_test_hop_latency_seconds', help: 'Seconds per hop', buckets: [0.001, 0.01, 0.1, 1] };

describe('LabeledHistogram', () => {
  it("renders exactly what prom-client's Histogram renders for the same observations", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const fast = new LabeledHistogram({ ...config, label: 'hop', values: ['receive', 'held'], registers: [ours] });
    const reference = new Histogram({ ...config, labelNames: ['hop'], registers: [theirs] });
    for (const hop of ['receive', 'held'] as const) reference.zero({ hop });
    const values = [0, 0.001, 0.0011, 0.05, 0.1, 0.7, 1, 3.5, 0.0004];
    for (const v of values) {
      fast.labels('receive').observe(v);
      reference.labels('receive').observe(v);
    }
    fast.labels('held').observe(0.02);
    reference.labels('held').observe(0.02);
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('michi_test_hop_latency_seconds_bucket{le="+Inf",hop="receive"} 9');
    expect(text).toContain('michi_test_hop_latency_seconds_bucket{le="0.001",hop="receive"} 3');
    expect(text).toContain('michi_test_hop_latency_seconds_count{hop="held"} 1');
  });

  it('refuses a label value it was not made with', () => {
    const h = new LabeledHistogram({ ...config, label: 'hop', values: ['receive'], registers: [new Registry()] });
    expect(() => h.labels('elsewhere' as 'receive')).toThrow(/unknown hop "elsewhere"/);
  });
});
