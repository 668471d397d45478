/**
 * The JSON text frames the live feed sends (docs/api.md, "The live feed"): the snapshot on connect,
 * then `state` (one vehicle) or `states` (the changes of one moment, `?batch=1`). Their shapes are a
 * contract with the dashboard; change them only together with it.
 */

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

/** One vehicle's change as a `state` message, several as one `states` message. */
export function vehiclesMessage(vehicles: readonly LiveVehicle[]): string {
  return JSON.stringify(vehicles.length === 1 ? { type: 'state', vehicle: vehicles[0] } : { type: 'states', vehicles });
}
