// Vehicles of a large fleet as one GeoJSON circle layer, coloured by mode, dimmed when stale.
// The data is handed to MapLibre at most once a second (its worker does the tiling), so a
// thousand vehicles at 1 Hz cost the main thread one setData per second, not a DOM per vehicle.

import type { GeoJSONSource, Map as MapLibreMap, MapLayerMouseEvent } from 'maplibre-gl';
import type { FeatureCollection, Point } from 'geojson';
import type { VehicleStatus } from '../api-types.js';
import { positionOf } from '../state-values.js';
import { MODE_COLORS, modeClass } from '../modes.js';
import { STALE_AFTER_MS } from '../staleness.js';
import { LAYER, SOURCE } from './style.js';
import type { VehicleLayer } from './vehicle-layer.js';

export const DOTS_MIN_INTERVAL_MS = 1000;

export class VehicleDots implements VehicleLayer {
  private vehicles: readonly VehicleStatus[] = [];
  private selected: string | null = null;
  private nowMs = 0;
  private lastPush = -Infinity;
  private lastStale = 0;
  private staleAfterMs = STALE_AFTER_MS;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly onClick: (event: MapLayerMouseEvent) => void;

  constructor(
    private readonly map: MapLibreMap,
    private readonly options: { onSelect: (vehicleId: string) => void },
  ) {
    this.onClick = (event) => {
      const id = event.features?.[0]?.properties?.['id'];
      if (typeof id === 'string') this.options.onSelect(id);
    };
    map.on('click', LAYER.vehicleDots, this.onClick);
  }

  update(vehicles: readonly VehicleStatus[], nowMs: number, options: { jump?: boolean } = {}): void {
    this.vehicles = vehicles;
    this.nowMs = nowMs;
    this.schedule(options.jump === true);
  }

  refresh(nowMs: number): void {
    this.nowMs = nowMs;
    // Redraw only when a vehicle went stale (or came back): every setData costs a map repaint.
    const staleNow = this.staleCount();
    if (staleNow !== this.lastStale) this.schedule(false);
  }

  setStaleAfter(ms: number, nowMs: number): void {
    if (ms === this.staleAfterMs) return;
    this.staleAfterMs = ms;
    this.nowMs = nowMs;
    this.schedule(true);
  }

  private staleCount(): number {
    let n = 0;
    for (const v of this.vehicles) if (v.state && this.nowMs - v.state.ts_ms > this.staleAfterMs) n += 1;
    return n;
  }

  setLanguage(): void {
    // Dots carry no text.
  }

  select(vehicleId: string | null): void {
    this.selected = vehicleId;
    this.schedule(true);
  }

  position(vehicleId: string): [number, number] | null {
    return positionOf(this.vehicles.find((v) => v.id === vehicleId)?.state);
  }

  destroy(): void {
    if (this.timer) clearTimeout(this.timer);
    this.map.off('click', LAYER.vehicleDots, this.onClick);
    this.push([]);
  }

  private schedule(now: boolean): void {
    const wait = now ? 0 : DOTS_MIN_INTERVAL_MS - (performance.now() - this.lastPush);
    if (wait <= 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.push(this.vehicles);
    } else {
      this.timer ??= setTimeout(() => {
        this.timer = null;
        this.push(this.vehicles);
      }, wait);
    }
  }

  private push(vehicles: readonly VehicleStatus[]): void {
    this.lastPush = performance.now();
    this.lastStale = this.staleCount();
    const features: FeatureCollection<Point>['features'] = [];
    for (const v of vehicles) {
      const s = v.state;
      const at = positionOf(s);
      if (!s || !at) continue;
      features.push({
        type: 'Feature',
        geometry: { type: 'Point', coordinates: at },
        properties: {
          id: v.id,
          color: MODE_COLORS[modeClass(s.mode)],
          stale: this.nowMs - s.ts_ms > this.staleAfterMs,
          selected: v.id === this.selected,
        },
      });
    }
    (this.map.getSource(SOURCE.vehicleDots) as GeoJSONSource | undefined)?.setData({ type: 'FeatureCollection', features });
  }
}
