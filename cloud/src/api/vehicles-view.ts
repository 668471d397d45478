/**
 * The vehicles of a pilot with their latest state, as GET /vehicles and the live feed's snapshot
 * show them: operators from the latest-state cache; viewers through the pilot's privacy settings
 * (state as of now − delay, read from InfluxDB when there is a delay; coarsened positions, and
 * timestamp, speed, heading and battery no finer than the grid; aliases).
 */
import { AUTONOMY_MODES, type Pilot, type VehicleStateView, type VehicleView } from '@michi/proto';
import type { LinkSnapshot, VehicleSnapshot } from '../latest-state.js';
import { queryVehicleStatesAt } from '../queries/latest-query.js';
import { oneOf } from '../queries/stats.js';
import type { ApiContext } from './context.js';
import type { PilotPrivacy } from './privacy.js';

/**
 * `link` is the latest link sample the cloud holds, for every role (viewers may see link quality). It
 * is not delayed, and a cell id names the serving cell site, whose position the pilot definition
 * publishes: so where the pilot delays or coarsens public positions, viewers get the quality without
 * `cell` and `pci`, which would otherwise tell roughly where the vehicle is now (docs/api.md).
 */
export function stateView(
  s: VehicleSnapshot | null | undefined,
  privacy: PilotPrivacy,
  link: LinkSnapshot | null = null,
): VehicleStateView | null {
  if (!s) return null;
  let { lat, lon } = s;
  if (lat !== null && lon !== null) [lat, lon] = privacy.position(lat, lon);
  // Where positions are coarsened, the rest is as coarse as the grid (privacy.ts): a receive time
  // or seq would time a reading to the millisecond, whatever its floored timestamp says.
  const coarse = privacy.samplePeriodMs > 0;
  return {
    ts_ms: privacy.timestamp(s.ts_ms),
    recv_ms: coarse ? null : s.recv_ms,
    seq: coarse ? null : s.seq,
    lat,
    lon,
    speed_mps: privacy.speed(s.speed_mps),
    heading_deg: privacy.heading(s.heading_deg),
    mode: oneOf(AUTONOMY_MODES, s.mode),
    battery_pct: privacy.battery(s.battery_pct),
    link: link ? (privacy.delayMs > 0 || privacy.coarsenM > 0 ? { ...link, cell: null, pci: null } : { ...link }) : null,
  };
}

export async function vehiclesView(ctx: ApiContext, pilot: Pilot, privacy: PilotPrivacy, now: number): Promise<VehicleView[]> {
  let states: (id: string) => VehicleSnapshot | null | undefined = (id) => ctx.latest.get(pilot.id, id);
  if (privacy.delayMs > 0) {
    const delayed = await queryVehicleStatesAt(ctx.query, pilot.id, privacy.horizon(now));
    states = (id) => delayed.get(id);
  }
  return pilot.vehicles.map((v) => ({
    id: privacy.publicId(v.id),
    kind: v.kind,
    name: v.name,
    routeId: v.routeId,
    state: stateView(states(v.id), privacy, ctx.latest.getLink(pilot.id, v.id)),
  }));
}
