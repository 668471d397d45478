// Alarms as the API sends them, for the console's unit tests.
import type { Alarm } from '../api-types.js';

/** An alarm as the API sends it; `over` sets what the case is about. */
export function alarm(over: Partial<Alarm> & Pick<Alarm, 'source' | 'rule' | 'raisedTsMs'>): Alarm {
  return {
    id: `p.${over.source}.${over.rule}.${over.raisedTsMs}`,
    pilot: 'p',
    sourceType: 'vehicle',
    severity: 'critical',
    state: 'active',
    lastSeenTsMs: over.raisedTsMs,
    count: 1,
    worstValue: null,
    unit: null,
    flaps: 0,
    position: null,
    message: '',
    acknowledgedBy: null,
    acknowledgedAtMs: null,
    acknowledgeComment: null,
    escalatedAtMs: null,
    escalations: 0,
    clearedAtMs: null,
    clearedBy: null,
    ...over,
  };
}
