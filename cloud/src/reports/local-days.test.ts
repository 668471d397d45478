import { describe, expect, it } from 'vitest';
import { lastLocalMonth, localDays, reportRange } from './local-days.js';
import { csvField } from './report-csv.js';

const H = 3_600_000;

describe('local days', () => {
  it('splits a range at local midnights of Asia/Tokyo, clipping the first and last day', () => {
    const from = Date.UTC(2026, 9, 14, 12); // 21:00 JST on the 14th
    const to = Date.UTC(2026, 9, 16, 3); // 12:00 JST on the 16th
    expect(localDays(from, to, 'Asia/Tokyo')).toEqual([
      { date: '2026-10-14', from, to: Date.UTC(2026, 9, 14, 15) - 1 },
      { date: '2026-10-15', from: Date.UTC(2026, 9, 14, 15), to: Date.UTC(2026, 9, 15, 15) - 1 },
      { date: '2026-10-16', from: Date.UTC(2026, 9, 15, 15), to },
    ]);
  });

  it('keeps a 23-hour and a 25-hour day whole where clocks change (Europe/Berlin)', () => {
    const days = localDays(Date.UTC(2026, 2, 28, 23), Date.UTC(2026, 9, 25, 23) - 1, 'Europe/Berlin');
    const march29 = days.find((d) => d.date === '2026-03-29')!;
    const october25 = days.find((d) => d.date === '2026-10-25')!;
    expect(march29.to + 1 - march29.from).toBe(23 * H);
    expect(october25.to + 1 - october25.from).toBe(25 * H);
    expect(days.length).toBe(211);
  });

  it('defaults to last month, or the month of the one bound given', () => {
    const now = Date.UTC(2026, 0, 10); // January 2026
    expect(lastLocalMonth(now, 'Asia/Tokyo')).toEqual({ from: Date.UTC(2025, 11, 1) - 9 * H, to: Date.UTC(2026, 0, 1) - 9 * H - 1 });
    const from = Date.UTC(2026, 1, 3); // 3 February, 09:00 JST
    expect(reportRange({ from }, now, 'Asia/Tokyo')).toEqual({ from, to: Date.UTC(2026, 2, 1) - 9 * H - 1 });
    expect(reportRange({ to: from }, now, 'Asia/Tokyo')).toEqual({ from: Date.UTC(2026, 1, 1) - 9 * H, to: from });
  });
});

describe('csvField (RFC 4180)', () => {
  it('quotes commas, quotes and line breaks, doubles quotes, defuses formulas but not negative numbers', () => {
    expect(csvField('Kashiwa, Chiba')).toBe('"Kashiwa, Chiba"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('a\r\nb')).toBe('"a\r\nb"');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('-91.0')).toBe('-91.0');
    expect(csvField(null)).toBe('');
    expect(csvField(3)).toBe('3');
  });
});
