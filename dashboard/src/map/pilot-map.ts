// The map of one pilot at a time: a MapLibre map whose style is built from the pilot definition,
// framed on its routes, north up, with hover tooltips. Vehicle markers live in vehicle-markers.ts.

import {
  Map as MapLibreMap,
  NavigationControl,
  ScaleControl,
  type ErrorEvent as MapErrorEvent,
  type GeoJSONSource,
  type LngLatBoundsLike,
} from 'maplibre-gl';
import type { CoverageCell, PilotDetail, TileSource } from '../api-types.js';
import type { Lang, Translate } from '../i18n.js';
import type { Viewport } from '../url-state.js';
import { coverageFeatures, type CoverageMetric } from './coverage.js';
import { attachFeatureTooltips, type TooltipAudience } from './feature-tooltips.js';
import { LAYER, pilotBounds, pilotStyle, SOURCE } from './style.js';
import { basemapOf } from './tiles.js';

/** Close enough to read a stop, far enough to see the vehicles around it. */
const FLY_TO_ZOOM = 16;
const FIT_PADDING_PX = 56;
const FIT_MAX_ZOOM = 17;

export interface PilotMapOptions {
  container: HTMLElement;
  pilot: PilotDetail;
  locale: () => { lang: Lang; t: Translate };
  onError: (error: unknown) => void;
  tiles?: TileSource | null;
  /** Where to look first (from a shared URL) instead of framing the routes. */
  view?: Viewport | null;
  /** Called after the user panned or zoomed (not during). */
  onViewChange?: (view: Viewport) => void;
  audience?: () => TooltipAudience;
}

export class PilotMap {
  readonly map: MapLibreMap;
  private readonly detachTooltips: () => void;
  private readonly tiles: TileSource | null;
  private coverageVisible = false;
  private coverageCells: readonly CoverageCell[] = [];
  private coverageMetric: CoverageMetric = 'rsrp';

  /** Throws when the browser has no WebGL: the caller shows that instead of a map. */
  constructor({ container, pilot, locale, onError, tiles = null, view = null, onViewChange, audience }: PilotMapOptions) {
    this.tiles = tiles;
    this.map = new MapLibreMap({
      container,
      style: pilotStyle(pilot, basemapOf(tiles?.type === 'style' ? null : tiles)),
      center: pilot.map.center,
      zoom: pilot.map.zoom,
      // North up: vehicle arrows then point along the heading without correcting for bearing,
      // and an operator's sense of the town does not turn with an accidental drag.
      dragRotate: false,
      pitchWithRotate: false,
      touchPitch: false,
      maxPitch: 0,
      attributionControl: { compact: true },
      // No cross-fade of re-tiled sources: trails and vehicle dots are re-set every second, and each
      // fade is ~18 more frames to draw (in software WebGL, most of the main thread's time).
      fadeDuration: 0,
    });
    this.map.touchZoomRotate.disableRotation();
    this.map.keyboard.disableRotation();
    this.map.addControl(new NavigationControl({ showCompass: false }), 'top-right');
    this.map.addControl(new ScaleControl({ unit: 'metric' }), 'bottom-right');
    // Without a listener MapLibre prints its errors to the console; route them to the app.
    this.map.on('error', (event: MapErrorEvent) => onError(event.error));
    this.detachTooltips = attachFeatureTooltips(this.map, locale, audience ?? (() => 'operator'));
    if (view) this.map.jumpTo({ center: [view.lon, view.lat], zoom: view.zoom });
    else this.frame(pilot, false);
    this.map.on('moveend', () => {
      const c = this.map.getCenter();
      onViewChange?.({ lon: c.lng, lat: c.lat, zoom: this.map.getZoom() });
    });
    // Layers filled at run time are re-filled whenever a style (re)loads.
    this.map.on('style.load', () => this.applyCoverage());
    if (tiles?.type === 'style') this.setStyle(pilot);
  }

  /** Switches to another pilot: a new style (sources and layers) and a new frame. */
  show(pilot: PilotDetail): void {
    this.coverageCells = [];
    this.setStyle(pilot);
    this.frame(pilot, false);
  }

  flyTo([lon, lat]: [number, number], zoom = FLY_TO_ZOOM): void {
    this.map.flyTo({ center: [lon, lat], zoom: Math.max(this.map.getZoom(), zoom) });
  }

  setCoverage(cells: readonly CoverageCell[]): void {
    this.coverageCells = cells;
    this.applyCoverage();
  }

  setCoverageMetric(metric: CoverageMetric): void {
    this.coverageMetric = metric;
    this.applyCoverage();
  }

  setCoverageVisible(visible: boolean): void {
    this.coverageVisible = visible;
    this.applyCoverage();
  }

  private applyCoverage(): void {
    if (!this.map.getLayer(LAYER.coverageFill)) return;
    const visibility = this.coverageVisible ? 'visible' : 'none';
    this.map.setLayoutProperty(LAYER.coverageFill, 'visibility', visibility);
    this.map.setLayoutProperty(LAYER.coverageOutline, 'visibility', visibility);
    const features = coverageFeatures(this.coverageCells, this.coverageMetric);
    (this.map.getSource(SOURCE.coverage) as GeoJSONSource | undefined)?.setData(features);
    // What the hexagons show, on the container: the canvas cannot be read back, a test and a person's devtools can read these.
    const data = this.map.getContainer().dataset;
    data.coverageMetric = this.coverageMetric;
    data.coverageCells = String(features.features.length);
    data.coverageColors = [...new Set(features.features.map((f) => String(f.properties?.['color'])))].sort().join(' ');
  }

  private setStyle(pilot: PilotDetail): void {
    if (this.tiles?.type === 'style') {
      // A whole base style from the deployment, with the pilot's own sources and layers on top.
      const own = pilotStyle(pilot);
      this.map.setStyle(this.tiles.url, {
        diff: false,
        transformStyle: (_previous, next) => ({
          ...next,
          sources: { ...next.sources, ...own.sources },
          layers: [...next.layers, ...own.layers.filter((l) => l.id !== LAYER.background)],
        }),
      });
    } else this.map.setStyle(pilotStyle(pilot, basemapOf(this.tiles)), { diff: false });
  }

  /** Frames the pilot's routes; without any, its configured centre and zoom. */
  frame(pilot: PilotDetail, animate = true): void {
    const bounds: LngLatBoundsLike | null = pilotBounds(pilot);
    if (!bounds) {
      this.map.jumpTo({ center: pilot.map.center, zoom: pilot.map.zoom });
      return;
    }
    const { clientWidth: w, clientHeight: h } = this.map.getContainer();
    // fitBounds refuses padding larger than the map; a small window gets a smaller margin.
    const padding = Math.max(0, Math.min(FIT_PADDING_PX, Math.floor(w / 4), Math.floor(h / 4)));
    this.map.fitBounds(bounds, { padding, maxZoom: FIT_MAX_ZOOM, duration: animate ? 600 : 0 });
  }

  resize(): void {
    this.map.resize();
  }

  destroy(): void {
    this.detachTooltips();
    this.map.remove();
  }
}
