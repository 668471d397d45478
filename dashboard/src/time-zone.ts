// Wall-clock times in the pilot's time zone, for the replay's range inputs: a
// <input type="datetime-local"> holds "YYYY-MM-DDTHH:mm" with no zone, and the dashboard reads it
// as the pilot's local time (Asia/Tokyo for the demo pilots), whatever zone the browser is in.

/** The zone's offset from UTC at `epochMs`, in ms (Asia/Tokyo: +9 h). */
export function zoneOffsetMs(epochMs: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(epochMs);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return wall - Math.floor(epochMs / 1000) * 1000;
}

/** "YYYY-MM-DDTHH:mm" for an instant, in `timeZone`. */
export function toWallInput(epochMs: number, timeZone: string): string {
  const wall = new Date(epochMs + zoneOffsetMs(epochMs, timeZone));
  return wall.toISOString().slice(0, 16);
}

/** The instant a "YYYY-MM-DDTHH:mm[:ss]" wall time in `timeZone` names, or null if it is not one. */
export function fromWallInput(value: string, timeZone: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!m) return null;
  const asUtc = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +(m[6] ?? 0));
  // The offset at the guessed instant; once more at the corrected one, for a DST change in between.
  let epoch = asUtc - zoneOffsetMs(asUtc, timeZone);
  epoch = asUtc - zoneOffsetMs(epoch, timeZone);
  return Number.isFinite(epoch) ? epoch : null;
}
