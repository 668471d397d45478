// The uplink's batching policies (issue 15), against a real buffer and a transport that
// acknowledges only when told to, so that "in flight" is in the test's hands. The clock is faked:
// the assertions are about what was sent when, in the scheduler's own milliseconds.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { v1 } from '@michi/proto';
import { BufferStore } from './buffer-store.js';
import { testReading } from './buffer-store.contract.js';
import { createEdgeMetrics } from './metrics.js';
import { UplinkScheduler, type UplinkSchedulerOptions } from './uplink-scheduler.js';
import type { UplinkLinkEvents, UplinkTransport } from './uplink-transport.js';

interface Sent {
  /** Scheduler time when the batch was handed to the transport. */
  at: number;
  items: number[];
  heldMs: number[];
  ack(): void;
}

/** Records each batch; acknowledges one when the test calls its ack(). */
function heldTransport(): UplinkTransport & { sent: Sent[]; up(): void; down(): void } {
  let events: UplinkLinkEvents | undefined;
  const sent: Sent[] = [];
  return {
    target: 'test',
    sent,
    up: () => events!.up(),
    down: () => events!.down(new Error('connection lost')),
    open(e) {
      events = e;
      return {
        send(body, acked) {
          const batch = v1.Batch.decode(body);
          sent.push({
            at: Date.now(),
            items: batch.items.map((r) => Number(r.state?.seq)),
            heldMs: batch.held_ms.map(Number),
            ack: () => acked(),
          });
        },
        end: () => Promise.resolve(),
      };
    },
  };
}

describe('uplink batching', () => {
  let dir: string;
  let buffer: BufferStore;
  let transport: ReturnType<typeof heldTransport>;
  let scheduler: UplinkScheduler;
  let seq = 0;

  function start(opts: Partial<UplinkSchedulerOptions> = {}): void {
    buffer = new BufferStore({ path: join(dir, 'buffer.sqlite'), maxBytes: 1 << 24, commitIntervalMs: 5, commitMaxItems: 1_000 });
    transport = heldTransport();
    scheduler = new UplinkScheduler(
      {
        pilotId: 'maebashi-l4-bus',
        gatewayId: 'gw-ekimae',
        batchMaxItems: 10,
        batchMaxBytes: 1 << 20,
        batchMaxDelayMs: 50,
        maxInflightBatches: 8,
        compression: 'none',
        backlogMaxReadingsPerS: 5_000,
        reconnectMinMs: 500,
        reconnectMaxMs: 30_000,
        buffer,
        metrics: createEdgeMetrics(new Registry()),
        logger: pino({ level: 'silent' }),
        ...opts,
      },
      transport,
    );
    scheduler.start();
    transport.up();
  }

  /** Appends n vehicle states in this turn of the event loop; their seq fields count up from 1. */
  function append(n = 1): void {
    for (let i = 0; i < n; i++) void buffer.append(testReading(++seq));
  }

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date'] });
    dir = mkdtempSync(join(tmpdir(), 'michi-uplink-'));
    seq = 0;
  });

  afterEach(async () => {
    vi.useRealTimers();
    await scheduler.close(0);
    await buffer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adaptive, idle uplink: a reading goes at once, with the readings of the same turn', async () => {
    start();
    const t0 = Date.now();
    append();
    await vi.advanceTimersByTimeAsync(0);
    expect(transport.sent.map((b) => [b.at - t0, b.items, b.heldMs])).toEqual([[0, [1], [0]]]);
    transport.sent[0]!.ack();
    append(3);
    await vi.advanceTimersByTimeAsync(0);
    expect(transport.sent.map((b) => b.items)).toEqual([[1], [2, 3, 4]]);
  });

  it('adaptive, a batch in flight: readings gather until its acknowledgement, then go together', async () => {
    start();
    const t0 = Date.now();
    append();
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 4; i++) {
      append();
      await vi.advanceTimersByTimeAsync(5);
    }
    expect(transport.sent).toHaveLength(1);
    transport.sent[0]!.ack();
    await vi.advanceTimersByTimeAsync(0);
    expect(transport.sent.map((b) => [b.at - t0, b.items, b.heldMs])).toEqual([
      [0, [1], [0]],
      [20, [2, 3, 4, 5], [20, 15, 10, 5]],
    ]);
  });

  it('adaptive: nothing waits beyond batchMaxDelayMs for an acknowledgement that does not come', async () => {
    start();
    const t0 = Date.now();
    append();
    await vi.advanceTimersByTimeAsync(0);
    append();
    await vi.advanceTimersByTimeAsync(49);
    expect(transport.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(transport.sent.map((b) => [b.at - t0, b.items, b.heldMs])).toEqual([
      [0, [1], [0]],
      [50, [2], [50]],
    ]);
  });

  it('adaptive, at load: full batches go at once, the rest once the batches in flight are acknowledged', async () => {
    start();
    append();
    await vi.advanceTimersByTimeAsync(0);
    append(35);
    await vi.advanceTimersByTimeAsync(0);
    expect(transport.sent.map((b) => b.items.length)).toEqual([1, 10, 10, 10]);
    await vi.advanceTimersByTimeAsync(10);
    expect(transport.sent).toHaveLength(4);
    transport.sent[0]!.ack();
    await vi.advanceTimersByTimeAsync(0);
    expect(transport.sent).toHaveLength(4);
    for (const b of transport.sent.slice(1)) b.ack();
    await vi.advanceTimersByTimeAsync(0);
    expect(transport.sent.map((b) => b.items.length)).toEqual([1, 10, 10, 10, 5]);
    expect(transport.sent.flatMap((b) => b.items)).toEqual(Array.from({ length: 36 }, (_, i) => i + 1));
  });

  // At rest busyReadingsPerS hardly matters: 3 readings in the last second grow the interval by
  // 3/2,000 of (50 - 10) ms, to 10.06 ms, which the timer rounds to 11.
  for (const [busyReadingsPerS, second] of [
    [0, 10],
    [2_000, 11],
  ] as const) {
    it(`adaptive, with batchMinIntervalMs: an idle uplink still sends live batches no more often than that (busyReadingsPerS ${busyReadingsPerS})`, async () => {
      start({ batchMinIntervalMs: 10, busyReadingsPerS });
      const t0 = Date.now();
      append();
      await vi.advanceTimersByTimeAsync(0);
      transport.sent[0]!.ack();
      await vi.advanceTimersByTimeAsync(3);
      append(2);
      await vi.advanceTimersByTimeAsync(6);
      expect(transport.sent).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(second - 9);
      transport.sent[1]!.ack();
      await vi.advanceTimersByTimeAsync(20);
      append();
      await vi.advanceTimersByTimeAsync(0);
      expect(transport.sent.map((b) => [b.at - t0, b.items, b.heldMs])).toEqual([
        [0, [1], [0]],
        [second, [2, 3], [second - 3, second - 3]],
        [second + 20, [4], [0]],
      ]);
    });
  }

  it('adaptive, under load: the interval grows with the live rate, and a burst above that rate goes at once', async () => {
    start({ batchMaxItems: 500, batchMinIntervalMs: 25, busyReadingsPerS: 2_000 });
    const t0 = Date.now();
    // Every batch is acknowledged at once, so only the interval holds readings back.
    const ackAll = () => {
      for (const b of transport.sent) b.ack();
    };
    // 2 s at 1,000 readings/s, 5 every 5 ms.
    for (let t = 0; t < 2_000; t += 5) {
      append(5);
      await vi.advanceTimersByTimeAsync(5);
      ackAll();
    }
    const steady = transport.sent.filter((b) => b.at - t0 >= 1_000 && b.at - t0 < 2_000);
    const gaps = steady.slice(1).map((b, i) => b.at - steady[i]!.at);
    // 25 ms at rest, 50 at 2,000/s: 37.5 ms at 1,000/s, about 37 readings a batch (40 with a fixed 25 ms).
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(35);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(45);
    expect(steady.length).toBeGreaterThanOrEqual(24);
    expect(steady.length).toBeLessThanOrEqual(28);
    // A burst of 200 in one turn at that rate: it goes at once, however recently the last batch went.
    await vi.advanceTimersByTimeAsync(5);
    ackAll();
    const before = transport.sent.length;
    append(200);
    await vi.advanceTimersByTimeAsync(0);
    const burst = transport.sent.slice(before);
    expect(burst).toHaveLength(1);
    // With the burst, what waited for the interval.
    expect(burst[0]!.items.slice(-200)).toEqual(Array.from({ length: 200 }, (_, i) => seq - 199 + i));
  });

  it('adaptive, a window of live batches: readings go at once until that many are in flight', async () => {
    start({ maxLiveBatchesInFlight: 3 });
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) {
      append();
      await vi.advanceTimersByTimeAsync(5);
    }
    expect(transport.sent.map((b) => [b.at - t0, b.items])).toEqual([
      [0, [1]],
      [5, [2]],
      [10, [3]],
    ]);
    // Any acknowledgement makes room, not only the oldest batch's.
    transport.sent[1]!.ack();
    await vi.advanceTimersByTimeAsync(0);
    expect(transport.sent.map((b) => [b.at - t0, b.items, b.heldMs]).at(-1)).toEqual([25, [4, 5], [10, 5]]);
    expect(scheduler.stats().inflightBatches).toBe(3);
  });

  it('a window of batches acknowledged out of order: each deletes only its own rows, a new connection resends the rest', async () => {
    start({ maxLiveBatchesInFlight: 3, reconnectMinMs: 10, reconnectMaxMs: 10 });
    for (let i = 0; i < 3; i++) {
      append(2);
      await vi.advanceTimersByTimeAsync(1);
    }
    expect(transport.sent.map((b) => b.items)).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    transport.sent[2]!.ack();
    transport.sent[1]!.ack();
    await vi.advanceTimersByTimeAsync(0);
    const buffered = () => buffer.peek(0, 100).map((item) => v1.Reading.decode(item.bytes).state?.seq);
    expect(buffered().map(Number)).toEqual([1, 2]);
    transport.down();
    await vi.advanceTimersByTimeAsync(10);
    transport.up();
    await vi.advanceTimersByTimeAsync(100);
    expect(transport.sent.slice(3).map((b) => b.items)).toEqual([[1, 2]]);
    transport.sent[3]!.ack();
    await vi.advanceTimersByTimeAsync(0);
    expect(buffered()).toEqual([]);
  });

  it('fixed: a partial batch waits batchMaxDelayMs even on an idle uplink', async () => {
    start({ batching: 'fixed' });
    const t0 = Date.now();
    append();
    await vi.advanceTimersByTimeAsync(49);
    expect(transport.sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(transport.sent.map((b) => [b.at - t0, b.items, b.heldMs])).toEqual([[50, [1], [50]]]);
  });
});
