// The map of one pilot at a time: a MapLibre map whose style is built from the pilot definition,
// framed on its routes, north up, with hover tooltips. Vehicle markers live in vehicle-markers.ts.

import { Map as MapLibreMap, NavigationControl, ScaleControl, type ErrorEvent as MapErrorEvent, type LngLatBoundsLike } from 'maplibre-gl';
import type { PilotDetail } from '../api.js';
import type { Lang, Translate } from '../i18n.js';
import { attachFeatureTooltips } from './feature-tooltips.js';
import { pilotBounds, pilotStyle } from './style.js';

/** Close enough to read a stop, far enough to see the vehicles around it. */
const FLY_TO_ZOOM = 17;
const FIT_PADDING_PX = 56;
const FIT_MAX_ZOOM = 17;

export interface PilotMapOptions {
  container: HTMLElement;
  pilot: PilotDetail;
  locale: () => { lang: Lang; t: Translate };
  onError: (error: unknown) => void;
}

export class PilotMap {
  readonly map: MapLibreMap;
  private readonly detachTooltips: () => void;

  /** Throws when the browser has no WebGL: the caller shows that instead of a map. */
  constructor({ container, pilot, locale, onError }: PilotMapOptions) {
    this.map = new MapLibreMap({
      container,
      style: pilotStyle(pilot),
      center: pilot.map.center,
      zoom: pilot.map.zoom,
      // North up: vehicle arrows then point along the heading without correcting for bearing,
      // and an operator's sense of the town does not turn with an accidental drag.
      dragRotate: false,
      pitchWithRotate: false,
      touchPitch: false,
      maxPitch: 0,
      attributionControl: { compact: true },
    });
    this.map.touchZoomRotate.disableRotation();
    this.map.keyboard.disableRotation();
    this.map.addControl(new NavigationControl({ showCompass: false }), 'top-right');
    this.map.addControl(new ScaleControl({ unit: 'metric' }), 'bottom-right');
    // Without a listener MapLibre prints its errors to the console; route them to the app.
    this.map.on('error', (event: MapErrorEvent) => onError(event.error));
    this.detachTooltips = attachFeatureTooltips(this.map, locale);
    this.frame(pilot, false);
  }

  /** Switches to another pilot: a new style (sources and layers) and a new frame. */
  show(pilot: PilotDetail): void {
    this.map.setStyle(pilotStyle(pilot), { diff: false });
    this.frame(pilot, false);
  }

  flyTo([lon, lat]: [number, number]): void {
    this.map.flyTo({ center: [lon, lat], zoom: Math.max(this.map.getZoom(), FLY_TO_ZOOM) });
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
