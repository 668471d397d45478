// The 5G link samples behind the vehicle panel's link chart. Live: per vehicle, the last minutes,
// seeded from GET /links when the panel opens and extended from each state message's `state.link`
// (the vehicle's latest sample). Replay: the samples of the replay range, from GET /links.

import type { LinkPoint, LinkSampleView, VehicleStatus } from './api-types.js';

export class LiveLinkHistory {
  private readonly byVehicle = new Map<string, LinkPoint[]>();

  /** Keeps samples newer than now − windowMs. */
  constructor(private readonly windowMs: number) {}

  /** Appends each vehicle's latest sample when it is newer than the last one kept, and forgets old ones. */
  record(vehicles: readonly VehicleStatus[], now: number): void {
    const cutoff = now - this.windowMs;
    for (const v of vehicles) {
      const link = v.state?.link;
      if (!link) continue;
      let series = this.byVehicle.get(v.id);
      if (!series) this.byVehicle.set(v.id, (series = []));
      const last = series[series.length - 1];
      if (!last || last.ts_ms < link.ts_ms)
        series.push({ ts_ms: link.ts_ms, rsrp_dbm: link.rsrp_dbm, sinr_db: link.sinr_db, rtt_ms: link.rtt_ms });
      while (series.length && series[0]!.ts_ms < cutoff) series.shift();
    }
  }

  /** Puts the samples /links answered before the first one the live feed brought. */
  seed(vehicleId: string, points: readonly LinkPoint[]): void {
    const live = this.byVehicle.get(vehicleId) ?? [];
    const first = live[0]?.ts_ms ?? Infinity;
    this.byVehicle.set(vehicleId, [...points.filter((p) => p.ts_ms < first), ...live]);
  }

  of(vehicleId: string): readonly LinkPoint[] {
    return this.byVehicle.get(vehicleId) ?? [];
  }

  clear(): void {
    this.byVehicle.clear();
  }
}

/** The last point at or before `t` of points in time order, as the panel's text rows show it; null when none. */
export function linkAt(points: readonly LinkPoint[], t: number): LinkSampleView | null {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid]!.ts_ms <= t) lo = mid + 1;
    else hi = mid;
  }
  const p = points[lo - 1];
  // /links answers no cell, PCI or band: the panel shows none of them.
  return p ? { ts_ms: p.ts_ms, cell: null, pci: null, band: null, rsrp_dbm: p.rsrp_dbm, sinr_db: p.sinr_db, rtt_ms: p.rtt_ms } : null;
}
