/**
 * A pilot's service window ("08:00"–"19:00" local time, seeds) as minutes on the UTC timeline: which
 * whole minutes of a time range fall inside it. Local time comes from Intl with the pilot's IANA
 * zone, computed once per UTC hour (offsets change on hour or half-hour boundaries, never inside a
 * UTC minute, so a per-hour offset is exact for every zone with a whole-minute offset).
 */

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

function minutesOfDay(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/** Local minute-of-day at a UTC instant, for one zone; cached per UTC hour. */
function localClock(timeZone: string): (t: number) => number {
  const fmt = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const cache = new Map<number, number>();
  return (t) => {
    const hourStart = Math.floor(t / HOUR_MS) * HOUR_MS;
    let base = cache.get(hourStart);
    if (base === undefined) {
      const parts = fmt.formatToParts(new Date(hourStart));
      const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
      base = get('hour') * 60 + get('minute');
      cache.set(hourStart, base);
    }
    return (base + Math.floor((t - hourStart) / MINUTE_MS)) % 1440;
  };
}

/**
 * Start times (ms, multiples of 60 000) of the minutes m with from ≤ m and m + 59 999 ≤ to whose
 * local start time is inside [start, end) of the service window; a window whose end is earlier
 * than its start crosses midnight.
 */
export function serviceMinutes(from: number, to: number, window: { start: string; end: string }, timeZone: string): number[] {
  const start = minutesOfDay(window.start);
  const end = minutesOfDay(window.end);
  const inWindow = start < end ? (m: number) => m >= start && m < end : (m: number) => m >= start || m < end;
  const clock = localClock(timeZone);
  const out: number[] = [];
  for (let m = Math.ceil(from / MINUTE_MS) * MINUTE_MS; m + MINUTE_MS - 1 <= to; m += MINUTE_MS) {
    if (inWindow(clock(m))) out.push(m);
  }
  return out;
}
