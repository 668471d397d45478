// Short trails behind the vehicles: the last minute of positions, one line each, coloured by
// the vehicle's current mode. Live, positions are gathered from the feed; in replay the timeline
// hands over whole lines. Pushed to MapLibre at most once a second (live) or per replay frame.

import type { GeoJSONSource, Map as MapLibreMap } from 'maplibre-gl';
import type { FeatureCollection, LineString } from 'geojson';
import type { VehicleStatus } from '../api-types.js';
import { positionOf } from '../state-values.js';
import { MODE_COLORS, modeClass } from '../modes.js';
import { SOURCE } from './style.js';

export const TRAIL_WINDOW_MS = 60_000;

interface Trail {
  points: { ts: number; lon: number; lat: number }[];
  mode: string | null;
}

export class Trails {
  private readonly trails = new Map<string, Trail>();
  private lastPush = -Infinity;

  constructor(
    private readonly map: MapLibreMap,
    private readonly windowMs = TRAIL_WINDOW_MS,
    /** Large fleets get no trails: a thousand lines a second would cost more than they tell. */
    private readonly enabled = true,
  ) {}

  /** Adds the latest live positions (a vehicle's point once per source timestamp). */
  addLive(vehicles: readonly VehicleStatus[]): void {
    if (!this.enabled) return;
    for (const v of vehicles) {
      const s = v.state;
      const at = positionOf(s);
      if (!s || !at) continue;
      let trail = this.trails.get(v.id);
      if (!trail) {
        trail = { points: [], mode: s.mode };
        this.trails.set(v.id, trail);
      }
      trail.mode = s.mode;
      const last = trail.points[trail.points.length - 1];
      if (last && last.ts >= s.ts_ms) continue;
      trail.points.push({ ts: s.ts_ms, lon: at[0], lat: at[1] });
      const cutoff = s.ts_ms - this.windowMs;
      while (trail.points.length > 0 && trail.points[0]!.ts < cutoff) trail.points.shift();
    }
    if (performance.now() - this.lastPush >= 1000) this.push();
  }

  /** Replaces every trail (replay): id → line and mode. */
  setLines(lines: ReadonlyMap<string, { coordinates: [number, number][]; mode: string | null }>): void {
    if (!this.enabled) return;
    this.trails.clear();
    for (const [id, line] of lines) {
      this.trails.set(id, { points: line.coordinates.map(([lon, lat]) => ({ ts: 0, lon, lat })), mode: line.mode });
    }
    this.push();
  }

  clear(): void {
    this.trails.clear();
    this.push();
  }

  private push(): void {
    this.lastPush = performance.now();
    const features: FeatureCollection<LineString>['features'] = [];
    for (const [id, trail] of this.trails) {
      if (trail.points.length < 2) continue;
      features.push({
        type: 'Feature',
        geometry: { type: 'LineString', coordinates: trail.points.map((p) => [p.lon, p.lat]) },
        properties: { id, color: MODE_COLORS[modeClass(trail.mode)] },
      });
    }
    (this.map.getSource(SOURCE.trails) as GeoJSONSource | undefined)?.setData({ type: 'FeatureCollection', features });
  }
}
