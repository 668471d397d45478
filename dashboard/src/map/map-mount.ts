// The map and what is drawn on it per pilot: the MapLibre map is made once and shown each pilot;
// the vehicle layer, the trails and the sensor markers are made afresh for each. Without WebGL
// the map stays away for good and the lists still work.

import type { PilotDetail } from '../api-types.js';
import type { AppStateReader, AppStateWriter } from '../app-state.js';
import type { Lang, Translate } from '../i18n.js';
import type { ViewLocation } from '../url-state.js';
import type { TooltipAudience } from './feature-tooltips.js';
import { PilotMap } from './pilot-map.js';
import { SensorMarkers } from './sensor-markers.js';
import { Trails } from './trails.js';
import { createVehicleLayer, MARKER_LIMIT } from './vehicle-layer.js';

export interface MapMountDeps {
  state: AppStateReader;
  writer: AppStateWriter<'map-mount'>;
  container: HTMLElement;
  location: ViewLocation;
  locale: () => { lang: Lang; t: Translate };
  audience: () => TooltipAudience;
  now: () => number;
  reportError: (err: unknown) => void;
  /** The map could not be made (no WebGL). */
  onFailed: () => void;
  onViewChange: () => void;
  /** Gives a map shown for a pilot the coverage layer's metric and visibility. */
  onShown: (pilotMap: PilotMap) => void;
  onSelectVehicle: (id: string) => void;
  onSelectSensor: (id: string) => void;
}

export interface MapMount {
  mount(pilot: PilotDetail): void;
  destroy(): void;
}

export function createMapMount(deps: MapMountDeps): MapMount {
  const { state, writer, location, locale, now, reportError } = deps;
  let failed = false;

  function mount(next: PilotDetail): void {
    state.get('layer')?.destroy();
    writer.set('layer', null);
    writer.set('trails', null);
    state.get('sensorMarkers')?.destroy();
    writer.set('sensorMarkers', null);
    if (failed) return;
    let pilotMap = state.get('pilotMap');
    try {
      if (pilotMap) pilotMap.show(next);
      else {
        pilotMap = new PilotMap({
          container: deps.container,
          pilot: next,
          locale,
          onError: reportError,
          tiles: state.get('tiles'),
          view: location.get().view,
          onViewChange: (view) => {
            location.set({ view }, 'replace');
            deps.onViewChange();
          },
          audience: deps.audience,
        });
        writer.set('pilotMap', pilotMap);
      }
    } catch (err) {
      // No WebGL (an old machine, a locked-down browser): the list still works.
      failed = true;
      reportError(err);
      deps.onFailed();
      return;
    }
    deps.onShown(pilotMap);
    const { lang, t } = locale();
    const layer = createVehicleLayer(pilotMap.map, next.vehicles.length, deps.onSelectVehicle);
    writer.set('layer', layer);
    writer.set('trails', new Trails(pilotMap.map, undefined, next.vehicles.length <= MARKER_LIMIT));
    layer.setLanguage(lang, t, now());
    const sensorMarkers = new SensorMarkers(pilotMap.map, deps.onSelectSensor);
    writer.set('sensorMarkers', sensorMarkers);
    sensorMarkers.setSensors(next.sensors);
    sensorMarkers.setLanguage(lang, t, now());
  }

  return {
    mount,
    destroy() {
      state.get('layer')?.destroy();
      state.get('sensorMarkers')?.destroy();
      state.get('pilotMap')?.destroy();
    },
  };
}
