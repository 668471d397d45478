// The roadside sensors on the map: one HTML marker each at the position the pilot definition
// gives, a dark rounded square with a sensing glyph (nothing like the vehicles' coloured discs
// with arrows), dimmed when its latest reading is stale. Sensors do not move, so there is no
// animation; the latest readings only change the dimming and the name read out.
//
// HTML markers, as the vehicles': focusable buttons a keyboard, a screen reader or a test can
// find. A pilot has a handful of sensors; the name shows on hover, focus and selection only,
// because the sensors of one intersection stand a few metres apart and permanent labels would
// cover each other.

import { Marker, type Map as MapLibreMap } from 'maplibre-gl';
import type { PilotSensor, SensorStatus } from '../api-types.js';
import { pick, type Lang, type Translate } from '../i18n.js';
import { setAttr, setText } from '../views/dom.js';
import { isSensorStale, sensorKindLabel } from '../views/sensor-readings.js';
import { markerElement, setMarkerStale } from './marker-element.js';

const SENSOR_SVG =
  '<svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false">' +
  '<rect x="2" y="2" width="20" height="20" rx="5" class="sensor-marker__body"/>' +
  '<circle cx="12" cy="12" r="2.2" fill="#fff"/>' +
  '<path d="M8.4 8.4a5.1 5.1 0 0 0 0 7.2M15.6 8.4a5.1 5.1 0 0 1 0 7.2" fill="none" stroke="#fff" stroke-width="1.8" stroke-linecap="round"/>' +
  '</svg>';

interface Entry {
  sensor: PilotSensor;
  latest: SensorStatus['latest'];
  marker: Marker;
  root: HTMLElement;
  label: HTMLElement;
}

export class SensorMarkers {
  private readonly entries = new Map<string, Entry>();
  private selectedId: string | null = null;
  private lang: Lang = 'ja';
  private t: Translate | null = null;
  private nowMs = 0;

  constructor(
    private readonly map: MapLibreMap,
    private readonly onSelect: (sensorId: string) => void,
  ) {}

  /** The pilot's sensors, drawn at once (before any reading): where they stand is in the definition. */
  setSensors(sensors: readonly PilotSensor[]): void {
    this.destroy();
    for (const sensor of sensors) this.entries.set(sensor.id, this.create(sensor));
  }

  update(statuses: readonly SensorStatus[], nowMs: number): void {
    for (const status of statuses) {
      const entry = this.entries.get(status.id);
      if (entry) entry.latest = status.latest;
    }
    this.refresh(nowMs);
  }

  /** Re-evaluates staleness without new data. */
  refresh(nowMs: number): void {
    this.nowMs = nowMs;
    for (const entry of this.entries.values()) this.decorate(entry);
  }

  setLanguage(lang: Lang, t: Translate, nowMs: number): void {
    this.lang = lang;
    this.t = t;
    this.refresh(nowMs);
  }

  select(sensorId: string | null): void {
    this.selectedId = sensorId;
    for (const entry of this.entries.values()) this.decorate(entry);
  }

  position(sensorId: string): [number, number] | null {
    return this.entries.get(sensorId)?.sensor.position ?? null;
  }

  destroy(): void {
    for (const entry of this.entries.values()) entry.marker.remove();
    this.entries.clear();
  }

  private create(sensor: PilotSensor): Entry {
    const { root, label } = markerElement({
      name: 'sensor',
      iconClass: 'sensor-marker__icon',
      svg: SENSOR_SVG,
      data: {
        'data-sensor-id': sensor.id,
        'data-kind': sensor.kind,
        'data-lon': sensor.position[0].toFixed(7),
        'data-lat': sensor.position[1].toFixed(7),
      },
      select: () => this.onSelect(sensor.id),
    });
    const marker = new Marker({ element: root, anchor: 'center' }).setLngLat(sensor.position).addTo(this.map);
    const entry: Entry = { sensor, latest: null, marker, root, label };
    this.decorate(entry);
    return entry;
  }

  private decorate(entry: Entry): void {
    const { sensor, root, label } = entry;
    const stale = entry.latest ? isSensorStale(entry.latest, this.nowMs) : false;
    setMarkerStale(entry.marker, root, stale);
    root.classList.toggle('is-selected', sensor.id === this.selectedId);
    const name = pick(sensor.name, this.lang);
    setText(label, name);
    if (this.t) {
      const aria = `${this.t('sensor.marker', { name, kind: sensorKindLabel(sensor.kind, this.t) })}${stale ? ` (${this.t('sensor.stale')})` : ''}`;
      setAttr(root, 'aria-label', aria);
    }
  }
}
