// The vehicles on the map: one HTML marker each (an arrow turned to the heading, coloured by
// autonomy mode, with the vehicle's name beside it), gliding from report to report with
// requestAnimationFrame and dimmed when its data is stale.
//
// HTML markers rather than a symbol layer: they need no glyphs or sprites (nothing is fetched),
// and a test or a screen reader can find them. They suit tens of vehicles; a fleet of thousands
// would move to a GeoJSON circle layer fed by the same snapshots.

import { Marker, type Map as MapLibreMap } from 'maplibre-gl';
import type { VehicleStatus } from '../api-types.js';
import { positionOf } from '../state-values.js';
import { pick, type Lang, type Translate } from '../i18n.js';
import { modeClass, modeLabelKey } from '../modes.js';
import { STALE_AFTER_MS } from '../staleness.js';
import { setAttr, setText } from '../views/dom.js';
import { markerElement, setMarkerStale } from './marker-element.js';
import { Glide, type Pose } from './motion.js';
import type { VehicleLayer } from './vehicle-layer.js';

export interface AnimationClock {
  now(): number;
  frame(callback: (timeMs: number) => void): number;
  cancel(handle: number): void;
}

const browserClock: AnimationClock = {
  now: () => performance.now(),
  frame: (cb) => requestAnimationFrame(cb),
  cancel: (handle) => cancelAnimationFrame(handle),
};

export interface VehicleMarkersOptions {
  onSelect: (vehicleId: string) => void;
  /** How long a marker takes to glide to a new report: the polling interval, so it never stops. */
  glideMs?: number;
  staleAfterMs?: number;
  clock?: AnimationClock;
}

const ARROW_SVG =
  '<svg viewBox="0 0 32 32" width="30" height="30" aria-hidden="true" focusable="false">' +
  '<circle cx="16" cy="16" r="13" class="vehicle-marker__disc"/>' +
  '<path d="M16 6.5 22.6 23.5 16 19.8 9.4 23.5Z" fill="#fff"/>' +
  '</svg>';

interface Entry {
  status: VehicleStatus;
  marker: Marker;
  root: HTMLElement;
  arrow: HTMLElement;
  label: HTMLElement;
  glide: Glide;
  lastTs: number;
}

function poseOf(status: VehicleStatus): Pose | null {
  const s = status.state;
  const at = positionOf(s);
  if (!s || !at) return null;
  return { lon: at[0], lat: at[1], heading: s.heading_deg !== null && Number.isFinite(s.heading_deg) ? s.heading_deg : 0 };
}

export class VehicleMarkers implements VehicleLayer {
  private readonly entries = new Map<string, Entry>();
  private readonly glideMs: number;
  private staleAfterMs: number;
  private readonly clock: AnimationClock;
  private frameHandle: number | null = null;
  private selectedId: string | null = null;
  private lang: Lang = 'ja';
  private t: Translate | null = null;

  constructor(
    private readonly map: MapLibreMap,
    private readonly options: VehicleMarkersOptions,
  ) {
    this.glideMs = options.glideMs ?? 1000;
    this.staleAfterMs = options.staleAfterMs ?? STALE_AFTER_MS;
    this.clock = options.clock ?? browserClock;
  }

  /** Takes a snapshot of /vehicles; `nowMs` is the wall clock, for staleness. */
  update(vehicles: readonly VehicleStatus[], nowMs: number, options: { jump?: boolean } = {}): void {
    const seen = new Set<string>();
    const t = this.clock.now();
    for (const status of vehicles) {
      const pose = poseOf(status);
      if (!pose) continue;
      seen.add(status.id);
      let entry = this.entries.get(status.id);
      if (!entry) {
        entry = this.create(status, pose);
        this.entries.set(status.id, entry);
      } else if (status.state!.ts_ms !== entry.lastTs) {
        // The first report after a gap (stale) jumps: gliding would invent a path never driven.
        if (options.jump || this.isStale(entry.status, nowMs)) entry.glide.jump(pose);
        else entry.glide.retarget(pose, t, this.glideMs);
      }
      entry.status = status;
      entry.lastTs = status.state!.ts_ms;
      this.decorate(entry, nowMs);
    }
    for (const [id, entry] of this.entries) {
      if (seen.has(id)) continue;
      entry.marker.remove();
      this.entries.delete(id);
    }
    this.animate();
  }

  /** Re-evaluates staleness without new data: called every second, so a silent vehicle dims. */
  refresh(nowMs: number): void {
    for (const entry of this.entries.values()) this.decorate(entry, nowMs);
  }

  setStaleAfter(ms: number, nowMs: number): void {
    this.staleAfterMs = ms;
    this.refresh(nowMs);
  }

  setLanguage(lang: Lang, t: Translate, nowMs: number): void {
    this.lang = lang;
    this.t = t;
    this.refresh(nowMs);
  }

  select(vehicleId: string | null): void {
    this.selectedId = vehicleId;
    for (const [id, entry] of this.entries) {
      entry.root.classList.toggle('is-selected', id === vehicleId);
      // Bring the selected vehicle above its neighbours at a busy stop.
      entry.root.style.zIndex = id === vehicleId ? '2' : '';
    }
  }

  /** Where the marker is drawn now, to fly the camera there. */
  position(vehicleId: string): [number, number] | null {
    const entry = this.entries.get(vehicleId);
    if (!entry) return null;
    const pose = entry.glide.target;
    return [pose.lon, pose.lat];
  }

  destroy(): void {
    if (this.frameHandle !== null) this.clock.cancel(this.frameHandle);
    this.frameHandle = null;
    for (const entry of this.entries.values()) entry.marker.remove();
    this.entries.clear();
  }

  private create(status: VehicleStatus, pose: Pose): Entry {
    const {
      root,
      icon: arrow,
      label,
    } = markerElement({
      name: 'vehicle',
      iconClass: 'vehicle-marker__arrow',
      svg: ARROW_SVG,
      data: { 'data-vehicle-id': status.id },
      select: () => this.options.onSelect(status.id),
    });
    // Sub-pixel positions: a bus at 20 km/h moves less than a pixel per frame at town zoom, and
    // whole-pixel rounding would turn the glide into a stutter.
    const marker = new Marker({ element: root, anchor: 'center', subpixelPositioning: true })
      .setLngLat([pose.lon, pose.lat])
      .addTo(this.map);
    const entry: Entry = { status, marker, root, arrow, label, glide: new Glide(pose), lastTs: status.state!.ts_ms };
    if (status.id === this.selectedId) root.classList.add('is-selected');
    this.place(entry, pose);
    return entry;
  }

  private isStale(status: VehicleStatus, nowMs: number): boolean {
    return !status.state || nowMs - status.state.ts_ms > this.staleAfterMs;
  }

  private decorate(entry: Entry, nowMs: number): void {
    const { status, root, label } = entry;
    const mode = status.state?.mode;
    const stale = this.isStale(status, nowMs);
    // classList, not className: MapLibre keeps its own maplibregl-marker classes on this element.
    const modeCls = `mode-${modeClass(mode)}`;
    for (const cls of [...root.classList]) if (cls.startsWith('mode-') && cls !== modeCls) root.classList.remove(cls);
    root.classList.add(modeCls);
    setMarkerStale(entry.marker, root, stale);
    root.classList.toggle('is-selected', status.id === this.selectedId);
    root.dataset.mode = mode ?? 'UNSPECIFIED';
    root.dataset.stale = String(stale);
    const name = pick(status.name, this.lang);
    setText(label, name);
    if (this.t) {
      const aria = `${name}: ${this.t(modeLabelKey(mode))}${stale ? ` (${this.t('vehicle.stale')})` : ''}`;
      setAttr(root, 'aria-label', aria);
    }
  }

  private place(entry: Entry, pose: Pose): void {
    entry.marker.setLngLat([pose.lon, pose.lat]);
    // Where the marker stands, for tests and tools that check it against the API (pixels depend
    // on the viewport; these do not).
    entry.root.dataset.lon = pose.lon.toFixed(7);
    entry.root.dataset.lat = pose.lat.toFixed(7);
    // The map never rotates (north up), so the heading is the screen angle.
    entry.arrow.style.transform = `rotate(${pose.heading.toFixed(1)}deg)`;
  }

  private animate(): void {
    if (this.frameHandle !== null) return;
    const step = () => {
      this.frameHandle = null;
      const t = this.clock.now();
      let moving = false;
      for (const entry of this.entries.values()) {
        this.place(entry, entry.glide.at(t));
        moving ||= entry.glide.moving(t);
      }
      // Stop asking for frames when nothing moves: an idle dashboard costs no CPU.
      if (moving) this.frameHandle = this.clock.frame(step);
    };
    this.frameHandle = this.clock.frame(step);
  }
}
