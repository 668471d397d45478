import { decodeReadingPayload, encodeReadingPayload, v1, type michi } from '@michi/proto';
import { describe, expect, it } from 'vitest';
import { NE, NW, SE, SW, testPilot } from '../test/pilot-fixture.js';
import { LinkModel } from './link-model.js';
import { mulberry32 } from './prng.js';
import { RouteGeometry, haversineM, type LonLat } from './route-geometry.js';
import { VehicleModel, type VehicleKind } from './vehicle-model.js';

type State = michi.v1.VehicleState.$Properties;
type Link = michi.v1.LinkSample.$Properties;

const T0 = Date.UTC(2026, 10, 28, 0, 0, 0);
const LOOP = new RouteGeometry([SW, NW, NE, SE, SW], true);
const PATH = new RouteGeometry([SW, NW], false);
const LOOP_STOPS = [LOOP.project([139.06003, 36.385]), LOOP.project([139.06997, 36.385])];
const SITES = testPilot().cellSites;
const DOOR = 'Vehicle.Cabin.Door.Row1.PassengerSide.IsOpen';

function bus(seed = 7, opts: { withLink?: boolean; startOffsetM?: number } = {}): VehicleModel {
  return new VehicleModel({
    id: 'bus-1',
    kind: 'bus',
    route: LOOP,
    nominalSpeedKmh: 20,
    startOffsetM: opts.startOffsetM ?? 100,
    stopsAlongM: LOOP_STOPS,
    rng: mulberry32(seed),
    ...(opts.withLink ? { link: new LinkModel(SITES, mulberry32(seed + 1)) } : {}),
  });
}

function robot(seed = 7): VehicleModel {
  return new VehicleModel({
    id: 'robot-1',
    kind: 'delivery-robot',
    route: PATH,
    nominalSpeedKmh: 5,
    stopsAlongM: [PATH.project([139.06, 36.3825])],
    rng: mulberry32(seed),
  });
}

/** Steps a vehicle 1 s at a time and collects one state per second. */
function drive(v: VehicleModel, seconds: number): State[] {
  const out: State[] = [v.state(T0, 1)];
  for (let i = 1; i <= seconds; i++) {
    v.step(1);
    out.push(v.state(T0 + i * 1000, i + 1));
  }
  return out;
}

function lonLat(s: State): LonLat {
  return [s.position!.lon!, s.position!.lat!];
}

/** Metres from a position to the nearest point of a route's line. */
function offRoute(route: RouteGeometry, p: LonLat): number {
  const q = route.pointAt(route.project(p));
  return haversineM(p, [q.lon, q.lat]);
}

describe('VehicleModel', () => {
  it('is deterministic: the same seed gives the same readings, another seed others', () => {
    const a = drive(bus(7, { withLink: true }), 900);
    const b = drive(bus(7, { withLink: true }), 900);
    expect(b).toEqual(a);
    expect(drive(bus(8), 900)).not.toEqual(a);
  });

  it('stays on its route, within its speed and acceleration limits', () => {
    for (const [v, route, accel] of [
      [bus(), LOOP, 1],
      [robot(), PATH, 0.5],
    ] as const) {
      const states = drive(v, 1_800);
      const nominal = v.nominalSpeedMps;
      for (const [i, s] of states.entries()) {
        expect(offRoute(route, lonLat(s))).toBeLessThan(0.5);
        expect(s.speed_mps).toBeGreaterThanOrEqual(0);
        expect(s.speed_mps).toBeLessThanOrEqual(nominal + 1e-9);
        expect(Math.abs(s.accel_mps2!)).toBeLessThanOrEqual(accel + 1e-9);
        // Speeds are reported truncated to mm/s.
        if (i > 0) expect(Math.abs(s.speed_mps! - states[i - 1]!.speed_mps!)).toBeLessThanOrEqual(accel + 2e-3);
      }
      // It does drive: most of the time near its nominal speed.
      const cruising = states.filter((s) => s.speed_mps! > 0.75 * nominal).length;
      expect(cruising / states.length).toBeGreaterThan(0.5);
    }
  });

  it('reports the heading of the side of the block it drives along', () => {
    const states = drive(bus(), 1_800);
    let checked = 0;
    for (const s of states) {
      const [lon, lat] = lonLat(s);
      const atCorner = [SW, NW, NE, SE].some((c) => haversineM(c, [lon, lat]) < 1);
      if (atCorner || s.speed_mps === 0) continue;
      // Anticlockwise from the south-west corner: north, east, south, west.
      const expected = Math.abs(lon - SW[0]) < 1e-9 ? 0 : Math.abs(lat - NW[1]) < 1e-9 ? 90 : Math.abs(lon - NE[0]) < 1e-9 ? 180 : 270;
      const diff = Math.abs(((s.heading_deg! - expected + 540) % 360) - 180);
      expect(diff, `heading ${s.heading_deg} at [${lon}, ${lat}]`).toBeLessThan(0.01);
      checked++;
    }
    expect(checked).toBeGreaterThan(1_000);
  });

  it('heads back the other way on the return leg of an out-and-back route', () => {
    const states = drive(robot(), 2_400);
    const moving = states.filter((s) => s.speed_mps! > 0.5);
    const north = moving.filter((s) => Math.abs(s.heading_deg! - 0) < 0.01 || Math.abs(s.heading_deg! - 360) < 0.01);
    const south = moving.filter((s) => Math.abs(s.heading_deg! - 180) < 0.01);
    expect(north.length + south.length).toBe(moving.length);
    expect(north.length).toBeGreaterThan(100);
    expect(south.length).toBeGreaterThan(100);
    // It really moves the way it heads: northward while heading 0, southward while heading 180.
    for (let i = 1; i < states.length; i++) {
      const [prev, cur] = [states[i - 1]!, states[i]!];
      if (prev.heading_deg !== cur.heading_deg || cur.speed_mps! < 0.5) continue;
      const dLat = cur.position!.lat! - prev.position!.lat!;
      if (cur.heading_deg === 180) expect(dLat).toBeLessThan(0);
      else expect(dLat).toBeGreaterThan(0);
    }
  });

  it('stops at its stops for about the dwell time, with the doors open', () => {
    const states = drive(bus(), 1_800);
    const dwells: State[][] = [];
    let current: State[] = [];
    for (const s of states.slice(1)) {
      if (s.speed_mps === 0) current.push(s);
      else if (current.length > 0) {
        dwells.push(current);
        current = [];
      }
    }
    // 1 800 s at ~20 km/h is ~2.3 laps of the 4.0 km block: four or more stops.
    expect(dwells.length).toBeGreaterThanOrEqual(4);
    for (const dwell of dwells) {
      expect(dwell.length).toBeGreaterThanOrEqual(14); // 20 s ± 25 %, counted in whole seconds
      expect(dwell.length).toBeLessThanOrEqual(26);
      const along = LOOP.project(lonLat(dwell[0]!));
      expect(Math.min(...LOOP_STOPS.map((s) => Math.abs(s - along)))).toBeLessThan(0.5);
      expect(dwell.filter((s) => s.signals![DOOR] === 1).length).toBeGreaterThanOrEqual(14);
    }
    // Doors open only while standing.
    expect(states.filter((s) => s.signals![DOOR] === 1).every((s) => s.speed_mps === 0)).toBe(true);
  });

  it('counts the distance it drives on its odometer and drains its battery slowly', () => {
    const states = drive(bus(), 600);
    for (let i = 1; i < states.length; i++) {
      const [prev, cur] = [states[i - 1]!, states[i]!];
      const odo = cur.odometer_m! - prev.odometer_m!;
      expect(odo).toBeGreaterThanOrEqual(0);
      // Straight-line distance ≤ odometer (corners cut), and never more than a second at full speed.
      expect(haversineM(lonLat(prev), lonLat(cur))).toBeLessThanOrEqual(odo + 0.02);
      expect(odo).toBeLessThanOrEqual(20 / 3.6 + 0.02);
      expect(cur.battery_pct!).toBeLessThanOrEqual(prev.battery_pct!);
    }
    const first = states[0]!;
    const last = states.at(-1)!;
    expect(first.battery_pct).toBeGreaterThanOrEqual(70);
    expect(first.battery_pct! - last.battery_pct!).toBeGreaterThan(0);
    expect(first.battery_pct! - last.battery_pct!).toBeLessThan(5); // ten minutes of a bus
    expect(last.mode).toBe(v1.AutonomyMode.AUTONOMY_MODE_AUTONOMOUS);
  });

  it('makes valid michi.v1 bodies that survive the protobuf and JSON round trip', () => {
    const v = bus(3, { withLink: true });
    for (let i = 0; i < 120; i++) {
      v.step(1);
      const state = v.state(T0 + i * 1000, 2 * i + 1);
      const link = v.linkSample(T0 + i * 1000, 2 * i + 2)!;
      for (const format of ['protobuf', 'json'] as const) {
        const s = decodeReadingPayload('state', encodeReadingPayload('state', state, format)).state!;
        expect(s.source_id).toBe('bus-1');
        expect(s.seq).toBe(2 * i + 1);
        expect(s.ts_ms).toBe(T0 + i * 1000);
        expect(s.position!.lat).toBe(state.position!.lat);
        expect(s.speed_mps).toBeCloseTo(state.speed_mps!, 5);
        const l = decodeReadingPayload('link', encodeReadingPayload('link', link, format)).link!;
        expect(l.cell_id).toBe(link.cell_id);
        expect(l.rsrp_dbm).toBeCloseTo(link.rsrp_dbm!, 4);
      }
    }
  });

  it.each<VehicleKind>(['bus', 'shuttle', 'car', 'delivery-robot'])('drives a %s with its own profile', (kind) => {
    const v = new VehicleModel({ id: 'v', kind, route: LOOP, nominalSpeedKmh: 30, rng: mulberry32(1), profile: { dwellS: 2 } });
    expect(v.profile.dwellS).toBe(2);
    const states = drive(v, 300);
    expect(states.at(-1)!.odometer_m! - states[0]!.odometer_m!).toBeGreaterThan(100);
  });
});

describe('LinkModel', () => {
  it('is served by the nearest site, with a stronger signal close to it', () => {
    const link = new LinkModel(SITES, mulberry32(5), { shadowingSdDb: 0 });
    const nearSw = link.sample([139.0605, 36.3805], 100) as Link;
    expect(nearSw.cell_id).toBe('001-01:0x0000000a1');
    expect(nearSw.pci).toBe(101);
    expect(nearSw.band).toBe('n79');
    const farther = link.sample([139.062, 36.383], 100) as Link;
    expect(farther.cell_id).toBe('001-01:0x0000000a1');
    expect(farther.rsrp_dbm!).toBeLessThan(nearSw.rsrp_dbm! - 5);
    expect(farther.sinr_db!).toBeLessThan(nearSw.sinr_db!);
    for (const s of [nearSw, farther]) {
      expect(s.rsrp_dbm!).toBeGreaterThanOrEqual(-156);
      expect(s.rsrp_dbm!).toBeLessThanOrEqual(-31);
      expect(s.dl_mbps!).toBeGreaterThan(s.ul_mbps!);
    }
  });

  it('flags a handover on the sample where the serving cell changes, and not before the other cell is clearly stronger', () => {
    const link = new LinkModel(SITES, mulberry32(5), { shadowingSdDb: 0 });
    const samples: Link[] = [];
    // From the south-west site to the north-east one along the diagonal.
    for (let i = 0; i <= 100; i++) {
      const t = i / 100;
      samples.push(link.sample([SW[0] + t * (NE[0] - SW[0]), SW[1] + t * (NE[1] - SW[1])], 15) as Link);
    }
    const changes = samples.flatMap((s, i) => (i > 0 && s.cell_id !== samples[i - 1]!.cell_id ? [i] : []));
    expect(changes).toHaveLength(1);
    expect(changes[0]).toBeGreaterThan(50); // past halfway: the 3 dB hysteresis
    expect(samples.map((s, i) => (s.handover ? i : -1)).filter((i) => i >= 0)).toEqual(changes);
    expect(samples.at(-1)!.cell_id).toBe('001-01:0x0000000a2');
  });

  it('measures nothing where there are no cell sites', () => {
    expect(new LinkModel([], mulberry32(1)).sample(SW, 0)).toBeUndefined();
    expect(bus().linkSample(T0, 1)).toBeUndefined();
  });
});
