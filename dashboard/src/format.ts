// Numbers and times in the chosen language, through Intl (never hand-built strings), so that
// 「12 km/h」「3 秒前」 and "12 km/h", "3 sec. ago" both read naturally.

import { INTL_LOCALE, type Lang } from './i18n.js';

export interface Formatters {
  /** Metres per second, shown as km/h: one decimal below 10 km/h (robots), none above (buses). */
  speed(mps: number): string;
  /** How long ago something happened, from a duration in ms. */
  age(ms: number): string;
  percent(pct: number): string;
  integer(n: number): string;
  /** A wall-clock time in the pilot's time zone. */
  clock(epochMs: number, timeZone?: string): string;
}

export function formatters(lang: Lang): Formatters {
  const locale = INTL_LOCALE[lang];
  const kmh0 = new Intl.NumberFormat(locale, { style: 'unit', unit: 'kilometer-per-hour', maximumFractionDigits: 0 });
  const kmh1 = new Intl.NumberFormat(locale, {
    style: 'unit',
    unit: 'kilometer-per-hour',
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
  });
  const relative = new Intl.RelativeTimeFormat(locale, { numeric: 'auto', style: 'short' });
  const percent = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 0 });
  const integer = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
  const clocks = new Map<string, Intl.DateTimeFormat>();

  return {
    speed(mps) {
      const kmh = Math.max(0, mps) * 3.6;
      return kmh < 10 ? kmh1.format(kmh) : kmh0.format(kmh);
    },
    age(ms) {
      // A vehicle clock slightly ahead of the browser's gives a small negative age: call it now.
      const s = Math.max(0, Math.round(ms / 1000));
      if (s < 60) return relative.format(-s, 'second');
      if (s < 3600) return relative.format(-Math.floor(s / 60), 'minute');
      if (s < 86_400) return relative.format(-Math.floor(s / 3600), 'hour');
      return relative.format(-Math.floor(s / 86_400), 'day');
    },
    percent: (pct) => percent.format(pct / 100),
    integer: (n) => integer.format(n),
    clock(epochMs, timeZone = 'Asia/Tokyo') {
      let f = clocks.get(timeZone);
      if (!f) {
        f = new Intl.DateTimeFormat(locale, { timeStyle: 'medium', hourCycle: 'h23', timeZone });
        clocks.set(timeZone, f);
      }
      return f.format(epochMs);
    },
  };
}
