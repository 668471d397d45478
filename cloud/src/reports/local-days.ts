/**
 * Calendar days and months of a pilot's time zone on the UTC timeline: a report's rows are local
 * days (a bus in Maebashi runs 08:00–19:00 JST, which is 23:00–10:00 UTC), and its default range is
 * last month there. Offsets come from Intl with the IANA zone; a day is [its local 00:00, the next
 * day's 00:00 − 1 ms], inclusive like every range of the API.
 */

import { wallClock, wallTimeToInstant, type LocalDate } from '@michi/proto/time-zone';

export interface LocalDay {
  /** YYYY-MM-DD */
  date: string;
  from: number;
  to: number;
}

/** The local date at `t`. */
function localDateAt(t: number, timeZone: string): LocalDate {
  const { year, month, day } = wallClock(t, timeZone);
  return { year, month, day };
}

/** The instant of 00:00 local time on `date` (month and day may overflow, as with Date.UTC). */
function localMidnight(date: LocalDate, timeZone: string): number {
  return wallTimeToInstant(Date.UTC(date.year, date.month - 1, date.day), timeZone);
}

export function isoDate(d: LocalDate): string {
  const n = new Date(Date.UTC(d.year, d.month - 1, d.day));
  return n.toISOString().slice(0, 10);
}

/** The local days that [from, to] touches, each clipped to the range. */
export function localDays(from: number, to: number, timeZone: string): LocalDay[] {
  const days: LocalDay[] = [];
  let date = localDateAt(from, timeZone);
  let start = from;
  while (start <= to) {
    const next = localMidnight({ ...date, day: date.day + 1 }, timeZone);
    days.push({ date: isoDate(date), from: start, to: Math.min(to, next - 1) });
    start = next;
    date = localDateAt(next, timeZone);
  }
  return days;
}

/** The whole local month that `t` falls in: [its first day 00:00, the next month's − 1 ms]. */
export function localMonthOf(t: number, timeZone: string): { from: number; to: number } {
  const { year, month } = localDateAt(t, timeZone);
  return { from: localMidnight({ year, month, day: 1 }, timeZone), to: localMidnight({ year, month: month + 1, day: 1 }, timeZone) - 1 };
}

/** The previous whole calendar month of the zone, as of `now`. */
export function lastLocalMonth(now: number, timeZone: string): { from: number; to: number } {
  const thisMonth = localMonthOf(now, timeZone);
  return localMonthOf(thisMonth.from - 1, timeZone);
}

/**
 * A report's range: as asked; without `to`, the end of the local month `from` falls in; without
 * `from`, the start of the month of `to`; without either, last month.
 */
export function reportRange(
  q: { from?: number | undefined; to?: number | undefined },
  now: number,
  timeZone: string,
): { from: number; to: number } {
  if (q.from === undefined && q.to === undefined) return lastLocalMonth(now, timeZone);
  if (q.from !== undefined && q.to !== undefined) return { from: q.from, to: q.to };
  return q.from !== undefined
    ? { from: q.from, to: localMonthOf(q.from, timeZone).to }
    : { from: localMonthOf(q.to!, timeZone).from, to: q.to! };
}
