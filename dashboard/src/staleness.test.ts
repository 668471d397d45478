import { describe, expect, it } from 'vitest';
import { STALE_AFTER_MS, staleAfterMs } from './staleness.js';

describe('staleAfterMs', () => {
  it('is the normal threshold without a delay', () => {
    expect(staleAfterMs(0)).toBe(STALE_AFTER_MS);
    expect(staleAfterMs(Number.NaN)).toBe(STALE_AFTER_MS);
    expect(staleAfterMs(-5)).toBe(STALE_AFTER_MS);
  });

  it('adds the public delay, so a bus shown 30 s late but reporting is not stale', () => {
    expect(staleAfterMs(30)).toBe(40_000);
    expect(31_000).toBeLessThan(staleAfterMs(30));
  });
});
