/**
 * The event types and severities the API filters by: EventType and Severity of telemetry.proto
 * without their prefix and UNSPECIFIED (query-params.test.ts compares them). A module of its own
 * without zod, so that the dashboard can import the lists (`@michi/proto/event-types`) and keep zod
 * out of its bundle.
 */
export const EVENT_TYPES = [
  'TAKEOVER',
  'DISENGAGEMENT',
  'EMERGENCY_STOP',
  'REMOTE_INTERVENTION',
  'GEOFENCE_ENTER',
  'GEOFENCE_EXIT',
  'SENSOR_FAULT',
  'LINK_LOSS',
] as const;
export const SEVERITIES = ['INFO', 'WARNING', 'CRITICAL'] as const;
