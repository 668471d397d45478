// The incident-bundle command's own option syntax: durations and moments, and what it refuses.
import { ConfigError } from '@michi/proto';
import { describe, expect, it } from 'vitest';
import { parseDuration, parseMoment } from './bundle-command.js';

describe('incident-bundle options', () => {
  it('reads durations in ms, s, m and h', () => {
    expect(parseDuration('before', '90s')).toBe(90_000);
    expect(parseDuration('before', '5m')).toBe(300_000);
    expect(parseDuration('after', '1.5h')).toBe(5_400_000);
    expect(parseDuration('after', '250ms')).toBe(250);
    expect(() => parseDuration('after', '5 minutes')).toThrow(/--after: expected a duration such as 90s, 5m or 1h/);
  });

  it('reads a moment as ISO 8601 with a zone or as ms since the epoch, nothing ambiguous', () => {
    expect(parseMoment('2026-12-06T09:15:00Z')).toBe(Date.UTC(2026, 11, 6, 9, 15));
    expect(parseMoment('2026-12-06T18:15:00+09:00')).toBe(Date.UTC(2026, 11, 6, 9, 15));
    expect(parseMoment('1796548500000')).toBe(1_796_548_500_000);
    // Without a zone the moment depends on the machine's: refused.
    expect(() => parseMoment('2026-12-06T09:15:00')).toThrow(ConfigError);
    expect(() => parseMoment('yesterday')).toThrow(/--at: expected ISO 8601/);
  });
});
