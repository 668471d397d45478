import { describe, expect, it } from 'vitest';
import { formatters, NO_VALUE } from './format.js';
import { zoneOffsetMs } from '@michi/proto/time-zone';
import { fromWallInput, toWallInput } from './time-zone.js';

describe('formatting in the chosen language', () => {
  const ja = formatters('ja');
  const en = formatters('en');
  const t = Date.UTC(2026, 10, 28, 3, 4, 5); // 12:04:05 in Tokyo

  it('shows times in the pilot time zone, 24-hour, in the locale', () => {
    expect(ja.clock(t)).toBe('12:04:05');
    expect(en.clock(t)).toBe('12:04:05');
    expect(ja.dateTime(t)).toBe('2026/11/28 12:04:05');
    expect(en.dateTime(t)).toBe('28/11/2026, 12:04:05');
    expect(en.clock(t, 'UTC')).toBe('03:04:05');
  });

  it('groups numbers and names units as the locale does', () => {
    expect(en.decimal(12345.678, 1)).toBe('12,345.7');
    expect(ja.speed(10)).toBe('36 km/h');
    expect(en.speed(1)).toBe('3.6 km/h');
    expect(en.withUnit(-85.4, 'dBm')).toBe('-85 dBm');
    expect(en.share(0.8234)).toBe('82.3%');
    expect(en.kilometres(12.34)).toBe('12.3 km');
    expect(en.duration(12_000)).toMatch(/^12 secs?$/);
    expect(ja.duration(180_000)).toBe('3 分');
  });

  it("says a municipality viewer's speed band, not its lower bound as if it were the speed", () => {
    // The cloud sends a viewer of a coarsened pilot 0, 10/3.6 or 30/3.6 m/s for under 10, 10–30 and 30+ km/h.
    const jaBands = formatters('ja', { speedBands: true });
    const enBands = formatters('en', { speedBands: true });
    expect(jaBands.speed(0)).toBe('10 km/h未満');
    expect(jaBands.speed(10 / 3.6)).toBe('10〜30 km/h');
    expect(jaBands.speed(30 / 3.6)).toBe('30 km/h以上');
    expect(enBands.speed(0)).toBe('under 10 km/h');
    expect(enBands.speed(10 / 3.6)).toBe('10–30 km/h');
    expect(enBands.speed(30 / 3.6)).toBe('30 km/h or more');
    // Operators keep the measured speed.
    expect(en.speed(10 / 3.6)).toBe('10 km/h');
  });

  it('shows a dash for a missing figure', () => {
    expect(en.decimal(null)).toBe(NO_VALUE);
    expect(ja.share(undefined)).toBe(NO_VALUE);
    expect(en.withUnit(Number.NaN, 'dB')).toBe(NO_VALUE);
  });
});

describe('wall times in the pilot time zone', () => {
  it('converts both ways for Tokyo whatever the browser zone', () => {
    const t = Date.UTC(2026, 10, 28, 3, 4);
    expect(zoneOffsetMs(t, 'Asia/Tokyo')).toBe(9 * 3600_000);
    expect(toWallInput(t, 'Asia/Tokyo')).toBe('2026-11-28T12:04');
    expect(fromWallInput('2026-11-28T12:04', 'Asia/Tokyo')).toBe(t);
    expect(fromWallInput('2026-11-28T12:04:30', 'UTC')).toBe(Date.UTC(2026, 10, 28, 12, 4, 30));
    expect(fromWallInput('yesterday', 'UTC')).toBeNull();
  });

  it('handles a zone with daylight saving time', () => {
    const summer = fromWallInput('2026-07-01T12:00', 'Europe/Berlin')!;
    expect(summer).toBe(Date.UTC(2026, 6, 1, 10, 0));
    expect(toWallInput(summer, 'Europe/Berlin')).toBe('2026-07-01T12:00');
  });
});
