/**
 * The contract between the alarm engine (which decides), its store (which keeps alarms and their
 * history) and whatever tells people (the webhook outbox, the live feed, the API). Declared once, as
 * the API's schema in proto/src/api/alarms.ts; re-exported here for the cloud's alarm modules.
 */
export {
  ALARM_CHANGE_KINDS,
  ALARM_RULES,
  ALARM_SEVERITIES,
  ALARM_STATES,
  UNHANDLED_ALARM,
  type Alarm,
  type AlarmChange,
  type AlarmChangeKind,
  type AlarmRule,
  type AlarmSeverity,
  type AlarmState,
} from '@michi/proto';
