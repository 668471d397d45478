// The open alarms as the console holds them: sorted as the API sorts them (severity, then oldest
// first), changed one AlarmChange or one acknowledge / clear answer at a time. Pure, so the
// order and the merge rules are unit-tested without a browser.

import type { Alarm, AlarmCounts, AlarmRule, AlarmSeverity, AlarmState } from '../api-types.js';

const SEVERITY_RANK: Record<AlarmSeverity, number> = { critical: 0, warning: 1, info: 2 };
/** The lifecycle only moves forward: active → acknowledged → cleared. */
const STATE_RANK: Record<AlarmState, number> = { active: 0, acknowledged: 1, cleared: 2 };

/** Alarms raised by an event, which only an operator (or autoClearS) clears: the console offers "clear" for these. */
export const EVENT_RULES: ReadonlySet<AlarmRule> = new Set(['emergency-stop', 'takeover', 'remote-intervention']);

/** Critical first, then warning, then info; within a severity the oldest first (it has waited longest). */
export function compareAlarms(a: Alarm, b: Alarm): number {
  return SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || a.raisedTsMs - b.raisedTsMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export function sortAlarms(alarms: readonly Alarm[]): Alarm[] {
  return [...alarms].sort(compareAlarms);
}

/**
 * The open list with `alarm` as it now is: replaced in place, added, or removed once cleared. An
 * alarm already further along its lifecycle than `alarm` says (an acknowledge answer that overtook
 * an older live change) is kept as it is. Returns the same list when nothing changed.
 */
export function upsertAlarm(open: readonly Alarm[], alarm: Alarm): readonly Alarm[] {
  const at = open.findIndex((a) => a.id === alarm.id);
  const known = at >= 0 ? open[at]! : null;
  if (known && STATE_RANK[known.state] > STATE_RANK[alarm.state]) return open;
  if (alarm.state === 'cleared') return known ? open.filter((a) => a.id !== alarm.id) : open;
  const next = known ? open.map((a, i) => (i === at ? alarm : a)) : [...open, alarm];
  return sortAlarms(next);
}

/** Alarms by severity; `state` narrows to one state (the header counts the active ones for operators). */
export function countBySeverity(alarms: readonly Alarm[], state?: AlarmState): AlarmCounts {
  const counts: AlarmCounts = { critical: 0, warning: 0, info: 0 };
  for (const a of alarms) if (!state || a.state === state) counts[a.severity] += 1;
  return counts;
}

/**
 * The ids of critical, active alarms in `next` that `previous` did not hold, or held with fewer
 * escalations: what the console sounds for. An escalation means nobody has acknowledged the alarm
 * for escalateAfterS; the webhooks page someone again, and the console calls the room again too.
 */
export function criticalsToCue(previous: readonly Alarm[], next: readonly Alarm[]): string[] {
  const escalations = new Map(previous.map((a) => [a.id, a.escalations]));
  return next
    .filter((a) => a.severity === 'critical' && a.state === 'active' && a.escalations > (escalations.get(a.id) ?? -1))
    .map((a) => a.id);
}
