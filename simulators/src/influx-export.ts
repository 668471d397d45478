/**
 * Reads a pilot's readings over a time range back out of InfluxDB (v1 HTTP API, InfluxQL), as
 * michi.v1 bodies, so a day of a real pilot can be recorded to MCAP like a simulated one. The
 * mapping is the inverse of the cloud's (docs/storage.md): the measurement is the kind, `source`
 * and `cell` are tags, `sig.*`, `count.*` and `measure.*` fields are the maps, enum values are
 * stored by name without their prefix.
 */
import { v1, readingTopic, type ReadingBodyProperties, type ReadingKind } from '@michi/proto';
import { SimErrorCodes, SimulatorError } from './errors.js';
import type { SimReading } from './fleet.js';

/** Measurement of each kind, as docs/storage.md defines them. */
const MEASUREMENT: Readonly<Record<ReadingKind, string>> = {
  state: 'vehicle_state',
  link: 'link_sample',
  sensor: 'sensor_reading',
  event: 'event',
};

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
function position(row: Row): { lat: number; lon: number; alt_m: number; accuracy_m: number } | undefined {
  const lat = num(row['lat']);
  const lon = num(row['lon']);
  if (lat === undefined || lon === undefined) return undefined;
  return { lat, lon, alt_m: num(row['alt_m']) ?? 0, accuracy_m: num(row['accuracy_m']) ?? 0 };
}
function prefixed(row: Row, prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(row)) if (k.startsWith(prefix) && typeof v === 'number') out[k.slice(prefix.length)] = v;
  return out;
}

/** One stored point back as a reading body. */
export function rowToBody(kind: ReadingKind, row: Row): ReadingBodyProperties {
  const common = { source_id: String(row['source']), ts_ms: Number(row['time']), seq: num(row['seq']) ?? 0 };
  const pos = position(row);
  switch (kind) {
    // The schema's optional measurements (telemetry.proto) that were not stored stay absent (null),
    // so a replay does not turn "not measured" into 0.
    case 'state':
      return {
        ...common,
        ...(pos ? { position: pos } : {}),
        speed_mps: num(row['speed_mps']) ?? 0,
        heading_deg: num(row['heading_deg']) ?? 0,
        accel_mps2: num(row['accel_mps2']) ?? 0,
        mode: enumValue(v1.AutonomyMode, 'AUTONOMY_MODE_', row['mode']),
        odometer_m: num(row['odometer_m']) ?? null,
        battery_pct: num(row['battery_pct']) ?? null,
        signals: prefixed(row, 'sig.'),
      };
    case 'link':
      return {
        ...common,
        ...(pos ? { position: pos } : {}),
        cell_id: str(row['cell']) ?? '',
        pci: num(row['pci']) ?? null,
        band: str(row['band']) ?? '',
        rsrp_dbm: num(row['rsrp_dbm']) ?? null,
        rsrq_db: num(row['rsrq_db']) ?? null,
        sinr_db: num(row['sinr_db']) ?? null,
        rtt_ms: num(row['rtt_ms']) ?? null,
        ul_mbps: num(row['ul_mbps']) ?? null,
        dl_mbps: num(row['dl_mbps']) ?? null,
        slice: str(row['slice']) ?? '',
        handover: row['handover'] === true,
      };
    case 'sensor':
      return {
        ...common,
        sensor_kind: enumValue(v1.SensorKind, 'SENSOR_KIND_', row['sensor_kind']),
        counts: prefixed(row, 'count.'),
        measures: prefixed(row, 'measure.'),
      };
    case 'event':
      return {
        ...common,
        ...(pos ? { position: pos } : {}),
        type: enumValue(v1.EventType, 'EVENT_TYPE_', row['type']),
        cause: enumValue(v1.EventCause, 'EVENT_CAUSE_', row['cause']),
        severity: enumValue(v1.Severity, 'SEVERITY_', row['severity']),
        geofence_id: str(row['geofence_id']) ?? '',
        detail: str(row['detail']) ?? '',
        duration_ms: num(row['duration_ms']) ?? 0,
      };
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
      `SELECT * FROM "${MEASUREMENT[kind]}" WHERE pilot = ${quote(opts.pilotId)} ` +
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
          const gatewayId = String(row['gateway'] ?? '');
          const sourceId = String(row['source']);
          yield { kind, pilotId: opts.pilotId, gatewayId, sourceId, topic: readingTopic(opts.pilotId, gatewayId, sourceId, kind), body };
        }
      }
    }
  }
}
