// A small pilot for the simulator's tests, so they do not depend on the shipped seeds: a bus loop
// round a rectangle in Maebashi (two stops), an out-and-back robot path (one stop), two cell sites
// and two gateways. Fictional.
import type { FleetPilot } from '../src/fleet.js';
import type { LonLat } from '../src/route-geometry.js';

export const SW: LonLat = [139.06, 36.38];
export const NW: LonLat = [139.06, 36.39];
export const NE: LonLat = [139.07, 36.39];
export const SE: LonLat = [139.07, 36.38];

export function testPilot(overrides: Partial<FleetPilot> = {}): FleetPilot {
  return {
    id: 'test-town',
    routes: [
      { id: 'loop-rect', loop: true, geometry: { coordinates: [SW, NW, NE, SE, SW] } },
      { id: 'path-west', loop: false, geometry: { coordinates: [SW, NW] } },
    ],
    stops: [
      { id: 'stop-west', routeId: 'loop-rect', position: [139.06003, 36.385] },
      { id: 'stop-east', routeId: 'loop-rect', position: [139.06997, 36.385] },
      { id: 'stop-path', routeId: 'path-west', position: [139.06, 36.3825] },
    ],
    cellSites: [
      { id: 'site-sw', position: SW, cellId: '001-01:0x0000000a1', pci: 101, band: 'n79', txPowerDbm: 37, heightM: 12 },
      { id: 'site-ne', position: NE, cellId: '001-01:0x0000000a2', pci: 102, band: 'n79', txPowerDbm: 37, heightM: 12 },
    ],
    gateways: [{ id: 'gw-a' }, { id: 'gw-b' }],
    vehicles: [
      { id: 'bus-1', kind: 'bus', routeId: 'loop-rect', gatewayId: 'gw-a', nominalSpeedKmh: 20, startOffsetM: 100 },
      { id: 'bus-2', kind: 'bus', routeId: 'loop-rect', gatewayId: 'gw-a', nominalSpeedKmh: 25 },
      { id: 'robot-1', kind: 'delivery-robot', routeId: 'path-west', gatewayId: 'gw-b', nominalSpeedKmh: 5 },
    ],
    ...overrides,
  };
}
