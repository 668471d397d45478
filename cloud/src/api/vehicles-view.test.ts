import { describe, expect, it } from 'vitest';
import type { Pilot } from '@michi/proto';
import type { LinkSnapshot, VehicleSnapshot } from '../latest-state.js';
import { PilotPrivacy } from './privacy.js';
import { stateView } from './vehicles-view.js';

const pilot = {
  vehicles: [{ id: 'bus-1' }],
  sensors: [],
  privacy: { publicHideIds: true, publicPositionDelayS: 30, publicCoarsenM: 50 },
} as unknown as Pilot;

const state: VehicleSnapshot = {
  ts_ms: 1_764_300_000_000,
  recv_ms: 1_764_300_000_050,
  seq: 7,
  lat: 36.3834,
  lon: 139.0731,
  speed_mps: 5,
  heading_deg: 90,
  mode: 'AUTONOMOUS',
  battery_pct: 80,
  odometer_m: 1000,
  gateway: 'gw-1',
};
const link: LinkSnapshot = { ts_ms: 1_764_300_000_000, cell: 'cell-3', pci: 122, band: 'n79', rsrp_dbm: -92, sinr_db: 14, rtt_ms: 12 };

describe('stateView', () => {
  it("shows operators the vehicle's link sample as it is", () => {
    const view = stateView(state, new PilotPrivacy(pilot, { id: 'ops', role: 'operator', pilots: '*' }), link);
    expect(view?.link).toEqual(link);
    expect(view).toMatchObject({ lat: state.lat, lon: state.lon });
  });

  it('hides the serving cell from viewers of a pilot that delays or coarsens positions, keeping the link quality', () => {
    const view = stateView(state, new PilotPrivacy(pilot, { id: 'town', role: 'viewer', pilots: '*' }), link);
    expect(view?.link).toEqual({ ...link, cell: null, pci: null });
    expect(view?.lat).not.toBe(state.lat);
  });

  it('shows the serving cell to viewers of a pilot that publishes positions as they are', () => {
    const open = { ...pilot, privacy: { publicHideIds: false, publicPositionDelayS: 0, publicCoarsenM: 0 } } as Pilot;
    expect(stateView(state, new PilotPrivacy(open, { id: 'town', role: 'viewer', pilots: '*' }), link)?.link).toEqual(link);
  });
});
