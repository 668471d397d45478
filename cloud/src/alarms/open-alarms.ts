/**
 * Open alarms as people are shown them: in the order an operator should look at them (most severe
 * first, then the oldest), and as the number per severity that is all a viewer may know of them.
 */
import type { AlarmCount } from '@michi/proto';
import type { Alarm, AlarmSeverity } from './alarm-change.js';

const SEVERITY_ORDER: Record<AlarmSeverity, number> = { critical: 0, warning: 1, info: 2 };

/** Most severe first; within a severity the longest open first (then by id, so the order is stable). */
export function sortOpenAlarms(alarms: Alarm[]): Alarm[] {
  return alarms.sort(
    (a, b) =>
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || a.raisedTsMs - b.raisedTsMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

/** Open alarms per severity: no id, source, position or message. */
export function countOpenAlarms(alarms: readonly Alarm[]): AlarmCount {
  const count: AlarmCount = { critical: 0, warning: 0, info: 0 };
  for (const a of alarms) if (a.state !== 'cleared') count[a.severity]++;
  return count;
}
