// The panel of the selected vehicle, over the map: mode, speed, heading, battery, 5G link and a
// speed chart (the last minutes live; around the cursor in replay, with the cursor drawn).
// Viewers do not see the raw vehicle id.

import type { Role, VehicleState } from '../api-types.js';
import type { Formatters } from '../format.js';
import { isMessageKey, pick, type Lang, type Translate } from '../i18n.js';
import { modeClass, modeLabelKey } from '../modes.js';
import { lineChart, type SeriesPoint } from './charts.js';
import { createDetailShell } from './detail-shell.js';
import { h, setText } from './dom.js';

export interface VehicleDetailData {
  vehicle: { id: string; kind: string; name: { ja: string; en: string } };
  state: VehicleState | null;
  /** Speed in km/h over time. */
  speed: readonly SeriesPoint[];
  window: { from: number; to: number };
  cursor: number | null;
}

export interface VehicleDetailView {
  readonly element: HTMLElement;
  show(data: VehicleDetailData | null): void;
  setLanguage(lang: Lang, t: Translate, fmt: Formatters, timeZone: string): void;
  setRole(role: Role): void;
}

export function createVehicleDetail({ onClose }: { onClose: () => void }): VehicleDetailView {
  const { element, title, close, body } = createDetailShell('vehicle', onClose);
  let data: VehicleDetailData | null = null;
  let lang: Lang = 'ja';
  let t: Translate = (k) => k;
  let fmt: Formatters | null = null;
  let zone = 'Asia/Tokyo';
  let role: Role = 'viewer';

  const row = (term: string, value: Node | string, testid?: string) =>
    h('div', { class: 'detail__row' }, h('dt', {}, term), h('dd', testid ? { 'data-testid': testid } : {}, value));

  function render(): void {
    element.hidden = !data;
    if (!data || !fmt) return;
    const { vehicle, state } = data;
    setText(title, pick(vehicle.name, lang));
    close.setAttribute('aria-label', t('panel.close'));
    close.title = t('panel.close');
    const kindKey = `kind.${vehicle.kind}`;
    const kind = isMessageKey(kindKey) ? t(kindKey) : vehicle.kind;
    title.title = kind;
    const rows: HTMLElement[] = [];
    if (role === 'operator') rows.push(row(t('panel.id'), vehicle.id, 'vehicle-detail-id'));
    const mode = h(
      'span',
      { class: `mode-badge mode-${modeClass(state?.mode)}` },
      state ? t(modeLabelKey(state.mode)) : t('vehicle.noData'),
    );
    rows.push(row(t('panel.mode'), mode, 'vehicle-detail-mode'));
    rows.push(row(t('panel.speed'), state ? fmt.speed(state.speed_mps) : '—', 'vehicle-detail-speed'));
    rows.push(row(t('panel.heading'), state && Number.isFinite(state.heading_deg) ? `${fmt.decimal(state.heading_deg, 0)}°` : '—'));
    if (state && Number.isFinite(state.battery_pct)) rows.push(row(t('panel.battery'), fmt.percent(state.battery_pct)));
    const link = state?.link;
    rows.push(
      row(
        t('panel.link'),
        link
          ? `RSRP ${fmt.withUnit(link.rsrp_dbm, 'dBm')} · SINR ${fmt.withUnit(link.sinr_db, 'dB', 1)} · RTT ${fmt.milliseconds(link.rtt_ms)}`
          : t('panel.noLink'),
        'vehicle-detail-link',
      ),
    );
    if (state) rows.push(row(t('panel.updated'), fmt.dateTime(state.ts_ms, zone)));
    const chartLabel = t('panel.speedChart');
    const chart =
      data.speed.length > 1
        ? lineChart(data.speed, {
            label: chartLabel,
            from: data.window.from,
            to: data.window.to,
            cursor: data.cursor,
            format: (v) => fmt!.decimal(v, 0),
            width: 288,
            height: 80,
          })
        : h('p', { class: 'detail__empty' }, t('panel.noHistory'));
    body.replaceChildren(
      h('dl', { class: 'detail__list' }, ...rows),
      h('h3', { class: 'detail__chart-title' }, chartLabel),
      h('div', { class: 'detail__chart', 'data-testid': 'vehicle-detail-chart' }, chart),
    );
  }

  return {
    element,
    show(next) {
      data = next;
      render();
    },
    setLanguage(nextLang, nextT, nextFmt, timeZone) {
      lang = nextLang;
      t = nextT;
      fmt = nextFmt;
      zone = timeZone;
      render();
    },
    setRole(next) {
      role = next;
      render();
    },
  };
}
