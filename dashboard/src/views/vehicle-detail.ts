// The panel of the selected vehicle, over the map: mode, speed, heading, battery, 5G link, and
// charts of its speed and of its link's RSRP and SINR (the last minutes live; around the cursor in
// replay, with the cursor drawn). Viewers do not see the raw vehicle id.

import type { LinkPoint, VehicleState } from '../api-types.js';
import { NO_VALUE } from '../format.js';
import { isMessageKey, pick } from '../i18n.js';
import { modeClass, modeLabelKey } from '../modes.js';
import { lineChart, type LineChartOptions, type SeriesPoint } from './charts.js';
import { createDetailView, detailRow, type DetailLocale, type DetailShell, type DetailView } from './detail-view.js';
import { h, setText } from './dom.js';

export interface VehicleDetailData {
  vehicle: { id: string; kind: string; name: { ja: string; en: string } };
  state: VehicleState | null;
  /** Speed in km/h over time. */
  speed: readonly SeriesPoint[];
  /** 5G link samples over time (the same window as the speed). */
  link: readonly LinkPoint[];
  window: { from: number; to: number };
  cursor: number | null;
}

export type VehicleDetailView = DetailView<VehicleDetailData>;

export function createVehicleDetail({ onClose }: { onClose: () => void }): VehicleDetailView {
  return createDetailView('vehicle', onClose, renderVehicle);
}

function renderVehicle({ title, body }: DetailShell, data: VehicleDetailData, { lang, t, fmt, zone, role }: DetailLocale): void {
  const { vehicle, state } = data;
  setText(title, pick(vehicle.name, lang));
  const kindKey = `kind.${vehicle.kind}`;
  const kind = isMessageKey(kindKey) ? t(kindKey) : vehicle.kind;
  title.title = kind;
  const rows: HTMLElement[] = [];
  if (role === 'operator') rows.push(detailRow(t('panel.id'), vehicle.id, 'vehicle-detail-id'));
  const mode = h('span', { class: `mode-badge mode-${modeClass(state?.mode)}` }, state ? t(modeLabelKey(state.mode)) : t('vehicle.noData'));
  rows.push(detailRow(t('panel.mode'), mode, 'vehicle-detail-mode'));
  rows.push(detailRow(t('panel.speed'), state?.speed_mps != null ? fmt.speed(state.speed_mps) : '—', 'vehicle-detail-speed'));
  rows.push(
    detailRow(
      t('panel.heading'),
      state?.heading_deg != null && Number.isFinite(state.heading_deg) ? `${fmt.decimal(state.heading_deg, 0)}°` : '—',
    ),
  );
  // A battery the vehicle did not report is "—", never 0 %.
  if (state) {
    const pct = state.battery_pct;
    rows.push(
      detailRow(
        t('panel.battery'),
        typeof pct === 'number' && Number.isFinite(pct) ? fmt.percent(pct) : NO_VALUE,
        'vehicle-detail-battery',
      ),
    );
  }
  const link = state?.link;
  rows.push(
    detailRow(
      t('panel.link'),
      link
        ? `RSRP ${fmt.withUnit(link.rsrp_dbm, 'dBm')} · SINR ${fmt.withUnit(link.sinr_db, 'dB', 1)} · RTT ${fmt.milliseconds(link.rtt_ms)}`
        : t('panel.noLink'),
      'vehicle-detail-link',
    ),
  );
  if (state) rows.push(detailRow(t('panel.updated'), fmt.dateTime(state.ts_ms, zone)));
  const { window, cursor } = data;
  const format = (v: number) => fmt.decimal(v, 0);
  const chart = (label: string, points: readonly SeriesPoint[], testid: string, options: Partial<LineChartOptions>): HTMLElement[] => [
    h('h3', { class: 'detail__chart-title' }, label),
    h(
      'div',
      { class: 'detail__chart', 'data-testid': testid },
      points.length > 1
        ? lineChart(points, { label, from: window.from, to: window.to, cursor, format, width: 288, ...options })
        : h('p', { class: 'detail__empty' }, t('panel.noHistory')),
    ),
  ];
  const rsrp = linkSeries(data.link, 'rsrp_dbm');
  const sinr = linkSeries(data.link, 'sinr_db');
  body.replaceChildren(
    h('dl', { class: 'detail__list' }, ...rows),
    ...chart(t('panel.speedChart'), data.speed, 'vehicle-detail-chart', { height: 80 }),
    ...chart(t('panel.rsrpChart'), rsrp, 'vehicle-detail-rsrp-chart', { height: 64, color: '#7c3aed', ...decibelRange(rsrp) }),
    ...chart(t('panel.sinrChart'), sinr, 'vehicle-detail-sinr-chart', { height: 64, color: '#0f766e' }),
  );
}

/** One field of the link samples as a chart series, samples without it left out. */
function linkSeries(points: readonly LinkPoint[], field: 'rsrp_dbm' | 'sinr_db'): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  for (const p of points) {
    const v = p[field];
    if (v !== null && Number.isFinite(v)) out.push({ t: p.ts_ms, v });
  }
  return out;
}

/**
 * The y range of an RSRP chart: the values' own, widened to whole 10 dB steps. RSRP is always
 * negative (−140…−44 dBm), so the default 0-based range would squash the line against the bottom.
 */
function decibelRange(points: readonly SeriesPoint[]): Pick<LineChartOptions, 'min' | 'max'> {
  if (points.length === 0) return {};
  const values = points.map((p) => p.v);
  const min = Math.floor(Math.min(...values) / 10) * 10;
  const max = Math.ceil(Math.max(...values) / 10) * 10;
  return { min, max: max > min ? max : min + 10 };
}
