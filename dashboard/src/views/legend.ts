// The map legend: what each marker colour means, what dimmed means, and the map's own symbols
// (route, stop, cell site, roadside sensor, and the kinds of geofence this pilot has). A <details>
// element, so it folds away on a small screen without any script. While the 5G coverage layer is
// on, its bands and the choice of metric (RSRP, SINR, RTT) are here too.

import type { GeofenceKind, PilotDetail } from '../api.js';
import type { MessageKey, Translate } from '../i18n.js';
import { COVERAGE_BANDS, COVERAGE_METRICS, type CoverageMetric } from '../map/coverage.js';
import { GEOFENCE_COLORS, routeColor } from '../map/style.js';
import { LEGEND_MODES } from '../modes.js';
import { STALE_AFTER_MS } from '../staleness.js';
import { h } from './dom.js';

export interface LegendView {
  readonly element: HTMLElement;
  setPilot(pilot: PilotDetail | null): void;
  setLanguage(t: Translate): void;
  setCoverage(on: boolean): void;
  /** After how long without a reading a vehicle is dimmed: 10 s, plus the public delay for viewers. */
  setStaleAfter(ms: number): void;
  setCoverageMetric(metric: CoverageMetric): void;
  /** The H3 resolution the drawn cells are at (the API may answer coarser than asked), or null before any. */
  setCoverageResolution(res: number | null): void;
}

export interface LegendOptions {
  onCoverageMetric?: (metric: CoverageMetric) => void;
}

const GEOFENCE_ORDER: readonly GeofenceKind[] = ['operational', 'slow-zone', 'no-go'];

export function createLegend({ onCoverageMetric }: LegendOptions = {}): LegendView {
  const element = h('details', { class: 'legend', open: true, 'data-testid': 'legend' });
  let pilot: PilotDetail | null = null;
  let t: Translate = (key) => key;
  let coverage = false;
  let metric: CoverageMetric = 'rsrp';
  let resolution: number | null = null;
  let staleAfter = STALE_AFTER_MS;

  // Built once and updated in place, so the metric picker keeps keyboard focus while its choice redraws the bands.
  const coverageHeading = h('h3', { class: 'legend__heading', 'data-testid': 'coverage-title' });
  const metricLabel = h('label', { class: 'legend__field-label', for: 'coverage-metric' });
  const metricOptions = COVERAGE_METRICS.map((m) => h('option', { value: m }));
  const metricSelect = h('select', { id: 'coverage-metric', class: 'legend__select', 'data-testid': 'coverage-metric' }, ...metricOptions);
  metricSelect.addEventListener('change', () => onCoverageMetric?.(metricSelect.value as CoverageMetric));
  const coverageList = h('ul', { class: 'legend__list', 'data-testid': 'coverage-legend' });
  const resolutionNote = h('p', { class: 'legend__note', 'data-testid': 'coverage-resolution' });
  const coverageSection = h(
    'div',
    { class: 'legend__coverage' },
    coverageHeading,
    h('div', { class: 'legend__field' }, metricLabel, metricSelect),
    coverageList,
    resolutionNote,
  );

  const item = (swatch: HTMLElement, label: string) => h('li', { class: 'legend__item' }, swatch, h('span', {}, label));
  // CSSOM, not a style attribute: it stays allowed under a Content-Security-Policy without 'unsafe-inline'.
  const swatch = (cls: string, color: string) => {
    const el = h('span', { class: cls, 'aria-hidden': 'true' });
    el.style.setProperty('--swatch', color);
    return el;
  };
  const markerSwatch = (cls: string) => h('span', { class: `legend__marker mode-${cls}`, 'aria-hidden': 'true' });

  function renderCoverage(): void {
    coverageHeading.textContent = t(`coverage.title.${metric}`);
    metricLabel.textContent = t('coverage.metric');
    metricOptions.forEach((option, i) => (option.textContent = t(`coverage.metric.${COVERAGE_METRICS[i]!}`)));
    metricSelect.value = metric;
    coverageList.dataset.metric = metric;
    coverageList.replaceChildren(...COVERAGE_BANDS[metric].map((b) => item(swatch('legend__area', b.color), t(b.label))));
    resolutionNote.textContent = resolution === null ? '' : t('coverage.resolution', { res: String(resolution) });
    resolutionNote.hidden = resolution === null;
  }

  function render(): void {
    const modes = LEGEND_MODES.map(({ cls, label }) => item(markerSwatch(cls), t(label)));
    modes.push(
      item(
        h('span', { class: 'legend__marker mode-autonomous is-stale', 'aria-hidden': 'true' }),
        t('legend.stale', { s: String(Math.round(staleAfter / 1000)) }),
      ),
    );

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
        coverage ? coverageSection : null,
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
      renderCoverage();
      render();
    },
    setStaleAfter(ms) {
      if (ms === staleAfter) return;
      staleAfter = ms;
      render();
    },
    setCoverage(on) {
      coverage = on;
      renderCoverage();
      render();
    },
    setCoverageMetric(next) {
      metric = next;
      renderCoverage();
    },
    setCoverageResolution(res) {
      resolution = res;
      renderCoverage();
    },
  };
}
