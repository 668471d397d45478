import { describe, expect, it } from 'vitest';
import { ReplayClock } from './replay-clock.js';

describe('ReplayClock', () => {
  it('advances at its speed while playing and stops at the end', () => {
    const clock = new ReplayClock(0, 100_000);
    clock.speed = 60;
    clock.play(1000);
    expect(clock.tick(1500)).toBe(30_000);
    clock.pause();
    expect(clock.tick(5000)).toBe(30_000);
    clock.play(5000);
    expect(clock.tick(7000)).toBe(100_000);
    expect(clock.isPlaying).toBe(false);
  });

  it('seeks within its range and restarts from the beginning when played at the end', () => {
    const clock = new ReplayClock(1000, 2000, 1500);
    clock.seek(5000);
    expect(clock.time).toBe(2000);
    clock.seek(-1);
    expect(clock.time).toBe(1000);
    clock.seek(2000);
    clock.play(0);
    expect(clock.time).toBe(1000);
  });
});
