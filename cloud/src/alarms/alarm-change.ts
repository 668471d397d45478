/**
 * The contract between the alarm engine (which decides), its store (which keeps alarms and their
 * history) and whatever tells people (the webhook outbox, the live feed, the API): an Alarm is the
 * current state of one condition of one source, an AlarmChange is one step of its lifecycle. A
 * change is what a webhook receiver gets as its JSON body (docs/alarms.md), so its fields are part of
 * michi's public surface: add fields, never rename them.
 */

/** The rules a pilot's seed can configure (docs/alarms.md lists each with its parameters). */
export const ALARM_RULES = [
  'minimal-risk', // a vehicle in AUTONOMY_MODE_MINIMAL_RISK
  'emergency-stop', // an EVENT_TYPE_EMERGENCY_STOP event
  'takeover', // an EVENT_TYPE_TAKEOVER event
  'remote-intervention', // an EVENT_TYPE_REMOTE_INTERVENTION event
  'source-silent', // no reading from a vehicle or sensor for its silence threshold
  'gateway-silent', // no batch from a gateway for its threshold
  'gateway-backlog', // a gateway is draining a backlog (its readings arrive well behind their source time)
  'link-degraded', // RSRP, SINR or RTT beyond a threshold for a while, with hysteresis
  'outside-operational-area', // a vehicle outside every operational geofence of its pilot
  'in-no-go-zone', // a vehicle inside a no-go geofence
  'over-slow-zone-limit', // a vehicle faster than a slow zone's speed limit inside it
  'low-battery',
] as const;
export type AlarmRule = (typeof ALARM_RULES)[number];

export const ALARM_SEVERITIES = ['critical', 'warning', 'info'] as const;
export type AlarmSeverity = (typeof ALARM_SEVERITIES)[number];

/**
 * active: raised and not yet acknowledged; acknowledged: an operator has seen it (the condition may
 * still hold); cleared: over, by the condition ending or by an operator (for alarms raised by events).
 */
export const ALARM_STATES = ['active', 'acknowledged', 'cleared'] as const;
export type AlarmState = (typeof ALARM_STATES)[number];

/** What happened to an alarm; one AlarmChange per step, in order, per alarm. */
export const ALARM_CHANGE_KINDS = ['raised', 'updated', 'acknowledged', 'escalated', 'cleared'] as const;
export type AlarmChangeKind = (typeof ALARM_CHANGE_KINDS)[number];

export interface Alarm {
  /** Stable for the life of the alarm: "<pilot>/<source>/<rule>/<raisedTsMs>". */
  id: string;
  pilot: string;
  /** A vehicle's or sensor's id, or a gateway's id for the gateway rules. */
  source: string;
  /** Which kind of thing `source` names. */
  sourceType: 'vehicle' | 'sensor' | 'gateway';
  rule: AlarmRule;
  severity: AlarmSeverity;
  state: AlarmState;
  /** Source time (ms since the epoch) of the reading that raised it. */
  raisedTsMs: number;
  /** Source time of the latest reading that kept the condition true. */
  lastSeenTsMs: number;
  /** How many readings or events have matched while it was open (>= 1). */
  count: number;
  /** The worst value seen while open, for rules that measure one (RSRP dBm, speed m/s, battery %, silence s). */
  worstValue: number | null;
  /** The unit of `worstValue`, e.g. "dBm", "m/s", "%", "s"; null when the rule measures nothing. */
  unit: string | null;
  /** Times the condition went false and true again within the keep-firing period while open. */
  flaps: number;
  /** Where the source was at the latest matching reading, when known. */
  position: { lat: number; lon: number } | null;
  /** For a person: what holds, in English; the dashboard words it from rule and values in either language. */
  message: string;
  acknowledgedBy: string | null;
  acknowledgedAtMs: number | null;
  acknowledgeComment: string | null;
  /** Cloud time of the last escalation, null when never escalated. */
  escalatedAtMs: number | null;
  escalations: number;
  /** Cloud time it was cleared, null while open. */
  clearedAtMs: number | null;
  /** 'condition' when the condition ended, the token id of the operator otherwise. */
  clearedBy: string | null;
}

export interface AlarmChange {
  /** Increases by one per change across the whole cloud: orders changes and lets a receiver drop repeats. */
  changeId: number;
  kind: AlarmChangeKind;
  /** Cloud time of the change, ms since the epoch. */
  atMs: number;
  /** The alarm as it is after the change. */
  alarm: Alarm;
}
