// michi-sim's --trigger options as a person runs them: the michi-sim process publishes a shipped
// pilot to a real aedes broker; what arrives is decoded as an edge agent would, and each trigger must
// produce, at its simulated time, what michi's alarm rule for it looks for (docs/alarms.md).
import { decodeReadingPayload, loadSeeds, parseTopic, readingBody, v1, type Pilot } from '@michi/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from './aedes-broker.js';
import { michiSim } from './michi-sim-process.js';

const T0 = Date.UTC(2026, 11, 6, 1, 0, 0);
const M = v1.AutonomyMode;
const E = v1.EventType;
const pilots = new Map(loadSeeds('seeds').map((p) => [p.id, p]));

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(async () => {
  await broker?.stop();
});

type Ring = readonly (readonly [number, number])[];

/** Even-odd ray casting on a polygon's outer ring. */
function inside([x, y]: readonly [number, number], ring: Ring): boolean {
  let c = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i]!;
    const [xj, yj] = ring[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) c = !c;
  }
  return c;
}

/** Distance from a point to a ring's boundary, metres (equirectangular: fine over a few km). */
function toBoundaryM([x, y]: readonly [number, number], ring: Ring): number {
  const kx = 111_195 * Math.cos((y * Math.PI) / 180);
  const ky = 111_195;
  let best = Infinity;
  for (let i = 0; i + 1 < ring.length; i++) {
    const [ax, ay] = [(ring[i]![0] - x) * kx, (ring[i]![1] - y) * ky];
    const [bx, by] = [(ring[i + 1]![0] - x) * kx, (ring[i + 1]![1] - y) * ky];
    const t = Math.min(1, Math.max(0, -(ax * (bx - ax) + ay * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)));
    best = Math.min(best, Math.hypot(ax + t * (bx - ax), ay + t * (by - ay)));
  }
  return best;
}

function geofence(pilot: Pilot, kind: string): Ring {
  return pilot.geofences.find((g) => g.kind === kind)!.geometry.coordinates[0]!;
}

interface Got {
  source: string;
  kind: string;
  /** Simulated seconds (source time − T0; the run has no clock drift). */
  t: number;
  seq: number;
  state?: { mode: number; speed: number; battery: number; at: [number, number] };
  link?: { rsrp: number; at: [number, number] };
  event?: { type: number };
}

/** Runs michi-sim with `args` against the broker and returns what it published, decoded. */
async function simulate(pilot: string, durationS: number, args: string[]): Promise<Got[]> {
  const from = broker.received.length;
  const out = await michiSim([
    '--pilot',
    pilot,
    '--mqtt',
    broker.url,
    '--duration',
    String(durationS),
    '--speedup',
    'max',
    '--start-ts',
    String(T0),
    '--no-clock-drift',
    '--no-autonomy-events',
    '--kinds',
    'state,link,event',
    ...args,
  ]);
  expect(out.stderr).toBe('');
  expect(out.code).toBe(0);
  return broker.received.slice(from).map((p) => {
    const topic = parseTopic(p.topic);
    if (topic.type !== 'reading') throw new Error(`unexpected topic ${p.topic}`);
    const r = decodeReadingPayload(topic.kind, p.payload);
    const body = readingBody(r);
    const got: Got = { source: topic.source, kind: topic.kind, t: (Number(body.ts_ms) - T0) / 1000, seq: Number(body.seq) };
    if (r.state)
      got.state = {
        mode: r.state.mode ?? 0,
        speed: r.state.speed_mps ?? 0,
        battery: r.state.battery_pct ?? 0,
        at: [r.state.position!.lon!, r.state.position!.lat!],
      };
    if (r.link) got.link = { rsrp: r.link.rsrp_dbm ?? 0, at: [r.link.position!.lon!, r.link.position!.lat!] };
    if (r.event) got.event = { type: r.event.type ?? 0 };
    return got;
  });
}

const within = (g: Got, fromS: number, toS: number): boolean => g.t >= fromS && g.t < toS;

describe('michi-sim --trigger', () => {
  it('makes each vehicle of the delivery pilot meet its alarm rule at the given simulated time', async () => {
    const pilot = pilots.get('tsukuba-center-delivery')!;
    const got = await simulate(pilot.id, 180, [
      '--trigger',
      'emergency-stop@10:robot-01',
      '--trigger',
      'takeover@20+15:robot-02',
      '--trigger',
      'remote-intervention@30+15:robot-03',
      '--trigger',
      'silent@40+20:robot-04',
      '--trigger-duration',
      '30',
      '--trigger',
      'link-degraded@60:robot-01',
      '--trigger',
      'low-battery@100:robot-02',
      '--trigger',
      'leave-area@100+20:robot-03',
      '--trigger',
      'no-go@130+20:robot-04',
    ]);
    const of = (source: string, kind: string): Got[] => got.filter((g) => g.source === source && g.kind === kind);

    // Interventions: the event at its second, the mode for its duration, then autonomous again.
    const interventions: [string, number, number, number, number][] = [
      ['robot-01', 10, 30, E.EVENT_TYPE_EMERGENCY_STOP, M.AUTONOMY_MODE_MINIMAL_RISK],
      ['robot-02', 20, 15, E.EVENT_TYPE_TAKEOVER, M.AUTONOMY_MODE_REMOTE_DRIVING], // driverless: the remote operator
      ['robot-03', 30, 15, E.EVENT_TYPE_REMOTE_INTERVENTION, M.AUTONOMY_MODE_REMOTE_ASSIST],
    ];
    for (const [robot, atS, forS, type, mode] of interventions) {
      expect(of(robot, 'event').map((g) => [g.t, g.event!.type])).toEqual([[atS, type]]);
      const states = of(robot, 'state');
      expect(states.filter((g) => g.t < atS).every((g) => g.state!.mode === M.AUTONOMY_MODE_AUTONOMOUS)).toBe(true);
      expect(states.filter((g) => within(g, atS, atS + forS)).map((g) => g.state!.mode)).toEqual(Array(forS).fill(mode));
      expect(states.filter((g) => within(g, atS + forS, atS + forS + 10)).every((g) => g.state!.mode === M.AUTONOMY_MODE_AUTONOMOUS)).toBe(
        true,
      );
    }
    // In the minimal-risk condition the robot brakes and holds still.
    expect(
      of('robot-01', 'state')
        .filter((g) => within(g, 15, 40))
        .every((g) => g.state!.speed === 0),
    ).toBe(true);

    // Silent: nothing from robot-04 in [40, 60) s, every second before and after, and no gap in its sequence.
    const quiet = got.filter((g) => g.source === 'robot-04');
    expect(quiet.filter((g) => within(g, 40, 60))).toEqual([]);
    expect(quiet.filter((g) => g.kind === 'state').map((g) => g.t)).toEqual(
      Array.from({ length: 180 }, (_, i) => i).filter((t) => t < 40 || t >= 60),
    );
    expect(quiet.map((g) => g.seq).sort((a, b) => a - b)).toEqual(quiet.map((_, i) => i + 1));

    // Link degraded: a sample every second of [60, 90) s, each under the alarm's −110 dBm.
    const degraded = of('robot-01', 'link').filter((g) => within(g, 60, 90));
    expect(degraded.map((g) => g.t)).toEqual(Array.from({ length: 30 }, (_, i) => 60 + i));
    expect(Math.max(...degraded.map((g) => g.link!.rsrp))).toBeLessThan(-110);
    expect(
      of('robot-01', 'link')
        .filter((g) => within(g, 0, 60))
        .every((g) => g.link!.rsrp > -110),
    ).toBe(true);

    // Low battery: under 20 % for [100, 130) s, charged above 25 % after.
    const battery = of('robot-02', 'state');
    expect(battery.filter((g) => g.t < 100).every((g) => g.state!.battery > 25)).toBe(true);
    expect(battery.filter((g) => within(g, 100, 130)).map((g) => g.state!.battery < 20)).toEqual(Array(30).fill(true));
    expect(battery.filter((g) => g.t >= 130).every((g) => g.state!.battery > 25)).toBe(true);

    // Leave area: every position robot-03 reports in [100, 120) s is outside the operational area, yet
    // within 50 m of it; inside before and after.
    const area = geofence(pilot, 'operational');
    const placed = got.filter((g) => g.source === 'robot-03' && (g.state ?? g.link));
    const at = (g: Got): [number, number] => (g.state ?? g.link)!.at;
    const out = placed.filter((g) => within(g, 100, 120));
    expect(out).toHaveLength(40); // a state and a link sample a second
    for (const g of out) {
      expect(inside(at(g), area)).toBe(false);
      expect(toBoundaryM(at(g), area)).toBeLessThan(50);
    }
    expect(placed.filter((g) => !within(g, 100, 120)).every((g) => inside(at(g), area))).toBe(true);

    // No-go: robot-04 reports itself inside the no-go zone for [130, 150) s, and only then.
    const noGo = geofence(pilot, 'no-go');
    const robot4 = got.filter((g) => g.source === 'robot-04' && (g.state ?? g.link));
    expect(robot4.filter((g) => within(g, 130, 150)).map((g) => inside(at(g), noGo))).toEqual(Array(40).fill(true));
    expect(robot4.filter((g) => !within(g, 130, 150)).some((g) => inside(at(g), noGo))).toBe(false);
  });

  it('speeds a bus through its slow zone at twice its nominal speed, and stops another in a minimal-risk condition', async () => {
    const pilot = pilots.get('maebashi-l4-bus')!;
    // bus-03 reaches the Chuo-Maebashi slow zone about a minute in (seed 42).
    const got = await simulate(pilot.id, 150, ['--trigger', 'speeding@20+120:bus-03', '--trigger', 'minimal-risk@30+60:bus-02']);
    const nominalMps = pilot.vehicles.find((v) => v.id === 'bus-03')!.nominalSpeedKmh / 3.6;
    const states = got.filter((g) => g.source === 'bus-03' && g.kind === 'state');
    // Never above nominal before; well above it once accelerated, and above the slow zones' 20 km/h inside them.
    expect(Math.max(...states.filter((g) => g.t < 20).map((g) => g.state!.speed))).toBeLessThanOrEqual(nominalMps);
    const fast = states.filter((g) => within(g, 35, 140));
    expect(Math.min(...fast.map((g) => g.state!.speed))).toBeGreaterThan(1.5 * nominalMps);
    const slowZones = pilot.geofences.filter((g) => g.kind === 'slow-zone').map((g) => g.geometry.coordinates[0]!);
    const inZone = fast.filter((g) => slowZones.some((z) => inside(g.state!.at, z)));
    expect(inZone.length).toBeGreaterThan(0);
    expect(inZone.every((g) => g.state!.speed > 20 / 3.6)).toBe(true);

    const bus2 = got.filter((g) => g.source === 'bus-02');
    expect(bus2.filter((g) => g.kind === 'event').map((g) => [g.t, g.event!.type])).toEqual([[30, E.EVENT_TYPE_EMERGENCY_STOP]]);
    expect(bus2.filter((g) => g.kind === 'state' && within(g, 30, 90)).every((g) => g.state!.mode === M.AUTONOMY_MODE_MINIMAL_RISK)).toBe(
      true,
    );
  });

  it('says why it cannot trigger what a pilot does not have, before connecting', async () => {
    const noGo = await michiSim(['--pilot', 'maebashi-l4-bus', '--mqtt', 'mqtt://127.0.0.1:1', '--trigger', 'no-go@10']);
    expect(noGo.code).toBe(2);
    expect(noGo.stderr).toContain('--trigger no-go: pilot "maebashi-l4-bus" has no no-go geofence to enter');
    const vehicle = await michiSim(['--pilot', 'maebashi-l4-bus', '--mqtt', 'mqtt://127.0.0.1:1', '--trigger', 'takeover@10:bus-09']);
    expect(vehicle.code).toBe(2);
    expect(vehicle.stderr).toContain('pilot "maebashi-l4-bus" has no vehicle "bus-09"; its vehicles are bus-01, bus-02, bus-03');
  });
});
