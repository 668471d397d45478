/**
 * Who drives a simulated vehicle: a state machine over the michi.v1 AutonomyMode values with the
 * interventions a Level-4 pilot reports (a safety driver's takeover, the system's disengagement, a
 * remote operator's assist or remote driving, an emergency stop into a minimal-risk condition),
 * each drawn as a Poisson process at a configurable rate per hour of driving, with a cause from
 * michi.v1 EventCause. Every transition into an intervention emits an `event` body; the vehicle
 * model reads `mode` to know whether to drive, crawl or hold still.
 *
 *   AUTONOMOUS ──takeover / disengagement──► MANUAL (or REMOTE_DRIVING without a safety driver)
 *        │ ▲                                      │ after its duration
 *        │ └──────────────────────────────────────┘
 *        ├──remote assist──► REMOTE_ASSIST ──► AUTONOMOUS, or escalates to REMOTE_DRIVING
 *        └──emergency stop──► MINIMAL_RISK ──► (held, then) AUTONOMOUS
 *   REMOTE_DRIVING ──link lost──► MINIMAL_RISK (cause COMMUNICATION)
 */
import { v1, type michi } from '@michi/proto';
import type { Random } from './prng.js';

type Mode = michi.v1.AutonomyMode;
type Cause = michi.v1.EventCause;
const M = v1.AutonomyMode;
const C = v1.EventCause;
const T = v1.EventType;
const S = v1.Severity;

/** Rates (per hour of autonomous driving) and durations (seconds, drawn uniformly) of interventions. */
export interface AutonomyRates {
  takeoverPerH: number;
  disengagementPerH: number;
  emergencyStopPerH: number;
  remoteAssistPerH: number;
  /** Share of remote assists that escalate to remote driving. */
  remoteDrivingShare: number;
  manualS: readonly [number, number];
  remoteAssistS: readonly [number, number];
  remoteDrivingS: readonly [number, number];
  minimalRiskS: readonly [number, number];
}

/**
 * Defaults of the order pilots in Japan report (a few interventions per 100 km at 20 km/h is a few
 * per 5 hours); high enough that a simulated hour shows each kind of event on a small fleet.
 */
export const DEFAULT_AUTONOMY_RATES: Readonly<AutonomyRates> = {
  takeoverPerH: 0.6,
  disengagementPerH: 0.4,
  emergencyStopPerH: 0.1,
  remoteAssistPerH: 1,
  remoteDrivingShare: 0.25,
  manualS: [20, 120],
  remoteAssistS: [10, 40],
  remoteDrivingS: [30, 180],
  minimalRiskS: [30, 120],
};

type EventProps = Omit<michi.v1.Event.$Properties, 'source_id' | 'ts_ms' | 'seq' | 'position'>;

/** The interventions a scripted trigger can start (`force`). */
export type ForcedIntervention = 'emergency-stop' | 'takeover' | 'remote-intervention';

/** An intervention that happened during a step, `atS` seconds into it. */
export interface AutonomyEvent {
  atS: number;
  body: EventProps;
}

/** Causes with relative weights, by what starts the intervention. */
const CAUSES: Record<'takeover' | 'disengagement' | 'emergencyStop' | 'remoteAssist', readonly (readonly [Cause, number])[]> = {
  takeover: [
    [C.EVENT_CAUSE_PEDESTRIAN, 3],
    [C.EVENT_CAUSE_PARKED_VEHICLE, 3],
    [C.EVENT_CAUSE_OTHER_ROAD_USER, 3],
    [C.EVENT_CAUSE_DRIVER_PRECAUTION, 4],
    [C.EVENT_CAUSE_ROAD_WORKS, 1],
    [C.EVENT_CAUSE_WEATHER, 1],
  ],
  disengagement: [
    [C.EVENT_CAUSE_PERCEPTION, 3],
    [C.EVENT_CAUSE_LOCALIZATION, 2],
    [C.EVENT_CAUSE_PLANNING, 2],
    [C.EVENT_CAUSE_SYSTEM_FAULT, 1],
    [C.EVENT_CAUSE_COMMUNICATION, 1],
    [C.EVENT_CAUSE_WEATHER, 1],
  ],
  emergencyStop: [
    [C.EVENT_CAUSE_PEDESTRIAN, 3],
    [C.EVENT_CAUSE_OTHER_ROAD_USER, 2],
    [C.EVENT_CAUSE_PERCEPTION, 2],
    [C.EVENT_CAUSE_SYSTEM_FAULT, 1],
  ],
  remoteAssist: [
    [C.EVENT_CAUSE_PARKED_VEHICLE, 4],
    [C.EVENT_CAUSE_ROAD_WORKS, 2],
    [C.EVENT_CAUSE_PLANNING, 2],
    [C.EVENT_CAUSE_OTHER_ROAD_USER, 1],
  ],
};

function pick(rng: Random, weighted: readonly (readonly [Cause, number])[]): Cause {
  const total = weighted.reduce((s, [, w]) => s + w, 0);
  let x = rng.next() * total;
  for (const [cause, w] of weighted) {
    x -= w;
    if (x < 0) return cause;
  }
  return weighted[weighted.length - 1]![0];
}

export class AutonomyModel {
  mode: Mode = M.AUTONOMY_MODE_AUTONOMOUS;
  private readonly rng: Random;
  private readonly rates: AutonomyRates;
  private readonly safetyDriver: boolean;
  /** Seconds left in the current intervention; 0 while autonomous. */
  private leftS = 0;
  /** The current intervention was forced (`force`): it lasts exactly its duration, never escalates. */
  private forced = false;

  constructor(rng: Random, rates: Partial<AutonomyRates> = {}, safetyDriver = true) {
    this.rng = rng;
    this.rates = { ...DEFAULT_AUTONOMY_RATES, ...rates };
    this.safetyDriver = safetyDriver;
  }

  /**
   * Advances by dtS seconds. `moving`: the vehicle is driving (interventions start only then, as
   * they are counted per hour of driving); `linkLost`: its 5G link is down (a remote driver then
   * loses the vehicle, which stops in a minimal-risk condition). Returns the interventions begun.
   */
  step(dtS: number, moving: boolean, linkLost = false): AutonomyEvent[] {
    const events: AutonomyEvent[] = [];
    if (this.mode === M.AUTONOMY_MODE_REMOTE_DRIVING && linkLost) {
      events.push(
        this.enter(
          0,
          M.AUTONOMY_MODE_MINIMAL_RISK,
          T.EVENT_TYPE_EMERGENCY_STOP,
          C.EVENT_CAUSE_COMMUNICATION,
          S.SEVERITY_CRITICAL,
          this.rates.minimalRiskS,
          'remote driving lost the 5G link',
        ),
      );
      return events;
    }
    if (this.mode !== M.AUTONOMY_MODE_AUTONOMOUS) {
      this.leftS -= dtS;
      if (this.leftS > 0) return events;
      const overS = dtS + this.leftS;
      if (this.mode === M.AUTONOMY_MODE_REMOTE_ASSIST && !this.forced && this.rng.next() < this.rates.remoteDrivingShare) {
        events.push(
          this.enter(
            overS,
            M.AUTONOMY_MODE_REMOTE_DRIVING,
            T.EVENT_TYPE_REMOTE_INTERVENTION,
            pick(this.rng, CAUSES.remoteAssist),
            S.SEVERITY_WARNING,
            this.rates.remoteDrivingS,
            'remote operator drives',
          ),
        );
        return events;
      }
      this.mode = M.AUTONOMY_MODE_AUTONOMOUS;
      this.leftS = 0;
      return events;
    }
    if (!moving) return events;
    const r = this.rates;
    const total = r.takeoverPerH + r.disengagementPerH + r.emergencyStopPerH + r.remoteAssistPerH;
    // P(at least one arrival in dt) of a Poisson process; at most one intervention per step.
    if (total <= 0 || this.rng.next() >= 1 - Math.exp((-total * dtS) / 3600)) return events;
    const atS = this.rng.uniform(0, dtS);
    const x = this.rng.next() * total;
    const handOver = this.safetyDriver ? M.AUTONOMY_MODE_MANUAL : M.AUTONOMY_MODE_REMOTE_DRIVING;
    const handOverS = this.safetyDriver ? r.manualS : r.remoteDrivingS;
    if (x < r.takeoverPerH) {
      const who = this.safetyDriver ? 'safety driver' : 'remote operator';
      events.push(
        this.enter(
          atS,
          handOver,
          T.EVENT_TYPE_TAKEOVER,
          pick(this.rng, CAUSES.takeover),
          S.SEVERITY_WARNING,
          handOverS,
          `${who} took control`,
        ),
      );
    } else if (x < r.takeoverPerH + r.disengagementPerH) {
      events.push(
        this.enter(
          atS,
          handOver,
          T.EVENT_TYPE_DISENGAGEMENT,
          pick(this.rng, CAUSES.disengagement),
          S.SEVERITY_WARNING,
          handOverS,
          'system handed control back',
        ),
      );
    } else if (x < r.takeoverPerH + r.disengagementPerH + r.emergencyStopPerH) {
      events.push(
        this.enter(
          atS,
          M.AUTONOMY_MODE_MINIMAL_RISK,
          T.EVENT_TYPE_EMERGENCY_STOP,
          pick(this.rng, CAUSES.emergencyStop),
          S.SEVERITY_CRITICAL,
          r.minimalRiskS,
          'emergency stop',
        ),
      );
    } else {
      events.push(
        this.enter(
          atS,
          M.AUTONOMY_MODE_REMOTE_ASSIST,
          T.EVENT_TYPE_REMOTE_INTERVENTION,
          pick(this.rng, CAUSES.remoteAssist),
          S.SEVERITY_INFO,
          r.remoteAssistS,
          'remote assist requested',
        ),
      );
    }
    return events;
  }

  /**
   * Starts an intervention now for exactly `durationS`, whatever the vehicle was doing: a scripted
   * trigger (alarm-triggers.ts). Draws nothing, so the random interventions stay as they were.
   */
  force(kind: ForcedIntervention, durationS: number): AutonomyEvent {
    const e =
      kind === 'emergency-stop'
        ? this.enter(
            0,
            M.AUTONOMY_MODE_MINIMAL_RISK,
            T.EVENT_TYPE_EMERGENCY_STOP,
            C.EVENT_CAUSE_PEDESTRIAN,
            S.SEVERITY_CRITICAL,
            durationS,
            'emergency stop (triggered)',
          )
        : kind === 'takeover'
          ? this.enter(
              0,
              this.safetyDriver ? M.AUTONOMY_MODE_MANUAL : M.AUTONOMY_MODE_REMOTE_DRIVING,
              T.EVENT_TYPE_TAKEOVER,
              C.EVENT_CAUSE_DRIVER_PRECAUTION,
              S.SEVERITY_WARNING,
              durationS,
              `${this.safetyDriver ? 'safety driver' : 'remote operator'} took control (triggered)`,
            )
          : this.enter(
              0,
              M.AUTONOMY_MODE_REMOTE_ASSIST,
              T.EVENT_TYPE_REMOTE_INTERVENTION,
              C.EVENT_CAUSE_PARKED_VEHICLE,
              S.SEVERITY_INFO,
              durationS,
              'remote assist requested (triggered)',
            );
    this.forced = true;
    return e;
  }

  private enter(
    atS: number,
    mode: Mode,
    type: michi.v1.EventType,
    cause: Cause,
    severity: michi.v1.Severity,
    duration: readonly [number, number] | number,
    detail: string,
  ): AutonomyEvent {
    this.mode = mode;
    this.forced = false;
    this.leftS = typeof duration === 'number' ? duration : this.rng.uniform(duration[0], duration[1]);
    return { atS, body: { type, cause, severity, detail, duration_ms: Math.round(this.leftS * 1000) } };
  }
}
