// Numbers and times in the chosen language, through Intl (never hand-built strings), so that
// 「12 km/h」「3 秒前」 and "12 km/h", "3 sec. ago" both read naturally.

import { INTL_LOCALE, translator, type Lang } from './i18n.js';

export interface Formatters {
  /** Metres per second, shown as km/h: one decimal below 10 km/h (robots), none above (buses). */
  speed(mps: number): string;
  /** How long ago something happened, from a duration in ms. */
  age(ms: number): string;
  percent(pct: number): string;
  integer(n: number): string;
  /** A wall-clock time in the pilot's time zone. */
  clock(epochMs: number, timeZone?: string): string;
  /** Date and time (short date, seconds) in the pilot's time zone. */
  dateTime(epochMs: number, timeZone?: string): string;
  /** A number with at most `digits` decimals, grouped as the locale groups. */
  decimal(n: number | null | undefined, digits?: number): string;
  /** A number followed by a unit Intl does not know (dBm, dB): "−85 dBm". */
  withUnit(n: number | null | undefined, unit: string, digits?: number): string;
  kilometres(km: number | null | undefined): string;
  milliseconds(ms: number | null | undefined): string;
  /** A share from 0..1 as a percentage with one decimal. */
  share(fraction: number | null | undefined): string;
  /** A duration in ms as the largest sensible unit, e.g. "12 s", "3 min". */
  duration(ms: number): string;
}

/** What is shown where a figure is missing. */
export const NO_VALUE = '—';

/** Lower bounds of the speed bands a municipality viewer gets instead of speeds (0, 10, 30 km/h; the cloud's privacy.ts). */
export const SPEED_BAND_KMH = [10, 30] as const;

export interface FormatOptions {
  /** Speeds are band lower bounds (a viewer of a coarsened pilot): show the band, "10–30 km/h", not "10 km/h". */
  speedBands?: boolean;
}

export function formatters(lang: Lang, opts: FormatOptions = {}): Formatters {
  const locale = INTL_LOCALE[lang];
  const t = translator(lang);
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
  const dateTimes = new Map<string, Intl.DateTimeFormat>();
  const decimals = new Map<number, Intl.NumberFormat>();
  const decimalFormat = (digits: number) => {
    let f = decimals.get(digits);
    if (!f) {
      f = new Intl.NumberFormat(locale, { maximumFractionDigits: digits });
      decimals.set(digits, f);
    }
    return f;
  };
  const km = new Intl.NumberFormat(locale, { style: 'unit', unit: 'kilometer', maximumFractionDigits: 1 });
  const ms = new Intl.NumberFormat(locale, { style: 'unit', unit: 'millisecond', maximumFractionDigits: 0 });
  const share = new Intl.NumberFormat(locale, { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const seconds = new Intl.NumberFormat(locale, { style: 'unit', unit: 'second', unitDisplay: 'short', maximumFractionDigits: 0 });
  const minutes = new Intl.NumberFormat(locale, { style: 'unit', unit: 'minute', unitDisplay: 'short', maximumFractionDigits: 1 });
  const hours = new Intl.NumberFormat(locale, { style: 'unit', unit: 'hour', unitDisplay: 'short', maximumFractionDigits: 1 });
  const ok = (n: number | null | undefined): n is number => typeof n === 'number' && Number.isFinite(n);

  return {
    speed(mps) {
      const kmh = Math.max(0, mps) * 3.6;
      if (opts.speedBands) {
        const [low, high] = SPEED_BAND_KMH;
        // The band's lower bound comes as m/s: compare with a little slack for 10 / 3.6 × 3.6.
        if (kmh < low - 0.01) return t('speed.under', { v: kmh0.format(low) });
        if (kmh < high - 0.01) return t('speed.between', { a: integer.format(low), b: kmh0.format(high) });
        return t('speed.over', { v: kmh0.format(high) });
      }
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
    dateTime(epochMs, timeZone = 'Asia/Tokyo') {
      let f = dateTimes.get(timeZone);
      if (!f) {
        f = new Intl.DateTimeFormat(locale, { dateStyle: 'short', timeStyle: 'medium', hourCycle: 'h23', timeZone });
        dateTimes.set(timeZone, f);
      }
      return f.format(epochMs);
    },
    decimal: (n, digits = 1) => (ok(n) ? decimalFormat(digits).format(n) : NO_VALUE),
    withUnit: (n, unit, digits = 0) => (ok(n) ? `${decimalFormat(digits).format(n)} ${unit}` : NO_VALUE),
    kilometres: (n) => (ok(n) ? km.format(n) : NO_VALUE),
    milliseconds: (n) => (ok(n) ? ms.format(n) : NO_VALUE),
    share: (n) => (ok(n) ? share.format(n) : NO_VALUE),
    duration(n) {
      const s = Math.max(0, n) / 1000;
      if (s < 90) return seconds.format(s);
      if (s < 5400) return minutes.format(s / 60);
      return hours.format(s / 3600);
    },
  };
}
