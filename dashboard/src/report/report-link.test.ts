import { describe, expect, it } from 'vitest';
import { lastMonth, monthRange, parseReportLink, reportHash } from './report-link.js';

const H = 3_600_000;

describe('report links and months', () => {
  it('round-trips a report link, and tells a report fragment without a range from other fragments', () => {
    const link = { pilot: 'maebashi-l4-bus', from: 1, to: 2, lang: 'en' as const };
    expect(parseReportLink(reportHash(link))).toEqual(link);
    expect(parseReportLink('#report&pilot=x')).toBe('invalid');
    expect(parseReportLink('#report=&pilot=x&from=5&to=4')).toBe('invalid');
    expect(parseReportLink('#view=1')).toBeNull();
    expect(parseReportLink('')).toBeNull();
  });

  it('last month and a month’s range are calendar months of the pilot’s zone', () => {
    // 2026-01-01 03:00 JST is still December 2025 in UTC: last month in Tokyo is December.
    expect(lastMonth(Date.UTC(2025, 11, 31, 18), 'Asia/Tokyo')).toBe('2025-12');
    expect(lastMonth(Date.UTC(2025, 11, 31, 18), 'UTC')).toBe('2025-11');
    expect(monthRange('2026-02', 'Asia/Tokyo')).toEqual({ from: Date.UTC(2026, 1, 1) - 9 * H, to: Date.UTC(2026, 2, 1) - 9 * H - 1 });
    expect(monthRange('2026-12', 'Asia/Tokyo')?.to).toBe(Date.UTC(2027, 0, 1) - 9 * H - 1);
    expect(monthRange('2026-13', 'Asia/Tokyo')).toBeNull();
  });
});
