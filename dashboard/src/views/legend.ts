// The map legend: what each marker colour means, what dimmed means, and the map's own symbols
// (route, stop, cell site, roadside sensor, and the kinds of geofence this pilot has). A <details>
// element, so it folds away on a small screen without any script.

import type { GeofenceKind, PilotDetail } from '../api.js';
import type { MessageKey, Translate } from '../i18n.js';
import { RSRP_BANDS } from '../map/coverage.js';
import { GEOFENCE_COLORS, routeColor } from '../map/style.js';
import { LEGEND_MODES } from '../modes.js';
import { h } from './dom.js';

export interface LegendView {
  readonly element: HTMLElement;
  setPilot(pilot: PilotDetail | null): void;
  setLanguage(t: Translate): void;
  setCoverage(on: boolean): void;
}

const GEOFENCE_ORDER: readonly GeofenceKind[] = ['operational', 'slow-zone', 'no-go'];

export function createLegend(): LegendView {
  const element = h('details', { class: 'legend', open: true, 'data-testid': 'legend' });
  let pilot: PilotDetail | null = null;
  let t: Translate = (key) => key;
  let coverage = false;

  const item = (swatch: HTMLElement, label: string) => h('li', { class: 'legend__item' }, swatch, h('span', {}, label));
  // CSSOM, not a style attribute: it stays allowed under a Content-Security-Policy without 'unsafe-inline'.
  const swatch = (cls: string, color: string) => {
    const el = h('span', { class: cls, 'aria-hidden': 'true' });
    el.style.setProperty('--swatch', color);
    return el;
  };
  const markerSwatch = (cls: string) => h('span', { class: `legend__marker mode-${cls}`, 'aria-hidden': 'true' });

  function render(): void {
    const modes = LEGEND_MODES.map(({ cls, label }) => item(markerSwatch(cls), t(label)));
    modes.push(item(h('span', { class: 'legend__marker mode-autonomous is-stale', 'aria-hidden': 'true' }), t('legend.stale')));

    const map: HTMLElement[] = [];
    if (!pilot || pilot.routes.length > 0) {
      map.push(item(swatch('legend__line', routeColor(0)), t('legend.route')));
    }
    if (!pilot || pilot.stops.length > 0) {
      map.push(item(swatch('legend__stop', routeColor(0)), t('legend.stop')));
    }
    if (!pilot || pilot.cellSites.length > 0) {
      map.push(item(h('span', { class: 'legend__cell-site', 'aria-hidden': 'true' }), t('legend.cellSite')));
    }
    if (pilot && pilot.sensors.length > 0) {
      map.push(item(h('span', { class: 'legend__sensor', 'aria-hidden': 'true' }), t('legend.sensor')));
    }
    const kinds = new Set(pilot?.geofences.map((g) => g.kind) ?? []);
    for (const kind of GEOFENCE_ORDER) {
      if (!kinds.has(kind)) continue;
      map.push(item(swatch(`legend__area legend__area--${kind}`, GEOFENCE_COLORS[kind]), t(`geofence.${kind}` as MessageKey)));
    }

    element.replaceChildren(
      h('summary', { class: 'legend__title' }, t('legend.title')),
      h(
        'div',
        { class: 'legend__body' },
        h('h3', { class: 'legend__heading' }, t('legend.modes')),
        h('ul', { class: 'legend__list' }, ...modes),
        h('h3', { class: 'legend__heading' }, t('legend.map')),
        h('ul', { class: 'legend__list' }, ...map),
        coverage ? h('h3', { class: 'legend__heading' }, t('coverage.title')) : null,
        coverage
          ? h(
              'ul',
              { class: 'legend__list', 'data-testid': 'coverage-legend' },
              ...RSRP_BANDS.map((b) => item(swatch('legend__area', b.color), t(`coverage.${b.key}`))),
            )
          : null,
      ),
    );
  }

  return {
    element,
    setPilot(next) {
      pilot = next;
      render();
    },
    setLanguage(nextT) {
      t = nextT;
      render();
    },
    setCoverage(on) {
      coverage = on;
      render();
    },
  };
}
