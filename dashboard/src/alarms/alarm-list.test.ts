import { describe, expect, it } from 'vitest';
import { compareAlarms, countBySeverity, criticalsToCue, sortAlarms, upsertAlarm } from './alarm-list.js';
import { alarm } from './test-alarms.js';

const T = 1_780_000_000_000;

describe('the order of open alarms', () => {
  it('puts critical before warning before info, and the oldest first within a severity', () => {
    const list = [
      alarm({ source: 'bus-1', rule: 'low-battery', severity: 'warning', raisedTsMs: T + 1 }),
      alarm({ source: 'gw-1', rule: 'gateway-backlog', severity: 'info', raisedTsMs: T - 100 }),
      alarm({ source: 'bus-2', rule: 'minimal-risk', raisedTsMs: T + 50 }),
      alarm({ source: 'bus-1', rule: 'minimal-risk', raisedTsMs: T + 10 }),
      alarm({ source: 'bus-3', rule: 'takeover', severity: 'warning', raisedTsMs: T - 5 }),
    ];
    expect(sortAlarms(list).map((a) => `${a.severity} ${a.source} ${a.raisedTsMs - T}`)).toEqual([
      'critical bus-1 10',
      'critical bus-2 50',
      'warning bus-3 -5',
      'warning bus-1 1',
      'info gw-1 -100',
    ]);
  });

  it('orders two alarms raised in the same millisecond by id, so a redraw does not swap them', () => {
    const a = alarm({ source: 'bus-1', rule: 'minimal-risk', raisedTsMs: T });
    const b = alarm({ source: 'bus-2', rule: 'minimal-risk', raisedTsMs: T });
    expect(compareAlarms(a, b)).toBeLessThan(0);
    expect(compareAlarms(b, a)).toBeGreaterThan(0);
    expect(sortAlarms([b, a])).toEqual([a, b]);
  });

  it('does not sort in place', () => {
    const list = [
      alarm({ source: 'b', rule: 'takeover', severity: 'info', raisedTsMs: T }),
      alarm({ source: 'a', rule: 'minimal-risk', raisedTsMs: T }),
    ];
    const copy = [...list];
    sortAlarms(list);
    expect(list).toEqual(copy);
  });
});

describe('upsertAlarm', () => {
  const mrm = alarm({ source: 'bus-1', rule: 'minimal-risk', raisedTsMs: T });
  const battery = alarm({ source: 'bus-2', rule: 'low-battery', severity: 'warning', raisedTsMs: T - 1000 });

  it('adds a new alarm in its place in the order', () => {
    expect(upsertAlarm([battery], mrm).map((a) => a.id)).toEqual([mrm.id, battery.id]);
  });

  it('replaces an alarm by id (an update: count and last seen)', () => {
    const updated = { ...mrm, count: 7, lastSeenTsMs: T + 7000 };
    const next = upsertAlarm([mrm, battery], updated);
    expect(next).toHaveLength(2);
    expect(next[0]).toEqual(updated);
  });

  it('keeps an acknowledged alarm in the open list, acknowledged', () => {
    const acked = { ...mrm, state: 'acknowledged' as const, acknowledgedBy: 'op', acknowledgeComment: 'on my way' };
    const next = upsertAlarm([mrm, battery], acked);
    expect(next.find((a) => a.id === mrm.id)?.state).toBe('acknowledged');
  });

  it('removes a cleared alarm, and ignores a cleared one it never held', () => {
    const open = [mrm, battery];
    expect(upsertAlarm(open, { ...mrm, state: 'cleared', clearedBy: 'condition' })).toEqual([battery]);
    const unknown = alarm({ source: 'bus-9', rule: 'takeover', state: 'cleared', raisedTsMs: T });
    expect(upsertAlarm(open, unknown)).toBe(open);
  });

  it('never moves an alarm back in its lifecycle (a late "updated" change after the acknowledge answer)', () => {
    const acked = { ...mrm, state: 'acknowledged' as const };
    const open = [acked];
    expect(upsertAlarm(open, { ...mrm, count: 3 })).toBe(open);
  });
});

describe('counts and new criticals', () => {
  const list = [
    alarm({ source: 'bus-1', rule: 'minimal-risk', raisedTsMs: T }),
    alarm({ source: 'bus-2', rule: 'minimal-risk', raisedTsMs: T, state: 'acknowledged' }),
    alarm({ source: 'bus-3', rule: 'low-battery', severity: 'warning', raisedTsMs: T }),
    alarm({ source: 'gw', rule: 'gateway-backlog', severity: 'info', raisedTsMs: T, sourceType: 'gateway' }),
  ];

  it('counts by severity, all open or one state', () => {
    expect(countBySeverity(list)).toEqual({ critical: 2, warning: 1, info: 1 });
    expect(countBySeverity(list, 'active')).toEqual({ critical: 1, warning: 1, info: 1 });
    expect(countBySeverity([])).toEqual({ critical: 0, warning: 0, info: 0 });
  });

  it('names only critical, active alarms the previous list did not hold', () => {
    const fresh = alarm({ source: 'bus-4', rule: 'emergency-stop', raisedTsMs: T + 1 });
    const warning = alarm({ source: 'bus-5', rule: 'takeover', severity: 'warning', raisedTsMs: T + 1 });
    expect(criticalsToCue(list, [...list, fresh, warning])).toEqual([fresh.id]);
    expect(criticalsToCue(list, list)).toEqual([]);
    // Acknowledged elsewhere before this page heard of it: nothing to call out.
    expect(criticalsToCue([], [{ ...fresh, state: 'acknowledged' }])).toEqual([]);
  });

  it('names a critical, active alarm again when it was escalated, not when it was only updated', () => {
    const mrm = alarm({ source: 'bus-1', rule: 'minimal-risk', raisedTsMs: T });
    const escalated = { ...mrm, escalations: 1, escalatedAtMs: T + 300_000 };
    expect(criticalsToCue([mrm], [escalated])).toEqual([mrm.id]);
    expect(criticalsToCue([escalated], [{ ...escalated, count: 9 }])).toEqual([]);
    expect(criticalsToCue([escalated], [{ ...escalated, escalations: 2 }])).toEqual([mrm.id]);
    const warning = alarm({ source: 'bus-5', rule: 'low-battery', severity: 'warning', raisedTsMs: T });
    expect(criticalsToCue([warning], [{ ...warning, escalations: 1 }])).toEqual([]);
  });
});
