// The `alarms` section of a pilot definition: which alarm rules the cloud evaluates on the pilot's
// readings, with what severity and thresholds (docs/alarms.md lists each rule; docs/seeds.md the
// fields). Every field has a default, so a seed without `alarms` gets the defaults of every rule.
import { z } from 'zod';

const SEVERITY = z.enum(['critical', 'warning', 'info'], { error: 'expected one of "critical", "warning", "info"' });
const seconds = (max: number) => z.number({ error: 'expected a number of seconds' }).min(0).max(max);
const DAY_S = 86_400;

/** What every rule has; `pendingS` and `keepFiringS` are in source time except for the silence rules (docs/alarms.md). */
function ruleSchema<T extends z.ZodRawShape>(defaults: { severity: 'critical' | 'warning' | 'info' }, extra: T) {
  return z.strictObject({
    enabled: z.boolean().default(true),
    severity: SEVERITY.default(defaults.severity),
    /** The condition must hold this long before the alarm is raised. */
    pendingS: seconds(DAY_S).default(0),
    /** The condition must be false this long before the alarm clears; true again within it counts a flap. */
    keepFiringS: seconds(DAY_S).default(0),
    ...extra,
  });
}

/** Raised by an event; cleared by an operator, or after `autoClearS` (cloud time) without a further event. */
const eventRule = (severity: 'critical' | 'warning') =>
  ruleSchema({ severity }, { autoClearS: z.number().positive().max(DAY_S).optional() });

const withDefaults = <S extends z.ZodType>(schema: S) => schema.default(schema.parse({}) as never);

const AlarmRulesSchema = z.strictObject({
  'minimal-risk': withDefaults(ruleSchema({ severity: 'critical' }, {})),
  'emergency-stop': withDefaults(eventRule('critical')),
  takeover: withDefaults(eventRule('warning')),
  'remote-intervention': withDefaults(eventRule('warning')),
  'source-silent': withDefaults(
    ruleSchema(
      { severity: 'warning' },
      {
        /** Silence after which a vehicle's alarm is raised, unless the vehicle sets its own `silenceS`. */
        vehicleS: z.number().positive().max(DAY_S).default(10),
        sensorS: z.number().positive().max(DAY_S).default(60),
      },
    ),
  ),
  'gateway-silent': withDefaults(ruleSchema({ severity: 'critical' }, { afterS: z.number().positive().max(DAY_S).default(30) })),
  'gateway-backlog': withDefaults(
    ruleSchema(
      { severity: 'info' },
      /** A batch whose newest reading is more than this behind the cloud's clock means the gateway is draining a backlog. */
      { lagS: z.number().positive().max(DAY_S).default(30) },
    ),
  ),
  'link-degraded': withDefaults(
    ruleSchema(
      { severity: 'warning' },
      {
        /** How long (source time) a threshold must be passed before the alarm is raised: this rule's pendingS. */
        forS: seconds(DAY_S).default(10),
        // Raised past a raise threshold, cleared only past the clear threshold: hysteresis.
        rsrpRaiseDbm: z.number().min(-156).max(-31).default(-110),
        rsrpClearDbm: z.number().min(-156).max(-31).default(-105),
        sinrRaiseDb: z.number().min(-23).max(40).default(0),
        sinrClearDb: z.number().min(-23).max(40).default(3),
        rttRaiseMs: z.number().min(0).max(60_000).default(150),
        rttClearMs: z.number().min(0).max(60_000).default(100),
      },
    )
      .omit({ pendingS: true })
      .refine((r) => r.rsrpClearDbm >= r.rsrpRaiseDbm, {
        message: 'expected rsrpClearDbm >= rsrpRaiseDbm (the alarm clears only when RSRP is back above the clear threshold)',
        path: ['rsrpClearDbm'],
      })
      .refine((r) => r.sinrClearDb >= r.sinrRaiseDb, {
        message: 'expected sinrClearDb >= sinrRaiseDb (the alarm clears only when SINR is back above the clear threshold)',
        path: ['sinrClearDb'],
      })
      .refine((r) => r.rttClearMs <= r.rttRaiseMs, {
        message: 'expected rttClearMs <= rttRaiseMs (the alarm clears only when RTT is back below the clear threshold)',
        path: ['rttClearMs'],
      }),
  ),
  'outside-operational-area': withDefaults(ruleSchema({ severity: 'critical' }, {})),
  'in-no-go-zone': withDefaults(ruleSchema({ severity: 'critical' }, {})),
  'over-slow-zone-limit': withDefaults(ruleSchema({ severity: 'warning' }, {})),
  'low-battery': withDefaults(
    ruleSchema(
      { severity: 'warning' },
      { raisePct: z.number().min(0).max(100).default(20), clearPct: z.number().min(0).max(100).default(25) },
    ).refine((r) => r.clearPct >= r.raisePct, {
      message: 'expected clearPct >= raisePct (the alarm clears only when the battery is back above clearPct)',
      path: ['clearPct'],
    }),
  ),
});

export const AlarmsSchema = z.strictObject({
  rules: withDefaults(AlarmRulesSchema),
  /** An active (unacknowledged) alarm older than this is escalated, and again every escalateAfterS. */
  escalateAfterS: z
    .number()
    .positive()
    .max(30 * DAY_S)
    .default(300),
  /** An alarm whose condition keeps holding emits an 'updated' change at most this often. */
  updateIntervalS: z.number().positive().max(DAY_S).default(60),
  /**
   * Viewers (the municipality's read-only view) see nothing of alarms unless this is true; then only
   * the number of open alarms by severity (GET /pilots/{pilot}/alarms/count, the live feed's
   * `alarm-count`), never ids, sources, positions or messages.
   */
  viewerCount: z.boolean().default(false),
});

export type PilotAlarms = z.infer<typeof AlarmsSchema>;
