/**
 * Calendar days and months of a pilot's time zone on the UTC timeline: a report's rows are local
 * days (a bus in Maebashi runs 08:00–19:00 JST, which is 23:00–10:00 UTC), and its default range is
 * last month there. Offsets come from Intl with the IANA zone; a day is [its local 00:00, the next
 * day's 00:00 − 1 ms], inclusive like every range of the API.
 */

export interface LocalDate {
  year: number;
  /** 1…12 */
  month: number;
  day: number;
}

export interface LocalDay {
  /** YYYY-MM-DD */
  date: string;
  from: number;
  to: number;
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

export function wallClock(t: number, timeZone: string): LocalDate & { hour: number; minute: number; second: number } {
  const parts = formatter(timeZone).formatToParts(new Date(t));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
}

/** The zone's offset from UTC at `t`, in ms (Asia/Tokyo: +9 h). */
function offsetAt(t: number, timeZone: string): number {
  const w = wallClock(t, timeZone);
  const whole = Math.floor(t / 1000) * 1000;
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - whole;
}

/** The local date at `t`. */
export function localDateAt(t: number, timeZone: string): LocalDate {
  const { year, month, day } = wallClock(t, timeZone);
  return { year, month, day };
}

/** The instant of 00:00 local time on `date` (month and day may overflow, as with Date.UTC). */
export function localMidnight(date: LocalDate, timeZone: string): number {
  const wall = Date.UTC(date.year, date.month - 1, date.day);
  // The offset at the guess, then at the corrected guess: exact unless midnight itself is skipped by a DST change.
  const guess = wall - offsetAt(wall, timeZone);
  return wall - offsetAt(guess, timeZone);
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
