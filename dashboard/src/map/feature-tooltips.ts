// Hover tooltips for what the map draws as circles: 5G cell sites (id, PCI, band) and stops.
// HTML popups, because the style has no glyphs to draw text with.

import { Popup, type Map as MapLibreMap, type MapLayerMouseEvent } from 'maplibre-gl';
import type { Lang, Translate } from '../i18n.js';
import { h } from '../views/dom.js';
import { LAYER } from './style.js';

type Props = Record<string, unknown>;

/** Viewers (municipal staff, the public) see a cell site's name and band, not its radio identities. */
export type TooltipAudience = 'operator' | 'viewer';

function row(term: string, value: unknown): HTMLElement {
  return h('div', { class: 'map-tooltip__row' }, h('dt', {}, term), h('dd', {}, String(value ?? '')));
}

function cellSiteContent(p: Props, t: Translate, audience: TooltipAudience): HTMLElement {
  const rows =
    audience === 'operator'
      ? [row('ID', p.id), row(t('cellSite.pci'), p.pci), row(t('cellSite.band'), p.band), row(t('cellSite.cellId'), p.cellId)]
      : [row(t('cellSite.band'), p.band)];
  return h(
    'div',
    { 'data-testid': 'cell-site-tooltip' },
    h('div', { class: 'map-tooltip__kind' }, t('cellSite.title')),
    h('div', { class: 'map-tooltip__title' }, String(p.name ?? p.id ?? '')),
    h('dl', {}, ...rows),
  );
}

function stopContent(p: Props, t: Translate, lang: Lang): HTMLElement {
  return h(
    'div',
    { 'data-testid': 'stop-tooltip' },
    h('div', { class: 'map-tooltip__kind' }, t('stop.title')),
    h('div', { class: 'map-tooltip__title' }, String(p[`name_${lang}`] ?? p.id ?? '')),
  );
}

/** Wires the tooltips to `map`; `locale()` is read at hover time, so a language switch applies at once. */
export function attachFeatureTooltips(
  map: MapLibreMap,
  locale: () => { lang: Lang; t: Translate },
  audience: () => TooltipAudience = () => 'operator',
): () => void {
  const popup = new Popup({ closeButton: false, closeOnClick: false, offset: 14, className: 'map-tooltip', maxWidth: '260px' });
  const targets: { layer: string; content: (p: Props) => HTMLElement }[] = [
    { layer: LAYER.cellSiteRing, content: (p) => cellSiteContent(p, locale().t, audience()) },
    { layer: LAYER.stops, content: (p) => stopContent(p, locale().t, locale().lang) },
  ];
  const detach: (() => void)[] = [];
  for (const { layer, content } of targets) {
    const onMove = (event: MapLayerMouseEvent) => {
      const feature = event.features?.[0];
      if (!feature) return;
      map.getCanvas().style.cursor = 'pointer';
      if (feature.geometry.type !== 'Point') return;
      const [lon = 0, lat = 0] = feature.geometry.coordinates;
      popup
        .setLngLat([lon, lat])
        .setDOMContent(content(feature.properties as Props))
        .addTo(map);
    };
    const onLeave = () => {
      map.getCanvas().style.cursor = '';
      popup.remove();
    };
    map.on('mousemove', layer, onMove);
    map.on('mouseleave', layer, onLeave);
    detach.push(() => {
      map.off('mousemove', layer, onMove);
      map.off('mouseleave', layer, onLeave);
    });
  }
  return () => {
    for (const off of detach) off();
    popup.remove();
  };
}
