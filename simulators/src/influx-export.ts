/**
 * Reads a pilot's readings over a time range back out of InfluxDB (v1 HTTP API, InfluxQL), as
 * michi.v1 bodies, so a day of a real pilot can be recorded to MCAP like a simulated one. The
 * mapping is the inverse of the cloud's, by the schema declared in @michi/proto (docs/storage.md):
 * the measurement is the kind, `source` and `cell` are tags, `sig.*`, `count.*` and `measure.*`
 * fields are the maps, enum values are stored by name without their prefix.
 */
import {
  FIELD_PREFIXES,
  MEASUREMENTS,
  TAGS,
  v1,
  readingTopic,
  type FieldName,
  type ReadingBodyProperties,
  type ReadingKind,
} from '@michi/proto';
import { SimErrorCodes, SimulatorError } from './errors.js';
import type { SimReading } from './fleet.js';

export interface InfluxExportOptions {
  /** InfluxDB's v1 API root, e.g. http://127.0.0.1:8086. */
  url: string;
  database: string;
  pilotId: string;
  /** Start (inclusive) and end (exclusive) of the range, ms since the epoch. */
  fromMs: number;
  toMs: number;
  username?: string;
  password?: string;
  kinds?: readonly ReadingKind[];
}

type Row = Record<string, unknown>;

/**
 * A stored point of the kind's measurement as InfluxDB returns it: its declared fields and tags and
 * its time, so reading a name the schema does not declare is a compile error.
 */
type Stored<K extends ReadingKind> = { readonly [F in FieldName<K> | (typeof TAGS)[keyof typeof TAGS] | 'time']?: unknown };

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
/** Enum value from its stored name (`AUTONOMOUS` → AUTONOMY_MODE_AUTONOMOUS). */
function enumValue(values: object, prefix: string, v: unknown): number {
  if (typeof v !== 'string') return 0;
  const n = (values as Record<string, unknown>)[`${prefix}${v}`];
  return typeof n === 'number' ? n : 0;
}
function position(row: Stored<'state' | 'link' | 'event'>): { lat: number; lon: number; alt_m: number; accuracy_m: number } | undefined {
  const lat = num(row.lat);
  const lon = num(row.lon);
  if (lat === undefined || lon === undefined) return undefined;
  return { lat, lon, alt_m: num(row.alt_m) ?? 0, accuracy_m: num(row.accuracy_m) ?? 0 };
}
function prefixed(row: Row, prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(row)) if (k.startsWith(prefix) && typeof v === 'number') out[k.slice(prefix.length)] = v;
  return out;
}

/** One stored point back as a reading body. */
export function rowToBody(kind: ReadingKind, row: Row): ReadingBodyProperties {
  const stored = row as Stored<ReadingKind>;
  const common = { source_id: String(stored.source), ts_ms: Number(stored.time), seq: num(stored.seq) ?? 0 };
  switch (kind) {
    // The schema's optional measurements (telemetry.proto) that were not stored stay absent (null),
    // so a replay does not turn "not measured" into 0.
    case 'state': {
      const r = row as Stored<'state'>;
      const pos = position(r);
      return {
        ...common,
        ...(pos ? { position: pos } : {}),
        speed_mps: num(r.speed_mps) ?? 0,
        heading_deg: num(r.heading_deg) ?? 0,
        accel_mps2: num(r.accel_mps2) ?? 0,
        mode: enumValue(v1.AutonomyMode, 'AUTONOMY_MODE_', r.mode),
        odometer_m: num(r.odometer_m) ?? null,
        battery_pct: num(r.battery_pct) ?? null,
        signals: prefixed(row, FIELD_PREFIXES.signal),
      };
    }
    case 'link': {
      const r = row as Stored<'link'>;
      const pos = position(r);
      return {
        ...common,
        ...(pos ? { position: pos } : {}),
        cell_id: str(r.cell) ?? '',
        pci: num(r.pci) ?? null,
        band: str(r.band) ?? '',
        rsrp_dbm: num(r.rsrp_dbm) ?? null,
        rsrq_db: num(r.rsrq_db) ?? null,
        sinr_db: num(r.sinr_db) ?? null,
        rtt_ms: num(r.rtt_ms) ?? null,
        ul_mbps: num(r.ul_mbps) ?? null,
        dl_mbps: num(r.dl_mbps) ?? null,
        slice: str(r.slice) ?? '',
        handover: r.handover === true,
      };
    }
    case 'sensor': {
      const r = row as Stored<'sensor'>;
      return {
        ...common,
        sensor_kind: enumValue(v1.SensorKind, 'SENSOR_KIND_', r.sensor_kind),
        counts: prefixed(row, FIELD_PREFIXES.count),
        measures: prefixed(row, FIELD_PREFIXES.measure),
      };
    }
    case 'event': {
      const r = row as Stored<'event'>;
      const pos = position(r);
      return {
        ...common,
        ...(pos ? { position: pos } : {}),
        type: enumValue(v1.EventType, 'EVENT_TYPE_', r.type),
        cause: enumValue(v1.EventCause, 'EVENT_CAUSE_', r.cause),
        severity: enumValue(v1.Severity, 'SEVERITY_', r.severity),
        geofence_id: str(r.geofence_id) ?? '',
        detail: str(r.detail) ?? '',
        duration_ms: num(r.duration_ms) ?? 0,
      };
    }
  }
}

function quote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Every reading of the pilot in the range, kind by kind, each kind in time order. */
export async function* exportFromInflux(opts: InfluxExportOptions): AsyncGenerator<SimReading> {
  // The URL is in error messages; credentials belong in username and password.
  if (/^[a-z]+:\/\/[^/]*@/i.test(opts.url)) {
    throw new SimulatorError(
      SimErrorCodes.INFLUX,
      'expected an InfluxDB URL without credentials: use --influx-user and --influx-password-env',
      {},
    );
  }
  for (const kind of opts.kinds ?? (['state', 'link', 'sensor', 'event'] as const)) {
    const q =
      `SELECT * FROM "${MEASUREMENTS[kind]}" WHERE ${TAGS.pilot} = ${quote(opts.pilotId)} ` +
      `AND time >= ${Math.floor(opts.fromMs)}ms AND time < ${Math.floor(opts.toMs)}ms ORDER BY time`;
    const params = new URLSearchParams({ db: opts.database, q, epoch: 'ms', chunked: 'true', chunk_size: '10000' });
    // In a header, not as u= and p= in the URL, where proxies and InfluxDB's own request log keep it.
    const headers: Record<string, string> =
      opts.username !== undefined
        ? { authorization: `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64')}` }
        : {};
    let res: Response;
    try {
      res = await fetch(`${opts.url}/query?${params}`, { headers });
    } catch (err) {
      throw new SimulatorError(
        SimErrorCodes.INFLUX,
        `cannot reach InfluxDB at ${opts.url}: ${(err as Error).message}`,
        { url: opts.url },
        { cause: err },
      );
    }
    if (!res.ok)
      throw new SimulatorError(SimErrorCodes.INFLUX, `InfluxDB /query answered ${res.status}: ${(await res.text()).slice(0, 300)}`, {
        url: opts.url,
      });
    // chunked=true: one JSON document per line, each with part of the series.
    const text = await res.text();
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const doc = JSON.parse(line) as {
        results?: { error?: string; series?: { tags?: Row; columns: string[]; values: unknown[][] }[] }[];
        error?: string;
      };
      const err = doc.error ?? doc.results?.find((r) => r.error)?.error;
      if (err) throw new SimulatorError(SimErrorCodes.INFLUX, `InfluxDB query failed: ${err}`, { query: q });
      for (const series of doc.results?.[0]?.series ?? []) {
        for (const values of series.values) {
          const row: Row = { ...series.tags };
          series.columns.forEach((c, i) => {
            if (values[i] !== null) row[c] = values[i];
          });
          const body = rowToBody(kind, row);
          const stored = row as Stored<ReadingKind>;
          const gatewayId = String(stored.gateway ?? '');
          const sourceId = String(stored.source);
          yield { kind, pilotId: opts.pilotId, gatewayId, sourceId, topic: readingTopic(opts.pilotId, gatewayId, sourceId, kind), body };
        }
      }
    }
  }
}
