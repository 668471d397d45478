// The shipped demo pilots load and validate, have what the demos need, and a broken copy of one
// fails with a message naming the file, the path inside it and what was expected.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPilotFile, loadSeeds, SeedError } from '../proto/src/seed-loader.js';
import { DEFAULT_FIELD_NAMES, type Pilot } from '../proto/src/seed-schema.js';

const SEEDS_DIR = dirname(fileURLToPath(import.meta.url));
const BUS_FILE = 'maebashi-l4-bus.json';

type LonLat = readonly [number, number];

function distanceM(a: LonLat, b: LonLat): number {
  const rad = Math.PI / 180;
  const h =
    Math.sin(((b[1] - a[1]) * rad) / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(((b[0] - a[0]) * rad) / 2) ** 2;
  return 2 * 6_371_008.8 * Math.asin(Math.sqrt(h));
}

function lengthM(line: readonly LonLat[]): number {
  let total = 0;
  for (let i = 1; i < line.length; i++) total += distanceM(line[i - 1]!, line[i]!);
  return total;
}

const pilots = loadSeeds(SEEDS_DIR);
const byId = new Map(pilots.map((p) => [p.id, p]));

describe('shipped seeds', () => {
  it('all load and validate, one pilot per <id>.json, each under 60 KB', () => {
    const files = readdirSync(SEEDS_DIR)
      .filter((f) => f.endsWith('.json'))
      .sort();
    expect(files.length).toBeGreaterThanOrEqual(3);
    expect(pilots.map((p) => `${p.id}.json`)).toEqual(files);
    for (const file of files) {
      expect(statSync(join(SEEDS_DIR, file)).size, file).toBeLessThan(60 * 1024);
    }
  });

  it('say in every file that the pilot is fictional and only the geography is real', () => {
    for (const p of pilots) {
      expect(p.notice, p.id).toMatch(/fictional/i);
      expect(p.notice, p.id).toMatch(/only the geography is real/i);
      // and in Japanese, for the dashboard in Japanese
      expect(p.noticeJa, p.id).toMatch(/架空/);
      expect(p.noticeJa, p.id).toMatch(/実在するのは地理だけ/);
    }
  });

  it('include a Level-4 bus pilot with 4+ n79 cell sites of distinct PCIs and 6+ stops on a 3–6 km loop', () => {
    const bus = pilots.find((p) => p.vehicles.some((v) => v.kind === 'bus') && p.cellSites.length >= 4);
    expect(bus, 'a bus pilot with at least 4 cell sites').toBeDefined();
    const p = bus!;
    expect(`${p.name.en} ${p.notice}`).toMatch(/remote monitoring/i);
    expect(p.name.ja).toMatch(/レベル4/);
    const buses = p.vehicles.filter((v) => v.kind === 'bus');
    expect(buses.length).toBeGreaterThanOrEqual(2);
    expect(buses.length).toBeLessThanOrEqual(3);
    expect(p.gateways.length).toBeLessThanOrEqual(2);
    expect(p.cellSites.every((s) => s.band === 'n79')).toBe(true);
    expect(new Set(p.cellSites.map((s) => s.pci)).size).toBe(p.cellSites.length);
    const loop = p.routes.find((r) => r.loop);
    expect(loop).toBeDefined();
    const km = lengthM(loop!.geometry.coordinates) / 1000;
    expect(km).toBeGreaterThanOrEqual(3);
    expect(km).toBeLessThanOrEqual(6);
    expect(p.stops.filter((s) => s.routeId === loop!.id).length).toBeGreaterThanOrEqual(6);
    expect(p.geofences.some((g) => g.kind === 'operational')).toBe(true);
    expect(p.geofences.some((g) => g.kind === 'slow-zone')).toBe(true);
    expect(p.sensors.length).toBeGreaterThanOrEqual(1);
    expect(p.sensors.length).toBeLessThanOrEqual(2);
  });

  it('include a delivery-robot pilot: 3–5 robots at 4–6 km/h on 2+ routes, 2+ cell sites, 1 gateway', () => {
    const p = pilots.find((x) => x.vehicles.some((v) => v.kind === 'delivery-robot'));
    expect(p).toBeDefined();
    const robots = p!.vehicles.filter((v) => v.kind === 'delivery-robot');
    expect(robots.length).toBeGreaterThanOrEqual(3);
    expect(robots.length).toBeLessThanOrEqual(5);
    for (const r of robots) {
      expect(r.nominalSpeedKmh, r.id).toBeGreaterThanOrEqual(4);
      expect(r.nominalSpeedKmh, r.id).toBeLessThanOrEqual(6);
    }
    expect(new Set(robots.map((r) => r.routeId)).size).toBeGreaterThanOrEqual(2);
    expect(p!.cellSites.length).toBeGreaterThanOrEqual(2);
    expect(p!.gateways).toHaveLength(1);
  });

  it('include a roadside-LiDAR intersection pilot with a shuttle or car passing through it', () => {
    const p = pilots.find((x) => x.sensors.some((s) => s.kind === 'lidar') && x.vehicles.every((v) => v.kind !== 'bus'));
    expect(p).toBeDefined();
    const roadside = p!.sensors.filter((s) => ['lidar', 'camera', 'counter'].includes(s.kind));
    expect(roadside.length).toBeGreaterThanOrEqual(2);
    expect(roadside.length).toBeLessThanOrEqual(4);
    // All around one intersection: within 50 m of each other's centre.
    const c: LonLat = [
      roadside.reduce((s, x) => s + x.position[0], 0) / roadside.length,
      roadside.reduce((s, x) => s + x.position[1], 0) / roadside.length,
    ];
    for (const s of roadside) expect(distanceM(c, s.position), s.id).toBeLessThan(50);
    const vehicle = p!.vehicles.find((v) => v.kind === 'shuttle' || v.kind === 'car');
    expect(vehicle).toBeDefined();
    const route = p!.routes.find((r) => r.id === vehicle!.routeId)!;
    const nearest = Math.min(...route.geometry.coordinates.map((q) => distanceM(c, q)));
    expect(nearest).toBeLessThan(40);
    expect(p!.cellSites.length).toBeGreaterThanOrEqual(1);
    expect(p!.cellSites.length).toBeLessThanOrEqual(2);
    expect(p!.gateways).toHaveLength(1);
  });

  it('keep every route within ~5 km of map.center, with waypoints at most 200 m apart', () => {
    for (const p of pilots) {
      for (const r of p.routes) {
        const line = r.geometry.coordinates;
        for (const q of line) expect(distanceM(p.map.center, q), `${p.id}/${r.id}`).toBeLessThan(5_000);
        for (let i = 1; i < line.length; i++) {
          expect(distanceM(line[i - 1]!, line[i]!), `${p.id}/${r.id}[${i}]`).toBeLessThanOrEqual(200);
        }
      }
      const points = [...p.stops, ...p.cellSites, ...p.gateways, ...p.sensors].map((x) => x.position);
      for (const q of points) expect(distanceM(p.map.center, q), p.id).toBeLessThan(5_000);
    }
  });

  it('hold no secrets: gateways name where the secret is, not the secret', () => {
    for (const p of pilots) {
      for (const g of p.gateways) expect(g.credentialsRef).toMatch(/^env:MICHI_GW_[A-Z0-9_]+_SECRET$/);
    }
  });

  it('use vehicle and sensor ids that are unique MQTT source ids within each pilot', () => {
    for (const p of pilots) {
      const ids = [...p.vehicles, ...p.sensors].map((x) => x.id);
      expect(new Set(ids).size, p.id).toBe(ids.length);
    }
    expect(byId.size).toBe(pilots.length);
  });
});

// ---------------------------------------------------------------------------------------------

const tmpDirs: string[] = [];
afterAll(() => {
  for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
});

function tmpDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'michi-seeds-'));
  tmpDirs.push(dir);
  return dir;
}

/** Writes a copy of the bus seed, changed by `mutate`, to a fresh tmp dir; returns its path. */
function brokenCopy(mutate: (pilot: Pilot) => void): string {
  const pilot = JSON.parse(readFileSync(join(SEEDS_DIR, BUS_FILE), 'utf8')) as Pilot;
  mutate(pilot);
  const path = join(tmpDir(), BUS_FILE);
  writeFileSync(path, JSON.stringify(pilot, null, 2));
  return path;
}

function seedError(load: () => unknown): SeedError {
  try {
    load();
  } catch (err) {
    expect(err).toBeInstanceOf(SeedError);
    return err as SeedError;
  }
  throw new Error('expected a SeedError, but the seed loaded');
}

describe('a broken seed', () => {
  it('names the file, the coordinate and the bounds for a position outside Japan', () => {
    const path = brokenCopy((p) => {
      p.routes[0]!.geometry.coordinates[3] = [200, 35];
    });
    const err = seedError(() => loadPilotFile(path));
    expect(err.code).toBe('MICHI_ERR_SEED_INVALID');
    expect(err.file).toBe(path);
    expect(err.message).toContain(
      `${path}: routes[0].geometry.coordinates[3]: expected [lon, lat] inside Japan (lon 122..154, lat 20..46), got [200, 35]`,
    );
  });

  it('names the field and what it must say for a Japanese notice that does not say the pilot is fictional', () => {
    const path = brokenCopy((p) => {
      (p as { noticeJa?: string }).noticeJa = '前橋市の自動運転バスです。';
    });
    const err = seedError(() => loadPilotFile(path));
    expect(err.message).toContain(`${path}: noticeJa: expected a Japanese notice that says the pilot is fictional (containing 架空)`);
  });

  it('hints at swapped [lat, lon]', () => {
    const path = brokenCopy((p) => {
      p.stops[0]!.position = [36.3839, 139.0733];
    });
    expect(seedError(() => loadPilotFile(path)).message).toMatch(
      /stops\[0\]\.position: expected \[lon, lat\].*got \[36\.3839, 139\.0733\] \(this looks like \[lat, lon\]/,
    );
  });

  it('names a dangling routeId and lists the routes it could be', () => {
    const path = brokenCopy((p) => {
      p.vehicles[0]!.routeId = 'no-such-route';
    });
    const err = seedError(() => loadPilotFile(path));
    expect(err.message).toContain(`${path}: vehicles[0].routeId: expected the id of one of the routes`);
    expect(err.message).toContain('"loop-downtown"');
    expect(err.message).toContain('got "no-such-route"');
  });

  it('names a stop whose route does not exist, and a gateway whose cell site does not', () => {
    const path = brokenCopy((p) => {
      p.stops[2]!.routeId = 'gone';
      p.gateways[0]!.siteId = 'site-nowhere';
    });
    const err = seedError(() => loadPilotFile(path));
    expect(err.message).toContain('stops[2].routeId: expected the id of one of the routes');
    expect(err.message).toContain('gateways[0].siteId: expected the id of one of the cellSites');
  });

  it('names a duplicate id and where it was first used', () => {
    const path = brokenCopy((p) => {
      p.stops[1]!.id = p.stops[0]!.id;
    });
    expect(seedError(() => loadPilotFile(path)).message).toContain(
      `${path}: stops[1].id: expected an id unique within stops, got "st-ekimae", already used by stops[0]`,
    );
  });

  it('rejects a sensor that shares an id with a vehicle (both are MQTT source ids)', () => {
    const path = brokenCopy((p) => {
      p.sensors[0]!.id = p.vehicles[1]!.id;
    });
    expect(seedError(() => loadPilotFile(path)).message).toMatch(
      /sensors\[0\]\.id: expected an id not used by any vehicle .*already used by vehicles\[1\]/,
    );
  });

  it('requires the notice to say the pilot is fictional', () => {
    const path = brokenCopy((p) => {
      p.notice = 'A pilot in Maebashi.';
    });
    expect(seedError(() => loadPilotFile(path)).message).toMatch(
      new RegExp(`${escape(path)}: notice: expected a notice that says the pilot is fictional.*got "A pilot in Maebashi\\."`),
    );
  });

  it('gives the line and column of invalid JSON', () => {
    const path = join(tmpDir(), BUS_FILE);
    writeFileSync(path, '{\n  "id": "x",\n  "notice" "y"\n}\n');
    const err = seedError(() => loadPilotFile(path));
    expect(err.file).toBe(path);
    expect(err.message).toMatch(new RegExp(`^${escape(path)}: line 3, column 12: expected valid JSON`));
  });

  it('lists every problem, one per line, including unknown and missing fields', () => {
    const path = brokenCopy((p) => {
      (p as unknown as Record<string, unknown>)['colour'] = 'red';
      delete (p.vehicles[0] as Partial<Pilot['vehicles'][number]>).gatewayId;
      p.cellSites[0]!.pci = 2000;
      p.map.zoom = 3;
    });
    const lines = seedError(() => loadPilotFile(path)).message.split('\n');
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(line.startsWith(`${path}: `)).toBe(true);
    expect(lines).toContainEqual(expect.stringContaining('colour: unknown field'));
    expect(lines).toContainEqual(expect.stringContaining('vehicles[0].gatewayId: missing; expected an id string'));
    expect(lines).toContainEqual(expect.stringContaining('cellSites[0].pci: expected an NR PCI in 0..1007'));
    expect(lines).toContainEqual(expect.stringContaining('map.zoom: expected a number ≥ 10, got 3'));
  });

  it('checks the municipality code check digit', () => {
    const path = brokenCopy((p) => {
      p.municipality.code = '102017';
    });
    expect(seedError(() => loadPilotFile(path)).message).toContain(
      'municipality.code: expected a 全国地方公共団体コード with a valid check digit: for 10201 it is 6',
    );
  });

  it('refuses a secret where a credentials reference belongs', () => {
    const path = brokenCopy((p) => {
      p.gateways[0]!.credentialsRef = 's3cr3t-token-value';
    });
    const message = seedError(() => loadPilotFile(path)).message;
    expect(message).toContain('gateways[0].credentialsRef: expected a credentials reference such as "env:MICHI_GW_<ID>_SECRET"');
  });

  it('requires a loop route to end where it starts', () => {
    const path = brokenCopy((p) => {
      p.routes[0]!.geometry.coordinates.pop();
    });
    expect(seedError(() => loadPilotFile(path)).message).toMatch(
      /routes\[0\]\.geometry\.coordinates\[\d+\]: expected a loop route to end where it starts/,
    );
  });

  it('rejects two files that define the same pilot id', () => {
    const dir = tmpDir();
    const text = readFileSync(join(SEEDS_DIR, BUS_FILE), 'utf8');
    writeFileSync(join(dir, 'a.json'), text);
    writeFileSync(join(dir, 'b.json'), text);
    const err = seedError(() => loadSeeds(dir));
    expect(err.file).toBe(join(dir, 'b.json'));
    expect(err.message).toContain(
      `id: expected a pilot id unique across the seed files, got "maebashi-l4-bus", already used by ${join(dir, 'a.json')}`,
    );
  });

  it('rejects a gateway id used by two pilots (gateways log in to the cloud by id)', () => {
    const dir = tmpDir();
    const bus = JSON.parse(readFileSync(join(SEEDS_DIR, BUS_FILE), 'utf8')) as Pilot;
    writeFileSync(join(dir, 'a.json'), JSON.stringify(bus));
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ ...bus, id: 'other-pilot' }));
    const err = seedError(() => loadSeeds(dir));
    expect(err.message).toContain(
      `gateways[0].id: expected a gateway id unique across the seed files, got "${bus.gateways[0]!.id}", already used by pilot maebashi-l4-bus`,
    );
  });
});

describe('relay gateways and declared field names', () => {
  it('default every shipped pilot to the field names the simulators send, and list no relays', () => {
    for (const pilot of pilots) {
      expect(pilot.fieldNames, pilot.id).toEqual(DEFAULT_FIELD_NAMES);
      for (const source of [...pilot.vehicles, ...pilot.sensors]) expect(source.relayGatewayIds, source.id).toBeUndefined();
    }
  });

  it('load a relay gateway of the pilot, and fieldNames lists that replace their defaults', () => {
    const path = brokenCopy((p) => {
      p.vehicles[0]!.relayGatewayIds = ['gw-honmachi'];
      (p as { fieldNames?: unknown }).fieldNames = { signals: ['Vehicle.Speed', 'Vehicle.Body.Horn.IsActive'] };
    });
    const pilot = loadPilotFile(path);
    expect(pilot.vehicles[0]!.relayGatewayIds).toEqual(['gw-honmachi']);
    expect(pilot.fieldNames).toEqual({
      signals: ['Vehicle.Speed', 'Vehicle.Body.Horn.IsActive'],
      counts: DEFAULT_FIELD_NAMES.counts,
      measures: DEFAULT_FIELD_NAMES.measures,
    });
  });

  it('name a relay gateway that does not exist, the own gateway listed as a relay, and a relay listed twice', () => {
    const path = brokenCopy((p) => {
      p.vehicles[0]!.relayGatewayIds = ['gw-nowhere'];
      p.vehicles[1]!.relayGatewayIds = [p.vehicles[1]!.gatewayId];
      p.sensors[0]!.relayGatewayIds = ['gw-ekimae', 'gw-ekimae'];
    });
    const err = seedError(() => loadPilotFile(path));
    expect(err.message).toContain(`${path}: vehicles[0].relayGatewayIds[0]: expected the id of one of the gateways`);
    expect(err.message).toContain('got "gw-nowhere"');
    expect(err.message).toContain(
      `vehicles[1].relayGatewayIds[0]: expected a gateway other than its own gatewayId "${byId.get('maebashi-l4-bus')!.vehicles[1]!.gatewayId}"`,
    );
    expect(err.message).toContain('sensors[0].relayGatewayIds[1]: expected each relay gateway once, got "gw-ekimae" twice');
  });

  it('refuse a field name a reading could not carry, a name listed twice, an unknown list and too many names', () => {
    const path = brokenCopy((p) => {
      (p as { fieldNames?: unknown }).fieldNames = {
        signals: ['Vehicle.Speed', 'bad name'],
        counts: ['vehicles', 'vehicles'],
        measures: Array.from({ length: 257 }, (_, i) => `m${i}`),
        events: [],
      };
    });
    const err = seedError(() => loadPilotFile(path));
    expect(err.message).toContain('fieldNames.signals[1]: expected a dotted name such as "Vehicle.Speed"');
    expect(err.message).toContain('fieldNames.measures: expected at most 256 names');
    expect(err.message).toMatch(/fieldNames.*events/);
    const dup = seedError(() =>
      loadPilotFile(
        brokenCopy((p) => {
          (p as { fieldNames?: unknown }).fieldNames = { counts: ['vehicles', 'vehicles'] };
        }),
      ),
    );
    expect(dup.message).toContain(
      'fieldNames.counts[1]: expected a name unique within fieldNames.counts, got "vehicles", already at fieldNames.counts[0]',
    );
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
