/**
 * The JSON text frames the live feed sends (docs/api.md, "The live feed"): the snapshot on connect,
 * then `state` (one vehicle) or `states` (the changes of one moment, `?batch=1`), `alarm` (operators)
 * and `alarm-count` (viewers of an opted-in pilot). Their shapes are proto/src/api/live.ts's
 * LiveMessage, a contract with the dashboard; change them only together with it.
 */
import type { AlarmChange, AlarmCount } from '@michi/proto';

/** One vehicle as the feed shows it: its id for this client (an alias for a viewer) and its state view. */
export interface LiveVehicle {
  id: string;
  state: unknown;
}

/** Vehicles per `states` message at most, so that back-pressure is still checked between messages. */
export const STATES_PER_MESSAGE = 250;

/** The first message of a connection: every vehicle of the pilot as GET /vehicles shows it to this token. */
export function snapshotMessage(nowMs: number, vehicles: readonly unknown[]): string {
  return JSON.stringify({ type: 'snapshot', now_ms: nowMs, vehicles });
}

/** An alarm change, for operators (`alarm`). */
export function alarmMessage(change: AlarmChange): string {
  return JSON.stringify({ type: 'alarm', change });
}

/** The open alarms by severity, for viewers of a pilot that opted in (`alarm-count`). */
export function alarmCountMessage(count: AlarmCount): string {
  return JSON.stringify({ type: 'alarm-count', ...count });
}

/** One vehicle's change as a `state` message, several as one `states` message. */
export function vehiclesMessage(vehicles: readonly LiveVehicle[]): string {
  return JSON.stringify(vehicles.length === 1 ? { type: 'state', vehicle: vehicles[0] } : { type: 'states', vehicles });
}
