/**
 * Which sources this gateway accepts: the vehicles and roadside sensors whose gatewayId names it in
 * the pilot definitions (seeds/). Anything else publishing to the local broker is refused.
 */
import { ConfigError, loadSeeds, type Pilot } from '@michi/proto';
import type { EdgeDevice } from './local-broker.js';

export function devicesOfGateway(pilots: readonly Pilot[], pilotId: string, gatewayId: string, seedsDir = 'seeds'): EdgeDevice[] {
  const pilot = pilots.find((p) => p.id === pilotId);
  if (!pilot) {
    const known = pilots.map((p) => `"${p.id}"`).join(', ') || '(none)';
    throw new ConfigError(`pilotId: expected one of the pilots in ${seedsDir} (${known}), got "${pilotId}"`, { pilotId, seedsDir });
  }
  if (!pilot.gateways.some((g) => g.id === gatewayId)) {
    const known = pilot.gateways.map((g) => `"${g.id}"`).join(', ');
    throw new ConfigError(`gatewayId: expected one of the gateways of pilot "${pilotId}" (${known}), got "${gatewayId}"`, {
      gatewayId,
      pilotId,
    });
  }
  return [
    ...pilot.vehicles.filter((v) => v.gatewayId === gatewayId).map((v): EdgeDevice => ({ id: v.id, type: 'vehicle' })),
    ...pilot.sensors.filter((s) => s.gatewayId === gatewayId).map((s): EdgeDevice => ({ id: s.id, type: 'sensor' })),
  ];
}

/** Loads seedsDir and picks this gateway's devices; throws SeedError or ConfigError. */
export function loadGatewayDevices(seedsDir: string, pilotId: string, gatewayId: string): EdgeDevice[] {
  return devicesOfGateway(loadSeeds(seedsDir), pilotId, gatewayId, seedsDir);
}
