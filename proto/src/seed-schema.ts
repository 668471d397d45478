// The schema of one pilot definition (a file in seeds/): what a pilot is made of (routes, stops,
// geofences, 5G cell sites, gateways, vehicles, roadside sensors, privacy settings) and the
// cross-references between them. The format is documented, field by field, in docs/seeds.md.
//
// Every message here says what was expected, so that the loader can print
// `file: path: message` and a person can fix the file without reading this code.
import { z } from 'zod';
import { AlarmsSchema } from './alarm-rules-schema.js';

/** Bounds that every position must fall in: Japan, generously (Yonaguni to Minamitorishima). */
const JAPAN_BOUNDS = { lonMin: 122, lonMax: 154, latMin: 20, latMax: 46 } as const;

/** A stop must lie this close to the line of its route (GPS and drawing slack). */
const STOP_MAX_OFFSET_M = 100;

const EARTH_RADIUS_M = 6_371_008.8;

// ---------------------------------------------------------------------------------------------
// Building blocks

function preview(value: unknown): string {
  if (Array.isArray(value) && value.length <= 4 && value.every((v) => typeof v === 'number')) {
    return `[${value.join(', ')}]`;
  }
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const POSITION_EXPECTED =
  `expected [lon, lat] inside Japan (lon ${JAPAN_BOUNDS.lonMin}..${JAPAN_BOUNDS.lonMax}, ` +
  `lat ${JAPAN_BOUNDS.latMin}..${JAPAN_BOUNDS.latMax})`;

function insideJapan(lon: number, lat: number): boolean {
  const b = JAPAN_BOUNDS;
  return lon >= b.lonMin && lon <= b.lonMax && lat >= b.latMin && lat <= b.latMax;
}

function badPositionMessage(input: unknown): string {
  let hint = '';
  if (Array.isArray(input) && input.length === 2) {
    const [a, b] = input as unknown[];
    // [lat, lon] is the most common mistake: GeoJSON (RFC 7946 §3.1.1) puts longitude first.
    if (typeof a === 'number' && typeof b === 'number' && insideJapan(b, a)) {
      hint = ' (this looks like [lat, lon]; GeoJSON order is [lon, lat])';
    }
  }
  return `${POSITION_EXPECTED}, got ${preview(input)}${hint}`;
}

/** A GeoJSON position [longitude, latitude] in WGS 84, inside Japan. */
const LonLatSchema = z
  .tuple([z.number({ error: 'expected the longitude as a number' }), z.number({ error: 'expected the latitude as a number' })], {
    error: (issue) => badPositionMessage(issue.input),
  })
  .refine(([lon, lat]) => insideJapan(lon, lat), {
    error: (issue) => badPositionMessage(issue.input),
  });

const NonEmptyString = z.string({ error: 'expected a string' }).regex(/\S/, 'expected a non-empty string');

/** A name in Japanese (shown to municipal staff) and English. */
const BilingualNameSchema = z.strictObject({ ja: NonEmptyString, en: NonEmptyString });

/** Ids of routes, stops, sites, gateways, vehicles and sensors; gateway and source ids are MQTT topic segments. */
const ItemIdSchema = z
  .string({ error: 'expected an id string' })
  .regex(/^[a-zA-Z0-9_-]{1,64}$/, 'expected an id of 1 to 64 letters, digits, "_" or "-" (ids become MQTT topic segments)');

/**
 * Check digit of a 全国地方公共団体コード (JIS X 0401 + 0402): weights 6,5,4,3,2 over the
 * five digits, then 11 minus the remainder mod 11, last digit only.
 */
function municipalityCheckDigit(fiveDigits: string): number {
  let sum = 0;
  for (let i = 0; i < 5; i++) sum += Number(fiveDigits[i]) * (6 - i);
  return (11 - (sum % 11)) % 10;
}

const MunicipalityCodeSchema = z
  .string({ error: 'expected the 6-digit 全国地方公共団体コード as a string, e.g. "102016"' })
  .regex(/^\d{6}$/, 'expected the 6-digit 全国地方公共団体コード as a string, e.g. "102016" (前橋市)')
  .superRefine((code, ctx) => {
    if (!/^\d{6}$/.test(code)) return;
    const expected = municipalityCheckDigit(code);
    if (Number(code[5]) !== expected) {
      ctx.addIssue({
        code: 'custom',
        message:
          `expected a 全国地方公共団体コード with a valid check digit: for ${code.slice(0, 5)} ` +
          `it is ${expected} ("${code.slice(0, 5)}${expected}"), got "${code}"`,
      });
    }
  });

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const LocalTimeSchema = z
  .string({ error: 'expected a local time "HH:MM"' })
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a local time "HH:MM" between 00:00 and 23:59');

const LineStringSchema = z.strictObject({
  type: z.literal('LineString', { error: 'expected "LineString" (a GeoJSON LineString geometry)' }),
  coordinates: z.array(LonLatSchema).min(2, 'expected a LineString of at least 2 positions'),
});

/** RFC 7946 §3.1.6: a linear ring has at least four positions and ends where it starts. */
const LinearRingSchema = z
  .array(LonLatSchema)
  .min(4, 'expected a linear ring of at least 4 positions (RFC 7946 §3.1.6)')
  .refine(
    (ring) => ring.length < 4 || (ring[0]![0] === ring.at(-1)![0] && ring[0]![1] === ring.at(-1)![1]),
    'expected a closed ring: the last position must equal the first (RFC 7946 §3.1.6)',
  );

const PolygonSchema = z.strictObject({
  type: z.literal('Polygon', { error: 'expected "Polygon" (a GeoJSON Polygon geometry)' }),
  coordinates: z.array(LinearRingSchema).min(1, 'expected at least one ring: the outer boundary, then any holes'),
});

// ---------------------------------------------------------------------------------------------
// The parts of a pilot

const RouteSchema = z.strictObject({
  id: ItemIdSchema,
  name: BilingualNameSchema,
  /** true: vehicles go round and round (the geometry must end where it starts); false: they turn back at the end. */
  loop: z.boolean({ error: 'expected true (a loop) or false (out and back)' }),
  geometry: LineStringSchema,
});

const StopSchema = z.strictObject({
  id: ItemIdSchema,
  name: BilingualNameSchema,
  routeId: ItemIdSchema,
  position: LonLatSchema,
});

const GeofenceSchema = z.strictObject({
  id: ItemIdSchema,
  name: BilingualNameSchema,
  kind: z.enum(['operational', 'slow-zone', 'no-go'], {
    error: 'expected one of "operational", "slow-zone", "no-go"',
  }),
  geometry: PolygonSchema,
  /** For a slow zone: the over-slow-zone-limit alarm's limit (docs/alarms.md); no limit, no alarm. */
  speedLimitKmh: z.number().positive().max(120).optional(),
});

const CellSiteSchema = z.strictObject({
  id: ItemIdSchema,
  name: NonEmptyString,
  position: LonLatSchema,
  /** The NR cell identity as the modem reports it; becomes the bounded `cell` tag in InfluxDB. */
  cellId: z
    .string({ error: 'expected the NR cell identity as a string' })
    .regex(
      /^[A-Za-z0-9_.:-]{1,64}$/,
      'expected the NR cell identity: 1 to 64 letters, digits, "_", ".", ":" or "-", e.g. "001-01:0x000a1b2c01"',
    ),
  /** NR physical cell id, 3GPP TS 38.211 §7.4.2.1: 0..1007. */
  pci: z.int({ error: 'expected an integer PCI' }).min(0).max(1007, 'expected an NR PCI in 0..1007 (TS 38.211 §7.4.2.1)'),
  band: z
    .string({ error: 'expected an NR band name' })
    .regex(/^n\d{1,3}$/, 'expected an NR band name such as "n79" (local 5G Sub6) or "n257"'),
  txPowerDbm: z.number().min(0).max(60),
  heightM: z.number().min(0).max(300),
  /** Antenna bearing, degrees clockwise from north; absent for an omnidirectional antenna. */
  azimuthDeg: z.number().min(0).max(360).optional(),
});

const GatewaySchema = z.strictObject({
  id: ItemIdSchema,
  name: NonEmptyString,
  siteId: ItemIdSchema.optional(),
  position: LonLatSchema,
  /** No batch for this long raises gateway-silent; default alarms.rules.gateway-silent.afterS. */
  silenceS: z.number().positive().max(86_400).optional(),
  /** Where the gateway's secret is found at run time; never the secret itself. */
  credentialsRef: z
    .string({ error: 'expected a credentials reference string' })
    .regex(
      /^(env:[A-Z][A-Z0-9_]{0,127}|file:\/[^\s]+)$/,
      'expected a credentials reference such as "env:MICHI_GW_<ID>_SECRET" or "file:/run/secrets/<name>", never the secret itself',
    ),
});

/**
 * Other gateways of the pilot allowed to send this source's readings besides its `gatewayId` (a
 * vehicle that roams between two gateways' coverage, say). The cloud refuses a reading from any
 * other gateway (MICHI_ERR_SOURCE_NOT_OWNED): otherwise one gateway's secret could write, overwrite
 * or freeze another gateway's vehicles and sensors.
 */
const RelayGatewayIdsSchema = z.array(ItemIdSchema).max(16, 'expected at most 16 relay gateways').optional();

/**
 * The names a reading may use in its `signals` (VehicleState) and `counts` and `measures`
 * (SensorReading) maps. Each distinct name becomes an InfluxDB field (`sig.<name>`, `count.<name>`,
 * `measure.<name>`), so an open set would let a device grow the schema without bound; the cloud
 * refuses a reading with an undeclared name (MICHI_ERR_UNDECLARED_FIELD).
 */
const FieldNameSchema = z
  .string({ error: 'expected a field name string' })
  // The same names a reading's maps may carry at all (validate-reading.ts SIGNAL_NAME, MAX_KEY_LENGTH).
  .max(128, 'expected a field name of at most 128 characters')
  .regex(
    /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/,
    'expected a dotted name such as "Vehicle.Speed" or "queue_length_m": letters, digits and "_", parts joined by "."',
  );

const FIELD_NAMES_MAX = 256;

/**
 * What the simulators (simulators/src/vehicle-model.ts, sensor-model.ts), the seeds' devices and
 * the benchmarks send today: a seed without `fieldNames` accepts exactly these.
 */
export const DEFAULT_FIELD_NAMES = {
  signals: [
    'Vehicle.Speed',
    'Vehicle.Cabin.Door.Row1.IsOpen',
    'Vehicle.Cabin.Door.Row1.PassengerSide.IsOpen',
    'Vehicle.Powertrain.TractionBattery.StateOfCharge.Current',
  ],
  counts: ['pedestrians', 'cyclists', 'vehicles'],
  measures: [
    'queue_length_m',
    'mean_speed_kmh',
    'max_speed_kmh',
    'occupancy_pct',
    'temperature_c',
    'humidity_pct',
    'rain_mm_h',
    'wind_mps',
    'visibility_m',
    'road_surface_c',
  ],
} as const satisfies Record<string, readonly string[]>;

/** A list given replaces its default; a list left out keeps it. */
const fieldNameList = (defaults: readonly string[]) =>
  z
    .array(FieldNameSchema)
    .max(FIELD_NAMES_MAX, `expected at most ${FIELD_NAMES_MAX} names (each becomes an InfluxDB field)`)
    .default(() => [...defaults]);

const FieldNamesSchema = z
  .strictObject({
    signals: fieldNameList(DEFAULT_FIELD_NAMES.signals),
    counts: fieldNameList(DEFAULT_FIELD_NAMES.counts),
    measures: fieldNameList(DEFAULT_FIELD_NAMES.measures),
  })
  .default(() => ({
    signals: [...DEFAULT_FIELD_NAMES.signals],
    counts: [...DEFAULT_FIELD_NAMES.counts],
    measures: [...DEFAULT_FIELD_NAMES.measures],
  }));

const VehicleSchema = z.strictObject({
  id: ItemIdSchema,
  kind: z.enum(['bus', 'delivery-robot', 'car', 'shuttle'], {
    error: 'expected one of "bus", "delivery-robot", "car", "shuttle"',
  }),
  name: BilingualNameSchema,
  routeId: ItemIdSchema,
  gatewayId: ItemIdSchema,
  relayGatewayIds: RelayGatewayIdsSchema,
  nominalSpeedKmh: z.number().min(1).max(120),
  /** Distance along the route, in metres, where the vehicle starts. */
  startOffsetM: z.number().min(0).optional(),
  /** No reading for this long raises source-silent; default alarms.rules.source-silent.vehicleS. */
  silenceS: z.number().positive().max(86_400).optional(),
});

const SensorSchema = z.strictObject({
  id: ItemIdSchema,
  kind: z.enum(['lidar', 'camera', 'radar', 'weather', 'counter'], {
    error: 'expected one of "lidar", "camera", "radar", "weather", "counter"',
  }),
  name: BilingualNameSchema,
  position: LonLatSchema,
  gatewayId: ItemIdSchema,
  relayGatewayIds: RelayGatewayIdsSchema,
  ratePerSecond: z.number().min(0.1).max(20),
  /** No reading for this long raises source-silent; default alarms.rules.source-silent.sensorS. */
  silenceS: z.number().positive().max(86_400).optional(),
});

const PrivacySchema = z.strictObject({
  /** Replace vehicle and sensor ids with neutral labels in the public (viewer) view. */
  publicHideIds: z.boolean(),
  /** Show public positions this many seconds late. */
  publicPositionDelayS: z.int().min(0),
  /** Snap public positions to a grid of this many metres (0: exact). */
  publicCoarsenM: z.int().min(0),
});

// ---------------------------------------------------------------------------------------------
// Geometry for the cross-checks (metres on a sphere; plenty for a town)

type LonLat = [number, number];

function haversineM(a: LonLat, b: LonLat): number {
  const rad = Math.PI / 180;
  const dLat = (b[1] - a[1]) * rad;
  const dLon = (b[0] - a[0]) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

function lineLengthM(line: readonly LonLat[]): number {
  let total = 0;
  for (let i = 1; i < line.length; i++) total += haversineM(line[i - 1]!, line[i]!);
  return total;
}

/** Distance from p to the polyline, on a local equirectangular projection around p. */
function distanceToLineM(p: LonLat, line: readonly LonLat[]): number {
  const rad = Math.PI / 180;
  const kx = Math.cos(p[1] * rad) * rad * EARTH_RADIUS_M;
  const ky = rad * EARTH_RADIUS_M;
  const xy = (q: LonLat): [number, number] => [(q[0] - p[0]) * kx, (q[1] - p[1]) * ky];
  let best = Infinity;
  for (let i = 1; i < line.length; i++) {
    const [ax, ay] = xy(line[i - 1]!);
    const [bx, by] = xy(line[i]!);
    const dx = bx - ax;
    const dy = by - ay;
    const len2 = dx * dx + dy * dy;
    const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, -(ax * dx + ay * dy) / len2));
    best = Math.min(best, Math.hypot(ax + t * dx, ay + t * dy));
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// The pilot

export const PilotObjectSchema = z.strictObject({
  /** Lower-case slug; the {pilot} segment of MQTT topics and the seed's file name. */
  id: z
    .string({ error: 'expected a pilot id string' })
    .regex(
      /^[a-z0-9][a-z0-9-]{1,62}$/,
      'expected a lower-case slug of 2 to 63 characters: a-z, 0-9 and "-", not starting with "-" (it is the {pilot} MQTT topic segment)',
    ),
  notice: z
    .string({ error: 'expected a notice string' })
    .regex(
      /\bfictional\b/i,
      'expected a notice that says the pilot is fictional (containing the word "fictional"), e.g. "Fictional pilot: only the geography is real."',
    ),
  /** The notice in Japanese, shown when the dashboard is in Japanese; `notice` otherwise. */
  noticeJa: z
    .string({ error: 'expected the notice in Japanese as a string' })
    .regex(
      /架空/,
      'expected a Japanese notice that says the pilot is fictional (containing 架空), e.g. "架空の実証です。地理のみ実在します。"',
    )
    .optional(),
  name: BilingualNameSchema,
  municipality: z.strictObject({ ja: NonEmptyString, en: NonEmptyString, code: MunicipalityCodeSchema }),
  timezone: z.string().refine(isTimeZone, 'expected an IANA time zone name such as "Asia/Tokyo"').default('Asia/Tokyo'),
  map: z.strictObject({
    center: LonLatSchema,
    zoom: z.number().min(10).max(20),
  }),
  serviceWindow: z.strictObject({ start: LocalTimeSchema, end: LocalTimeSchema }).refine((w) => w.start !== w.end, {
    message: 'expected different start and end times (an end earlier than the start crosses midnight)',
    path: ['end'],
  }),
  routes: z.array(RouteSchema).default([]),
  stops: z.array(StopSchema).default([]),
  geofences: z.array(GeofenceSchema).default([]),
  cellSites: z.array(CellSiteSchema).default([]),
  gateways: z.array(GatewaySchema).min(1, 'expected at least one gateway'),
  vehicles: z.array(VehicleSchema).default([]),
  sensors: z.array(SensorSchema).default([]),
  /** The allowed names of signals, counts and measures; defaults to DEFAULT_FIELD_NAMES. */
  fieldNames: FieldNamesSchema,
  privacy: PrivacySchema,
  /** Alarm rules evaluated on this pilot's readings (docs/alarms.md); every field has a default. */
  alarms: AlarmsSchema.default(AlarmsSchema.parse({})),
});

type PilotShape = z.infer<typeof PilotObjectSchema>;
type Ctx = z.RefinementCtx<PilotShape>;

const ID_LISTS = ['routes', 'stops', 'geofences', 'cellSites', 'gateways', 'vehicles', 'sensors'] as const;

function listIds(ids: readonly string[]): string {
  if (ids.length === 0) return '(none defined)';
  const shown = ids
    .slice(0, 8)
    .map((id) => `"${id}"`)
    .join(', ');
  return ids.length > 8 ? `${shown}, ... (${ids.length} in all)` : shown;
}

/** Only a slow zone has a speed limit: on another kind it would be silently ignored. */
function checkSpeedLimits(pilot: PilotShape, ctx: Ctx): void {
  pilot.geofences.forEach((g, i) => {
    if (g.speedLimitKmh !== undefined && g.kind !== 'slow-zone')
      ctx.addIssue({
        code: 'custom',
        path: ['geofences', i, 'speedLimitKmh'],
        message: `expected speedLimitKmh only on a "slow-zone" geofence, got it on "${g.id}", of kind "${g.kind}"`,
      });
  });
}

function checkUniqueIds(pilot: PilotShape, ctx: Ctx): void {
  for (const list of ID_LISTS) {
    const seen = new Map<string, number>();
    pilot[list].forEach((item, i) => {
      const first = seen.get(item.id);
      if (first === undefined) {
        seen.set(item.id, i);
        return;
      }
      ctx.addIssue({
        code: 'custom',
        path: [list, i, 'id'],
        message: `expected an id unique within ${list}, got "${item.id}", already used by ${list}[${first}]`,
      });
    });
  }
  // Vehicles and sensors publish as {source} in michi/v1/{pilot}/{gateway}/{source}/{kind}.
  const vehicleIndex = new Map(pilot.vehicles.map((v, i) => [v.id, i]));
  pilot.sensors.forEach((sensor, i) => {
    const v = vehicleIndex.get(sensor.id);
    if (v === undefined) return;
    ctx.addIssue({
      code: 'custom',
      path: ['sensors', i, 'id'],
      message:
        `expected an id not used by any vehicle (vehicle and sensor ids are both MQTT source ids), ` +
        `got "${sensor.id}", already used by vehicles[${v}]`,
    });
  });
  const cells = new Map<string, number>();
  pilot.cellSites.forEach((site, i) => {
    const first = cells.get(site.cellId);
    if (first === undefined) cells.set(site.cellId, i);
    else
      ctx.addIssue({
        code: 'custom',
        path: ['cellSites', i, 'cellId'],
        message: `expected a cell identity unique within the pilot, got "${site.cellId}", already used by cellSites[${first}]`,
      });
  });
}

function checkReference(ctx: Ctx, path: (string | number)[], what: string, list: string, id: string, known: readonly string[]): boolean {
  if (known.includes(id)) return true;
  ctx.addIssue({
    code: 'custom',
    path,
    message: `expected the id of one of the ${list} (${what}): ${listIds(known)}, got "${id}"`,
  });
  return false;
}

function checkReferences(pilot: PilotShape, ctx: Ctx): void {
  const routeIds = pilot.routes.map((r) => r.id);
  const gatewayIds = pilot.gateways.map((g) => g.id);
  const siteIds = pilot.cellSites.map((s) => s.id);
  const routeById = new Map(pilot.routes.map((r) => [r.id, r]));

  if (pilot.vehicles.length > 0 && pilot.routes.length === 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['routes'],
      message: 'expected at least one route: this pilot has vehicles, and every vehicle drives on a route',
    });
  }

  pilot.routes.forEach((route, i) => {
    const line = route.geometry.coordinates;
    if (lineLengthM(line) < 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['routes', i, 'geometry', 'coordinates'],
        message: 'expected a route with some length, got positions that are all the same point',
      });
    }
    const first = line[0]!;
    const last = line.at(-1)!;
    if (route.loop && (first[0] !== last[0] || first[1] !== last[1])) {
      ctx.addIssue({
        code: 'custom',
        path: ['routes', i, 'geometry', 'coordinates', line.length - 1],
        message:
          `expected a loop route to end where it starts, at [${first.join(', ')}], ` +
          `got [${last.join(', ')}] (${Math.round(haversineM(first, last))} m away); ` +
          'repeat the first position at the end, or set "loop": false',
      });
    }
  });

  pilot.stops.forEach((stop, i) => {
    if (!checkReference(ctx, ['stops', i, 'routeId'], 'the route this stop serves', 'routes', stop.routeId, routeIds)) return;
    const line = routeById.get(stop.routeId)!.geometry.coordinates;
    const off = distanceToLineM(stop.position, line);
    if (off > STOP_MAX_OFFSET_M) {
      ctx.addIssue({
        code: 'custom',
        path: ['stops', i, 'position'],
        message: `expected a stop within ${STOP_MAX_OFFSET_M} m of route "${stop.routeId}", got one ${Math.round(off)} m from it`,
      });
    }
  });

  pilot.gateways.forEach((gw, i) => {
    if (gw.siteId !== undefined)
      checkReference(ctx, ['gateways', i, 'siteId'], 'the cell site it stands at', 'cellSites', gw.siteId, siteIds);
  });

  pilot.vehicles.forEach((v, i) => {
    checkReference(ctx, ['vehicles', i, 'gatewayId'], 'the gateway it publishes to', 'gateways', v.gatewayId, gatewayIds);
    checkRelays(ctx, ['vehicles', i], v, gatewayIds);
    if (!checkReference(ctx, ['vehicles', i, 'routeId'], 'the route it drives', 'routes', v.routeId, routeIds)) return;
    const length = lineLengthM(routeById.get(v.routeId)!.geometry.coordinates);
    if (v.startOffsetM !== undefined && v.startOffsetM > length) {
      ctx.addIssue({
        code: 'custom',
        path: ['vehicles', i, 'startOffsetM'],
        message: `expected a start offset within route "${v.routeId}" (0..${Math.floor(length)} m), got ${v.startOffsetM}`,
      });
    }
  });

  pilot.sensors.forEach((s, i) => {
    checkReference(ctx, ['sensors', i, 'gatewayId'], 'the gateway it publishes to', 'gateways', s.gatewayId, gatewayIds);
    checkRelays(ctx, ['sensors', i], s, gatewayIds);
  });
}

/** Each relay gateway exists, appears once and is not the source's own gateway (that would hide a typo). */
function checkRelays(
  ctx: Ctx,
  path: (string | number)[],
  source: { gatewayId: string; relayGatewayIds?: string[] | undefined },
  gatewayIds: readonly string[],
): void {
  const seen = new Set<string>();
  source.relayGatewayIds?.forEach((id, j) => {
    const at = [...path, 'relayGatewayIds', j];
    if (!checkReference(ctx, at, 'a gateway that may relay its readings', 'gateways', id, gatewayIds)) return;
    if (id === source.gatewayId || seen.has(id)) {
      ctx.addIssue({
        code: 'custom',
        path: at,
        message:
          id === source.gatewayId
            ? `expected a gateway other than its own gatewayId "${id}" (that one is always allowed)`
            : `expected each relay gateway once, got "${id}" twice`,
      });
    }
    seen.add(id);
  });
}

/** No name twice in one list of fieldNames. */
function checkFieldNames(pilot: PilotShape, ctx: Ctx): void {
  for (const list of ['signals', 'counts', 'measures'] as const) {
    const seen = new Map<string, number>();
    pilot.fieldNames[list].forEach((name, i) => {
      const first = seen.get(name);
      if (first === undefined) seen.set(name, i);
      else
        ctx.addIssue({
          code: 'custom',
          path: ['fieldNames', list, i],
          message: `expected a name unique within fieldNames.${list}, got "${name}", already at fieldNames.${list}[${first}]`,
        });
    });
  }
}

/** One pilot definition, as stored in seeds/<id>.json. */
export const PilotSchema = PilotObjectSchema.superRefine((pilot, ctx) => {
  checkUniqueIds(pilot, ctx);
  checkReferences(pilot, ctx);
  checkFieldNames(pilot, ctx);
  checkSpeedLimits(pilot, ctx);
});

export type Pilot = z.infer<typeof PilotSchema>;
export type PilotRoute = Pilot['routes'][number];
export type PilotStop = Pilot['stops'][number];
export type PilotGeofence = Pilot['geofences'][number];
export type PilotCellSite = Pilot['cellSites'][number];
export type PilotGateway = Pilot['gateways'][number];
export type PilotVehicle = Pilot['vehicles'][number];
export type PilotSensor = Pilot['sensors'][number];
export type PilotFieldNames = Pilot['fieldNames'];
export type PilotPosition = PilotStop['position'];
export type { PilotAlarms } from './alarm-rules-schema.js';
