/**
 * A pilot with more (or fewer) vehicles than its definition: sizing a pilot before it grows means
 * simulating 1,000 or 10,000 vehicles on the routes of one with three. Clones copy a seeded
 * vehicle (kind, route, gateway, speed) round-robin and are named after it (`bus-01-x00004`); the
 * seeded vehicles keep their ids, so a scaled run includes the original one. Receivers accept only
 * the sources of the pilot definitions they loaded, so the edges and the cloud must load the scaled
 * definition too: `michi-sim scale` writes it as a seed file.
 */
import { UsageError } from './errors.js';
import type { FleetPilot } from './fleet.js';

/** Longest id the seed schema accepts (ids are MQTT topic segments). */
const MAX_ID = 64;

export function scalePilot<P extends FleetPilot>(pilot: P, vehicles: number): P {
  if (!(Number.isSafeInteger(vehicles) && vehicles >= 1)) throw new UsageError(`vehicles: expected a whole number ≥ 1, got ${vehicles}`);
  const seeded = pilot.vehicles;
  if (seeded.length === 0) throw new UsageError(`pilot "${pilot.id}" has no vehicles to clone`);
  if (vehicles <= seeded.length) return { ...pilot, vehicles: seeded.slice(0, vehicles) };
  const width = String(vehicles).length;
  const out: P['vehicles'][number][] = [...seeded];
  for (let i = seeded.length; i < vehicles; i++) {
    const original = seeded[i % seeded.length]!;
    const id = `${original.id}-x${String(i).padStart(width, '0')}`;
    if (id.length > MAX_ID) throw new UsageError(`vehicle id "${id}" of a clone would exceed ${MAX_ID} characters`);
    // No start offset: clones share their route evenly with the other unplaced vehicles.
    const { startOffsetM: _offset, ...rest } = original;
    out.push({ ...rest, id });
  }
  return { ...pilot, vehicles: out };
}
