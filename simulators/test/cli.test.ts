// michi-sim as a person runs it: a child process against a real aedes broker, checked by its exit
// code, its output and what the broker received.
import { decodeReadingPayload, parseTopic } from '@michi/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '../../scripts/test-support/index.js';
import { startTestBroker, type TestBroker } from './aedes-broker.js';
import { michiSim } from './michi-sim-process.js';

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(async () => {
  await broker?.stop();
});

describe('michi-sim', () => {
  it('publishes exactly --count readings of a shipped pilot and prints a summary', async () => {
    const from = broker.received.length;
    const out = await michiSim([
      '--pilot',
      'maebashi-l4-bus',
      '--mqtt',
      broker.url,
      '--count',
      '12',
      '--speedup',
      'max',
      '--kinds',
      'state,link',
    ]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^done in [\d.]+ s \([\d.]+ simulated s\): sent 12, acked 12, rejected 0, failed 0, [\d.]+ sent\/s\n$/);
    const got = broker.received.slice(from);
    expect(got).toHaveLength(12);
    for (const p of got) {
      const topic = parseTopic(p.topic);
      expect(topic).toMatchObject({ type: 'reading', pilot: 'maebashi-l4-bus' });
      if (topic.type === 'reading') expect(() => decodeReadingPayload(topic.kind, p.payload)).not.toThrow();
    }
  });

  it('stops on SIGINT after the acknowledgements are in, and says how far it got', async () => {
    const from = broker.received.length;
    const out = await michiSim(['--pilot', 'tsukuba-center-delivery', '--mqtt', broker.url, '--rate', '5'], {
      onSpawn: (kill) => {
        void waitFor(() => broker.received.length - from >= 8, { timeoutMs: 20_000, what: 'the first readings' }).then(() =>
          kill('SIGINT'),
        );
      },
    });
    expect(out.code).toBe(0);
    const sent = Number(/sent (\d+), acked (\d+), rejected 0, failed 0/.exec(out.stdout)?.[1]);
    expect(sent).toBeGreaterThanOrEqual(8);
    expect(out.stdout).toContain(`acked ${sent}, rejected 0, failed 0`);
    expect(broker.received.length - from).toBe(sent);
  });

  it('exits with 2 and says what is wrong on bad usage', async () => {
    // (Malformed arguments are covered by cli-args.test.ts; these need the seeds.)
    const unknown = await michiSim(['--pilot', 'atlantis']);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toContain('--pilot: expected one of the pilots in seeds: ');
    expect(unknown.stderr).toContain('maebashi-l4-bus');

    const gateway = await michiSim(['--pilot', 'maebashi-l4-bus', '--gateway-url', 'gw-nowhere=mqtt://127.0.0.1:1']);
    expect(gateway.code).toBe(2);
    expect(gateway.stderr).toContain('--gateway-url: pilot "maebashi-l4-bus" has no gateway "gw-nowhere"');
  });

  it('exits with 1 when the broker cannot be reached', async () => {
    const port = await freePort();
    const out = await michiSim(['--pilot', 'maebashi-l4-bus', '--mqtt', `mqtt://127.0.0.1:${port}`, '--count', '1']);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`cannot connect to the broker of gateway "gw-ekimae" at mqtt://127.0.0.1:${port}`);
  });
});
