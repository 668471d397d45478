// Alarms as the API sends them, for the console's unit tests.
// A test fixture, outside the bundle: the value import from @michi/proto/api brings zod only into tests.
import { UNHANDLED_ALARM } from '@michi/proto/api';
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
    ...UNHANDLED_ALARM,
    ...over,
  };
}
