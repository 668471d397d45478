// Wall-clock times in the pilot's time zone, for the replay's range inputs: a
// <input type="datetime-local"> holds "YYYY-MM-DDTHH:mm" with no zone, and the dashboard reads it
// as the pilot's local time (Asia/Tokyo for the demo pilots), whatever zone the browser is in.

import { wallTimeToInstant, zoneOffsetMs } from '@michi/proto/time-zone';

/** "YYYY-MM-DDTHH:mm" for an instant, in `timeZone`. */
export function toWallInput(epochMs: number, timeZone: string): string {
  const wall = new Date(epochMs + zoneOffsetMs(epochMs, timeZone));
  return wall.toISOString().slice(0, 16);
}

/** The instant a "YYYY-MM-DDTHH:mm[:ss]" wall time in `timeZone` names, or null if it is not one. */
export function fromWallInput(value: string, timeZone: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!m) return null;
  const epoch = wallTimeToInstant(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +(m[6] ?? 0)), timeZone);
  return Number.isFinite(epoch) ? epoch : null;
}
