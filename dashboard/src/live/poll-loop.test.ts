import { describe, expect, it } from 'vitest';
import { pollLoop } from './poll-loop.js';

/** A hand-driven clock and timer: each test decides when the next poll runs. */
function manualTimers() {
  let t = 0;
  const pending: { fn: () => void; ms: number }[] = [];
  return {
    options: {
      now: () => t,
      setTimer: (fn: () => void, ms: number) => pending.push({ fn, ms }),
      clearTimer: () => void pending.splice(0),
    },
    waits: () => pending.map((p) => p.ms),
    async fire(advanceMs: number) {
      t += advanceMs;
      pending.shift()?.fn();
      await new Promise((resolve) => setTimeout(resolve, 0));
    },
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('pollLoop', () => {
  it('asks once an interval, minus the time the answer took, and backs off while requests fail', async () => {
    const timers = manualTimers();
    const answers: unknown[] = [1, new Error('down'), new Error('down'), 2];
    const seen: string[] = [];
    const loop = pollLoop(
      async () => {
        const next = answers.shift();
        if (next instanceof Error) throw next;
        return next;
      },
      { data: (v) => seen.push(`data ${String(v)}`), error: () => seen.push('error') },
      5000,
      timers.options,
    );
    await settle();
    expect(seen).toEqual(['data 1']);
    expect(timers.waits()).toEqual([5000]);
    await timers.fire(5000);
    await timers.fire(5000);
    expect(seen).toEqual(['data 1', 'error', 'error']);
    // 5 s after the first failure, then capped at maxBackoffMs (5 s by default).
    expect(timers.waits()).toEqual([5000]);
    await timers.fire(5000);
    expect(seen).toEqual(['data 1', 'error', 'error', 'data 2']);
    loop.stop();
    expect(timers.waits()).toEqual([]);
  });

  it('tells nobody of an answer that arrives after stop()', async () => {
    let resolve: (v: number) => void = () => undefined;
    const seen: number[] = [];
    const loop = pollLoop(
      () => new Promise<number>((r) => (resolve = r)),
      { data: (v) => seen.push(v), error: () => seen.push(-1) },
      1000,
      manualTimers().options,
    );
    loop.stop();
    resolve(3);
    await settle();
    expect(seen).toEqual([]);
  });
});
