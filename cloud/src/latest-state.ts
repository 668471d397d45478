/**
 * The latest VehicleState and the latest LinkSample (5G link quality) of every seeded vehicle, in
 * memory, for the API's "where is everything now" and the live feed (onChange, states only).
 * Bounded: only (pilot, vehicle) pairs from the pilot definitions have a slot. Updated by ingest
 * as soon as a batch is validated (before its InfluxDB write, so the live feed does not wait for
 * it), and rebuilt from InfluxDB at start-up, so a restart does not empty the map. Only a newer
 * source timestamp replaces a slot: a batch resent after a failed write, a replayed backlog or a
 * reading that arrives late never moves a vehicle back, nor pushes the same state twice.
 */
import type { Logger } from 'pino';
import { MEASUREMENTS, type LinkSample, type LinkSampleView, type Pilot, type VehicleState } from '@michi/proto';
import { float32Value, modeName } from './line-protocol.js';
import { quoteIdentifier, quoteLiteral, type InfluxQuery, type InfluxRow } from './influx-query.js';

/** What the API shows of a vehicle's latest state; numbers as stored in InfluxDB. */
export interface VehicleSnapshot {
  ts_ms: number;
  recv_ms: number | null;
  seq: number | null;
  lat: number | null;
  lon: number | null;
  speed_mps: number | null;
  heading_deg: number | null;
  /** AutonomyMode without its prefix, e.g. "AUTONOMOUS". */
  mode: string | null;
  battery_pct: number | null;
  odometer_m: number | null;
  gateway: string | null;
}

/** What the API shows of a vehicle's latest link sample (@michi/proto LinkSampleView); numbers as stored in InfluxDB. */
export type LinkSnapshot = LinkSampleView;

function float32(v: number | null | undefined): number | null {
  return v === null || v === undefined || !Number.isFinite(v) ? null : float32Value(v);
}

export function snapshotFromState(state: VehicleState, recvMs: number, gateway: string): VehicleSnapshot {
  const p = state.position;
  return {
    ts_ms: Number(state.ts_ms),
    recv_ms: recvMs,
    seq: Number(state.seq ?? 0),
    lat: p ? (p.lat ?? 0) : null,
    lon: p ? (p.lon ?? 0) : null,
    speed_mps: float32(state.speed_mps ?? 0),
    heading_deg: float32(state.heading_deg ?? 0),
    mode: modeName(state.mode),
    // Optional in the schema: absent stays null, never 0.
    battery_pct: float32(state.battery_pct),
    odometer_m: state.odometer_m ?? null,
    gateway,
  };
}

export function linkFromSample(link: LinkSample): LinkSnapshot {
  return {
    ts_ms: Number(link.ts_ms),
    cell: link.cell_id || null,
    pci: link.pci ?? null,
    band: link.band || null,
    rsrp_dbm: link.rsrp_dbm ? float32(link.rsrp_dbm) : null,
    // Optional in the schema: a figure the modem did not report stays null, never 0.
    sinr_db: float32(link.sinr_db),
    rtt_ms: float32(link.rtt_ms),
  };
}

function num(v: unknown): number | null {
  return typeof v === 'number' ? v : null;
}

export function snapshotFromRow(row: InfluxRow): VehicleSnapshot {
  return {
    ts_ms: row.time,
    recv_ms: num(row['recv_ms']),
    seq: num(row['seq']),
    lat: num(row['lat']),
    lon: num(row['lon']),
    speed_mps: num(row['speed_mps']),
    heading_deg: num(row['heading_deg']),
    mode: typeof row['mode'] === 'string' ? row['mode'] : null,
    battery_pct: num(row['battery_pct']),
    odometer_m: num(row['odometer_m']),
    gateway: typeof row['gateway'] === 'string' ? row['gateway'] : null,
  };
}

export function linkFromRow(row: InfluxRow): LinkSnapshot {
  const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
  return {
    ts_ms: row.time,
    cell: str(row['cell']),
    pci: num(row['pci']),
    band: str(row['band']),
    rsrp_dbm: num(row['rsrp_dbm']),
    sinr_db: num(row['sinr_db']),
    rtt_ms: num(row['rtt_ms']),
  };
}

/** Called after a vehicle's snapshot changed (the live feed listens). Must not throw. */
export type LatestStateListener = (pilot: string, vehicle: string, snapshot: VehicleSnapshot) => void;

export class LatestState {
  /** pilot → vehicle id → snapshot (null until the first reading); the key set never grows. */
  private readonly byPilot = new Map<string, Map<string, VehicleSnapshot | null>>();
  /** pilot → vehicle id → latest link sample (null until the first); the same key set as byPilot. */
  private readonly linksByPilot = new Map<string, Map<string, LinkSnapshot | null>>();
  private readonly listeners = new Set<LatestStateListener>();

  constructor(pilots: readonly Pilot[]) {
    for (const pilot of pilots) {
      this.byPilot.set(pilot.id, new Map(pilot.vehicles.map((v) => [v.id, null])));
      this.linksByPilot.set(pilot.id, new Map(pilot.vehicles.map((v) => [v.id, null])));
    }
  }

  /**
   * Keeps the newer reading by source timestamp: a replayed backlog must not move a vehicle back.
   * The same timestamp is the same reading (its identity, docs/storage.md), resent: kept as it is,
   * listeners are not called again.
   */
  update(pilot: string, source: string, snapshot: VehicleSnapshot): boolean {
    const slots = this.byPilot.get(pilot);
    if (!slots?.has(source)) return false;
    const current = slots.get(source);
    if (current && current.ts_ms >= snapshot.ts_ms) return false;
    slots.set(source, snapshot);
    for (const listener of this.listeners) listener(pilot, source, snapshot);
    return true;
  }

  /** Subscribes to changes; returns the unsubscribe function. */
  onChange(listener: LatestStateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(pilot: string, source: string): VehicleSnapshot | null {
    return this.byPilot.get(pilot)?.get(source) ?? null;
  }

  /**
   * A vehicle's link sample, kept when it is newer by source timestamp than the one held. Sensors and unknown
   * sources have no slot. Listeners are not called: a link sample alone does not push a live update.
   */
  updateLink(pilot: string, source: string, link: LinkSnapshot): boolean {
    const slots = this.linksByPilot.get(pilot);
    if (!slots?.has(source)) return false;
    const current = slots.get(source);
    if (current && current.ts_ms >= link.ts_ms) return false;
    slots.set(source, link);
    return true;
  }

  getLink(pilot: string, source: string): LinkSnapshot | null {
    return this.linksByPilot.get(pilot)?.get(source) ?? null;
  }

  /**
   * The last point of every vehicle_state series. `ORDER BY time DESC LIMIT 1` per series rather
   * than `last(*)`: with several fields InfluxDB 1.x returns last(*) at time 0 and each field's
   * last value separately, which may mix two readings. Link samples likewise, grouped by pilot and
   * source only, so the newest sample over all of a vehicle's cells wins (`cell` comes back as a column).
   */
  async rebuild(query: InfluxQuery, log?: Logger): Promise<number> {
    const rows: InfluxRow[] = [];
    const linkRows: InfluxRow[] = [];
    // One request per InfluxDB server, for the pilots whose data it holds.
    for (const server of query.byServer([...this.byPilot.keys()])) {
      const where = server.pilots.map((p) => `${quoteIdentifier('pilot')} = ${quoteLiteral(p)}`).join(' OR ');
      const latestOf = (measurement: string): string =>
        `SELECT * FROM ${quoteIdentifier(measurement)} WHERE ${where} GROUP BY ${quoteIdentifier('pilot')}, ${quoteIdentifier('source')} ORDER BY time DESC LIMIT 1`;
      const [states = [], links = []] = await server.query.rowsOfEach([latestOf(MEASUREMENTS.state), latestOf(MEASUREMENTS.link)]);
      rows.push(...states);
      linkRows.push(...links);
    }
    let restored = 0;
    for (const row of rows) {
      const pilot = row['pilot'];
      const source = row['source'];
      if (typeof pilot !== 'string' || typeof source !== 'string') continue;
      if (this.update(pilot, source, snapshotFromRow(row))) restored++;
    }
    let links = 0;
    for (const row of linkRows) {
      const pilot = row['pilot'];
      const source = row['source'];
      if (typeof pilot !== 'string' || typeof source !== 'string') continue;
      if (this.updateLink(pilot, source, linkFromRow(row))) links++;
    }
    log?.info({ restored, series: rows.length, links }, 'latest vehicle states and link samples rebuilt from InfluxDB');
    return restored;
  }
}
