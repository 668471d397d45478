/**
 * Wall-clock time in an IANA time zone on the UTC timeline, from Intl alone: the cloud's reports
 * cut a pilot's days and months with it, the dashboard reads its range inputs with it. A module of
 * its own without zod, so that the dashboard can import it (`@michi/proto/time-zone`) and keep zod
 * out of its bundle.
 */

export interface LocalDate {
  year: number;
  /** 1…12 */
  month: number;
  day: number;
}

export interface WallClock extends LocalDate {
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The date and time a clock in `timeZone` shows at `t`. */
export function wallClock(t: number, timeZone: string): WallClock {
  const parts = formatter(timeZone).formatToParts(new Date(t));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
}

/** The zone's offset from UTC at `t`, in ms (Asia/Tokyo: +9 h). */
export function zoneOffsetMs(t: number, timeZone: string): number {
  const w = wallClock(t, timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(t / 1000) * 1000;
}

/**
 * The instant at which a clock in `timeZone` shows `wall` (a wall time written as if it were UTC,
 * e.g. `Date.UTC(2026, 10, 28, 12, 4)`).
 */
export function wallTimeToInstant(wall: number, timeZone: string): number {
  // The offset at the guess, then at the corrected guess: exact unless the wall time itself is
  // skipped by a DST change.
  const guess = wall - zoneOffsetMs(wall, timeZone);
  return wall - zoneOffsetMs(guess, timeZone);
}
