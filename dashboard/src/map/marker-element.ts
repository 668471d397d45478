// What the vehicle and sensor markers' elements share: each is a button on the map (role="button",
// focusable), and a stale one is dimmed through MapLibre's own opacity setter.

import type { Marker } from 'maplibre-gl';
import { h } from '../views/dom.js';

/** How faint a marker is drawn once it is stale (vehicles and sensors alike). */
const STALE_MARKER_OPACITY = '0.45';

/**
 * A marker's element `<name>-marker`: an icon (`svg`, one of ours, in `iconClass`) and a text label,
 * a button on the map: focusable, and a click, Enter or Space calls `select` without reaching the map beneath.
 */
export function markerElement(o: {
  name: 'vehicle' | 'sensor';
  iconClass: string;
  svg: string;
  data: Record<string, string>;
  select: () => void;
}): { root: HTMLElement; icon: HTMLElement; label: HTMLElement } {
  const icon = h('div', { class: o.iconClass });
  icon.innerHTML = o.svg;
  const label = h('div', { class: `${o.name}-marker__label` });
  const root = h(
    'div',
    { class: `${o.name}-marker`, 'data-testid': `${o.name}-marker`, ...o.data, role: 'button', tabindex: 0 },
    icon,
    label,
  );
  const activate = (event: Event) => {
    event.stopPropagation();
    o.select();
  };
  root.addEventListener('click', activate);
  root.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      activate(event);
    }
  });
  return { root, icon, label };
}

/**
 * Marks the element stale or not. MapLibre writes the marker element's inline opacity itself,
 * which beats any stylesheet rule: the dimming goes through its own setter. classList, not
 * className: MapLibre keeps its own maplibregl-marker classes on the element.
 */
export function setMarkerStale(marker: Marker, root: HTMLElement, stale: boolean): void {
  if (root.classList.contains('is-stale') !== stale) marker.setOpacity(stale ? STALE_MARKER_OPACITY : '1');
  root.classList.toggle('is-stale', stale);
}
