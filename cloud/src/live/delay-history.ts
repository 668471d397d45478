/**
 * What a viewer of a pilot with a public delay is shown: states as of now − delay, from a short
 * per-vehicle history kept while such a viewer is connected and dropped when the last one leaves.
 * The first such viewer's connection fills it with the last delay's states from InfluxDB, so the
 * delayed stream moves at once instead of after the delay.
 */
import type { Logger } from 'pino';
import type { Pilot } from '@michi/proto';
import type { InfluxQuery } from '../influx-query.js';
import type { VehicleSnapshot } from '../latest-state.js';
import { queryVehicleStatesBetween } from '../queries/latest-query.js';

/** A delay history keeps this much before now − delay (one snapshot at or before it, and all after). */
const HISTORY_SLACK_MS = 5_000;
/** Readings per vehicle per second at most that a delay history's fill from InfluxDB takes. */
const FILL_MAX_HZ = 20;

/**
 * Recent snapshots per vehicle of one pilot: enough to answer "as of now − delay". Only complete
 * since its first entry if fed without a gap: so it is fed while a delayed viewer is connected and
 * cleared when the last one leaves (an entry kept across a gap would be an old position passed off
 * as the delayed one).
 */
class DelayHistory {
  private readonly byVehicle = new Map<string, VehicleSnapshot[]>();
  constructor(readonly delayMs: number) {}

  add(vehicle: string, s: VehicleSnapshot, now: number): void {
    let list = this.byVehicle.get(vehicle);
    if (!list) this.byVehicle.set(vehicle, (list = []));
    list.push(s);
    this.prune(list, now);
  }

  /**
   * States read from InfluxDB, merged in source-time order with those `add`ed meanwhile (the cache
   * announces a reading before InfluxDB has it, so both may hold it: kept once).
   */
  fill(vehicle: string, states: readonly VehicleSnapshot[], now: number): void {
    const byTs = new Map<number, VehicleSnapshot>();
    for (const s of states) byTs.set(s.ts_ms, s);
    for (const s of this.byVehicle.get(vehicle) ?? []) byTs.set(s.ts_ms, s);
    const list = [...byTs.values()].sort((a, b) => a.ts_ms - b.ts_ms);
    if (list.length === 0) return;
    this.prune(list, now);
    this.byVehicle.set(vehicle, list);
  }

  /** Keeps one snapshot at or before the horizon (a little slack), and everything after it. */
  private prune(list: VehicleSnapshot[], now: number): void {
    const horizon = now - this.delayMs - HISTORY_SLACK_MS;
    let drop = 0;
    while (drop + 1 < list.length && list[drop + 1]!.ts_ms <= horizon) drop++;
    if (drop > 0) list.splice(0, drop);
  }

  at(vehicle: string, horizon: number): VehicleSnapshot | undefined {
    const list = this.byVehicle.get(vehicle);
    if (!list) return undefined;
    for (let i = list.length - 1; i >= 0; i--) if (list[i]!.ts_ms <= horizon) return list[i];
    return undefined;
  }

  clear(): void {
    this.byVehicle.clear();
  }
}

/** The delay histories of every pilot with a viewer delay, fed and filled while delayed viewers watch. */
export class DelayHistories {
  private readonly histories = new Map<string, DelayHistory>();
  /** pilot → open connections that see it delayed. */
  private readonly watchers = new Map<string, number>();
  /** pilot → the fill of its delay history from InfluxDB, while it is being fed (one per watch). */
  private readonly fills = new Map<string, Promise<void>>();

  constructor(
    /** pilot id → its viewers' delay (> 0). */
    delays: ReadonlyMap<string, number>,
    private readonly query: InfluxQuery,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {
    for (const [pilot, delayMs] of delays) this.histories.set(pilot, new DelayHistory(delayMs));
  }

  /** A reading arrived: kept only while someone watches the pilot delayed (it costs memory per vehicle). */
  add(pilot: string, vehicle: string, snapshot: VehicleSnapshot): void {
    if ((this.watchers.get(pilot) ?? 0) > 0) this.histories.get(pilot)?.add(vehicle, snapshot, this.now());
  }

  at(pilot: string, vehicle: string, horizon: number): VehicleSnapshot | undefined {
    return this.histories.get(pilot)?.at(vehicle, horizon);
  }

  /** A delayed viewer connected; resolves once the history holds the last delay's states (or could not). */
  watch(pilot: Pilot): Promise<void> {
    this.watchers.set(pilot.id, (this.watchers.get(pilot.id) ?? 0) + 1);
    const history = this.histories.get(pilot.id);
    return history ? this.fill(pilot, history) : Promise.resolve();
  }

  unwatch(pilot: string): void {
    const left = (this.watchers.get(pilot) ?? 1) - 1;
    if (left > 0) {
      this.watchers.set(pilot, left);
      return;
    }
    this.watchers.delete(pilot);
    // Not fed from now on: what it holds would be stale for the next delayed viewer, who fills it anew.
    this.histories.get(pilot)?.clear();
    this.fills.delete(pilot);
  }

  /**
   * The history of a pilot nobody watched delayed until now holds only what arrived since: without
   * the last delay's states it would have nothing as of now − delay for a whole delay, and the
   * viewer's map would stand still that long. So the first delayed viewer's connection reads them
   * from InfluxDB (once; later viewers wait for the same read). A failed read leaves the history as
   * the cache feeds it: the stream then starts after the delay.
   */
  private fill(pilot: Pilot, history: DelayHistory): Promise<void> {
    let fill = this.fills.get(pilot.id);
    if (fill) return fill;
    const now = this.now();
    const from = now - history.delayMs - HISTORY_SLACK_MS;
    const limit = Math.ceil(((history.delayMs + HISTORY_SLACK_MS) / 1000) * FILL_MAX_HZ);
    fill = queryVehicleStatesBetween(this.query, pilot.id, from, now, limit).then(
      (states) => {
        // The last delayed viewer left during the read: the history is no longer fed, nor filled.
        if (this.fills.get(pilot.id) !== fill) return;
        let n = 0;
        for (const [vehicle, list] of states) {
          history.fill(vehicle, list, this.now());
          n += list.length;
        }
        this.logger.debug({ pilot: pilot.id, states: n, from }, 'live feed delay history filled from InfluxDB');
      },
      (err: unknown) => {
        this.logger.warn({ err, pilot: pilot.id }, 'live feed delay history could not be filled from InfluxDB');
        // The next delayed viewer tries again.
        if (this.fills.get(pilot.id) === fill) this.fills.delete(pilot.id);
      },
    );
    this.fills.set(pilot.id, fill);
    return fill;
  }
}
