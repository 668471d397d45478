/**
 * Alarms as the API, the live feed and webhooks carry them: an Alarm is the current state of one
 * condition of one source, an AlarmChange one step of its lifecycle (docs/alarms.md). A change is
 * also a webhook's JSON body, so these fields are public surface: add fields, never rename them.
 */
import { z } from 'zod';
import { PilotPathSchema, epochMsSchema } from './common.js';

/** The rules a pilot's seed can configure (docs/alarms.md lists each with its parameters). */
export const ALARM_RULES = [
  'minimal-risk',
  'emergency-stop',
  'takeover',
  'remote-intervention',
  'source-silent',
  'gateway-silent',
  'gateway-backlog',
  'link-degraded',
  'outside-operational-area',
  'in-no-go-zone',
  'over-slow-zone-limit',
  'low-battery',
] as const;
export type AlarmRule = (typeof ALARM_RULES)[number];

export const ALARM_SEVERITIES = ['critical', 'warning', 'info'] as const;
export type AlarmSeverity = (typeof ALARM_SEVERITIES)[number];

/**
 * active: raised and not yet acknowledged; acknowledged: an operator has seen it (the condition may
 * still hold); cleared: over, by the condition ending or by an operator (alarms raised by events).
 */
export const ALARM_STATES = ['active', 'acknowledged', 'cleared'] as const;
export type AlarmState = (typeof ALARM_STATES)[number];

export const ALARM_CHANGE_KINDS = ['raised', 'updated', 'acknowledged', 'escalated', 'cleared'] as const;
export type AlarmChangeKind = (typeof ALARM_CHANGE_KINDS)[number];

const nullableMs = epochMsSchema.nullable();

export const AlarmSchema = z
  .object({
    id: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/)
      .meta({
        description:
          'Stable for the life of the alarm and safe in a URL path: "<pilot>.<source>.<rule>.<raisedTsMs>" (ids never contain ".").',
      }),
    pilot: z.string(),
    source: z.string().meta({ description: "A vehicle's or sensor's id, or a gateway's id for the gateway rules." }),
    sourceType: z.enum(['vehicle', 'sensor', 'gateway']),
    rule: z.enum(ALARM_RULES),
    severity: z.enum(ALARM_SEVERITIES),
    state: z.enum(ALARM_STATES),
    raisedTsMs: epochMsSchema.meta({ description: 'Source time of the reading that raised it.' }),
    lastSeenTsMs: epochMsSchema.meta({ description: 'Source time of the latest reading that kept the condition true.' }),
    count: z.int().min(1).meta({ description: 'Readings or events that matched while it was open.' }),
    worstValue: z.number().nullable().meta({ description: 'The worst value seen while open (RSRP dBm, speed m/s, battery %, silence s).' }),
    unit: z.string().nullable().meta({ description: 'The unit of worstValue; null when the rule measures nothing.' }),
    flaps: z.int().min(0).meta({ description: 'Times the condition went false and true again within the keep-firing period.' }),
    position: z.object({ lat: z.number(), lon: z.number() }).nullable(),
    message: z.string().meta({ description: 'What holds, in English; the dashboard words it from rule and values.' }),
    acknowledgedBy: z.string().nullable().meta({ description: "The operator token's id." }),
    acknowledgedAtMs: nullableMs,
    acknowledgeComment: z.string().nullable(),
    escalatedAtMs: nullableMs.meta({ description: 'Cloud time of the last escalation.' }),
    escalations: z.int().min(0),
    clearedAtMs: nullableMs,
    clearedBy: z.string().nullable().meta({
      description:
        '"condition" when the condition ended, "source_removed" when its source left the seeds, else the token id of the operator.',
    }),
  })
  .meta({ id: 'Alarm' });
export type Alarm = z.infer<typeof AlarmSchema>;

/** The fields of an alarm just raised that its handling fills in later: not acknowledged, escalated or cleared yet. */
export const UNHANDLED_ALARM = {
  acknowledgedBy: null,
  acknowledgedAtMs: null,
  acknowledgeComment: null,
  escalatedAtMs: null,
  escalations: 0,
  clearedAtMs: null,
  clearedBy: null,
} as const satisfies Partial<Alarm>;

export const AlarmChangeSchema = z
  .object({
    changeId: z
      .int()
      .min(1)
      .meta({ description: 'Increases by one per change across the cloud: orders changes; receivers drop repeats by it.' }),
    kind: z.enum(ALARM_CHANGE_KINDS),
    atMs: epochMsSchema.meta({ description: 'Cloud time of the change.' }),
    alarm: AlarmSchema.meta({ description: 'The alarm as it is after the change.' }),
  })
  .meta({ id: 'AlarmChange' });
export type AlarmChange = z.infer<typeof AlarmChangeSchema>;

/** GET /pilots/{pilot}/alarms and …/alarms/history. */
export const AlarmsResponseSchema = z.object({ alarms: z.array(AlarmSchema) }).meta({ id: 'AlarmsResponse' });
export type AlarmsResponse = z.infer<typeof AlarmsResponseSchema>;

/** POST …/acknowledge and …/clear: the alarm as it is after the operator's action. */
export const AlarmResponseSchema = z.object({ alarm: AlarmSchema }).meta({ id: 'AlarmResponse' });
export type AlarmResponse = z.infer<typeof AlarmResponseSchema>;

/** The longest comment an operator may leave with an acknowledgement or a clear. */
export const MAX_ALARM_COMMENT_CHARS = 500;

export const AcknowledgeAlarmBodySchema = z
  .strictObject({
    comment: z
      .string({ error: 'expected a comment: what the operator saw or did' })
      .trim()
      .min(1, 'expected a comment of at least one character: what the operator saw or did')
      .max(MAX_ALARM_COMMENT_CHARS, `expected a comment of at most ${MAX_ALARM_COMMENT_CHARS} characters`)
      .meta({ description: `What the operator saw or did, 1…${MAX_ALARM_COMMENT_CHARS} characters; kept with the alarm.` }),
  })
  .meta({ id: 'AcknowledgeAlarm' });
export type AcknowledgeAlarmBody = z.infer<typeof AcknowledgeAlarmBodySchema>;

export const ClearAlarmBodySchema = z
  .strictObject({
    comment: z
      .string({ error: 'expected the comment as a string' })
      .trim()
      .max(MAX_ALARM_COMMENT_CHARS, `expected a comment of at most ${MAX_ALARM_COMMENT_CHARS} characters`)
      .optional()
      .meta({ description: `Why it was cleared, at most ${MAX_ALARM_COMMENT_CHARS} characters; written to the audit log.` }),
  })
  .meta({ id: 'ClearAlarm' });
export type ClearAlarmBody = z.infer<typeof ClearAlarmBodySchema>;

/** Open alarms by severity: all a viewer of a pilot with alarms.viewerCount may know of them. */
export const AlarmCountSchema = z
  .object({ critical: z.int().min(0), warning: z.int().min(0), info: z.int().min(0) })
  .meta({ id: 'AlarmCount', description: 'Open (active or acknowledged) alarms by severity; no ids, sources or positions.' });
export type AlarmCount = z.infer<typeof AlarmCountSchema>;

export const AlarmPathSchema = PilotPathSchema.extend({
  alarm: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,300}$/, 'expected an alarm id: "<pilot>.<source>.<rule>.<raisedTsMs>"')
    .meta({ description: 'Alarm id, "<pilot>.<source>.<rule>.<raisedTsMs>".' }),
});
