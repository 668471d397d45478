// The cloud's line-protocol writer and the simulators' InfluxDB export against the one declaration
// of the storage schema in @michi/proto: a reading of every kind, with every field set, is written
// with exactly the declared measurement, tags and fields (and their types), and the export maps
// every declared field of the stored point back into the reading. Either side drifting from the
// declaration (a renamed field, a new one written but not read back) fails here.
import { readingToLine } from '@michi/cloud';
import {
  FIELDS,
  MAP_FIELDS,
  MEASUREMENTS,
  MEASUREMENT_TAGS,
  TAGS,
  v1,
  type FieldType,
  type ReadingBodyProperties,
  type ReadingKind,
} from '@michi/proto';
import { describe, expect, it } from 'vitest';
import { rowToBody } from '@michi/proto/mcap';

const TS = 1_700_000_000_000;
const ctx = { pilot: 'maebashi-l4-bus', gateway: 'gw-1', recvMs: TS + 250 };
const position = { lat: 36.375, lon: 139.0625, alt_m: 112.5, accuracy_m: 1.5 };

/** One reading of each kind with every field set to a value that survives storage exactly. */
const BODIES: Record<ReadingKind, ReadingBodyProperties> = {
  state: {
    source_id: 'bus-1',
    ts_ms: TS,
    seq: 7,
    position,
    speed_mps: 12.5,
    heading_deg: 90.5,
    accel_mps2: 0.25,
    mode: v1.AutonomyMode.AUTONOMY_MODE_AUTONOMOUS,
    odometer_m: 1234.5,
    battery_pct: 80.5,
    signals: { 'Vehicle.Cabin.Door.Row1.IsOpen': 1, 'Vehicle.Speed': 45.25 },
  },
  link: {
    source_id: 'bus-1',
    ts_ms: TS,
    seq: 8,
    position,
    cell_id: 'nr-4711',
    pci: 101,
    band: 'n79',
    rsrp_dbm: -90.5,
    rsrq_db: -10.5,
    sinr_db: 20.5,
    rtt_ms: 15.5,
    ul_mbps: 10.5,
    dl_mbps: 100.5,
    slice: 'URLLC',
    handover: true,
  },
  sensor: {
    source_id: 'lidar-1',
    ts_ms: TS,
    seq: 9,
    sensor_kind: v1.SensorKind.SENSOR_KIND_LIDAR,
    counts: { pedestrians: 3, cyclists: 1 },
    measures: { queue_length_m: 4.5 },
  },
  event: {
    source_id: 'bus-1',
    ts_ms: TS,
    seq: 10,
    position,
    type: v1.EventType.EVENT_TYPE_TAKEOVER,
    cause: v1.EventCause.EVENT_CAUSE_PEDESTRIAN,
    severity: v1.Severity.SEVERITY_WARNING,
    geofence_id: 'depot',
    detail: 'pedestrian on the road',
    duration_ms: 1500,
  },
};

const KINDS = Object.keys(BODIES) as ReadingKind[];

/** Fields the export does not map into the reading body, and why. */
const NOT_IN_BODY: Record<string, string> = {
  gateway: 'exportFromInflux reads it as the gateway of the recorded message',
  recv_ms: "the cloud's receive time, not part of a reading",
};

interface ParsedLine {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, { type: FieldType; value: unknown }>;
  time: number;
}

/** Splits at `sep` outside quotes, honouring backslash escapes; escapes are kept (removed by unescape). */
function split(s: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      cur += c + (s[++i] ?? '');
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === sep && !quoted) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  return parts;
}

const unescape = (s: string): string => s.replace(/\\(.)/g, '$1');

/** One line of line protocol, parsed as InfluxDB 1.x reads it (enough of it for the writer's output). */
function parseLine(line: string): ParsedLine {
  const [head, fieldSet, time, ...rest] = split(line, ' ');
  expect(rest).toEqual([]);
  const [measurement, ...tagPairs] = split(head!, ',');
  const tags: Record<string, string> = {};
  for (const pair of tagPairs) {
    const [k, v] = split(pair, '=');
    tags[unescape(k!)] = unescape(v!);
  }
  const fields: ParsedLine['fields'] = {};
  for (const pair of split(fieldSet!, ',')) {
    const [k, raw] = split(pair, '=') as [string, string];
    const key = unescape(k);
    expect(fields, `field ${key} written twice`).not.toHaveProperty([key]);
    if (raw.startsWith('"')) fields[key] = { type: 'string', value: unescape(raw.slice(1, -1)) };
    else if (raw === 'true' || raw === 'false') fields[key] = { type: 'boolean', value: raw === 'true' };
    else if (/^-?\d+i$/.test(raw)) fields[key] = { type: 'integer', value: Number(raw.slice(0, -1)) };
    else fields[key] = { type: 'float', value: Number(raw) };
  }
  return { measurement: unescape(measurement!), tags, fields, time: Number(time) };
}

/** The point as InfluxDB's /query returns it (SELECT * … epoch=ms): time, tags and fields as columns. */
function rowOf(p: ParsedLine): Record<string, unknown> {
  const row: Record<string, unknown> = { time: p.time, ...p.tags };
  for (const [k, f] of Object.entries(p.fields)) row[k] = f.value;
  return row;
}

/** The declared type of a field of the kind's measurement, by its name or its map prefix. */
function declaredType(kind: ReadingKind, key: string): FieldType | undefined {
  const fixed = (FIELDS[kind] as Record<string, FieldType>)[key];
  if (fixed !== undefined) return fixed;
  return (MAP_FIELDS[kind] as readonly { prefix: string; type: FieldType }[]).find((m) => key.startsWith(m.prefix))?.type;
}

describe('storage schema: writer and export against the declaration in @michi/proto', () => {
  it.each(KINDS)('the writer writes a %s reading with exactly the declared measurement, tags and fields', (kind) => {
    const line = parseLine(readingToLine({ [kind]: BODIES[kind] }, ctx));
    expect(line.measurement).toBe(MEASUREMENTS[kind]);
    expect(Object.keys(line.tags)).toEqual(MEASUREMENT_TAGS[kind]);
    expect(line.time).toBe(TS);

    const fixed = Object.keys(line.fields).filter((k) => !MAP_FIELDS[kind].some((m) => k.startsWith(m.prefix)));
    expect(fixed.sort()).toEqual(Object.keys(FIELDS[kind]).sort());
    for (const [key, f] of Object.entries(line.fields)) expect({ key, type: f.type }).toEqual({ key, type: declaredType(kind, key) });

    // Each declared map is written entry by entry under its prefix.
    const body = BODIES[kind] as Record<string, unknown>;
    for (const m of MAP_FIELDS[kind]) {
      const entries = Object.keys(body[m.map] as Record<string, number>);
      expect(entries.length).toBeGreaterThan(0);
      for (const k of entries) expect(line.fields).toHaveProperty([`${m.prefix}${k}`]);
    }
  });

  it.each(KINDS)('the export maps every declared field of a stored %s reading back', (kind) => {
    const row = rowOf(parseLine(readingToLine({ [kind]: BODIES[kind] }, ctx)));
    expect(rowToBody(kind, row)).toEqual(BODIES[kind]);

    // Leaving any one declared field or tag out changes what the export makes of the point, so none is ignored.
    const declared = [
      ...Object.keys(FIELDS[kind]).filter((k) => !(k in NOT_IN_BODY)),
      ...MEASUREMENT_TAGS[kind].filter((t) => t !== TAGS.pilot), // the pilot is the query's filter
      ...Object.keys(row).filter((k) => MAP_FIELDS[kind].some((m) => k.startsWith(m.prefix))),
    ];
    for (const key of declared) {
      const { [key]: _left, ...without } = row;
      expect(rowToBody(kind, without), `the export ignores ${key}`).not.toEqual(BODIES[kind]);
    }
  });
});
