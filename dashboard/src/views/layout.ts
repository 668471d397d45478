// The page's frame: header on top, the side panel and the map side by side, the replay bar under
// the map, the notice at the bottom. Regions are landmarks (header, aside, main, footer) for
// keyboard and screen-reader users.

import { h } from './dom.js';

export interface Layout {
  side: HTMLElement;
  mapArea: HTMLElement;
  mapContainer: HTMLElement;
}

export function createLayout(
  root: HTMLElement,
  parts: {
    header: HTMLElement;
    banner: HTMLElement;
    side: HTMLElement[];
    mapOverlays: HTMLElement[];
    below: HTMLElement[];
    footer: HTMLElement;
    dialogs: HTMLElement[];
  },
): Layout {
  const side = h('aside', { class: 'side-panel', 'data-testid': 'side-panel' });
  side.append(...parts.side);
  const mapContainer = h('div', { class: 'map', id: 'map', 'data-testid': 'map' });
  const mapArea = h('main', { class: 'map-area' }, mapContainer, ...parts.mapOverlays);
  const mainColumn = h('div', { class: 'main-column' }, mapArea, ...parts.below);
  root.replaceChildren(parts.header, parts.banner, h('div', { class: 'app-body' }, side, mainColumn), parts.footer, ...parts.dialogs);
  return { side, mapArea, mapContainer };
}
