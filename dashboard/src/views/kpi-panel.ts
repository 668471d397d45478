// Key figures of a pilot over a time range, as municipal staff report them upward: distance,
// share driven autonomously, takeovers and disengagements per 100 km (and by cause), emergency
// stops, speed, availability, 5G link quality and data latency. Bars and ranges are drawn; every
// figure is also written out.

import type { Kpis } from '../api-types.js';
import type { Formatters } from '../format.js';
import type { Lang, MessageKey, Translate } from '../i18n.js';
import { barChart, rangeChart } from './charts.js';
import { h, setText } from './dom.js';
import { causeLabel } from './events-list.js';

interface CauseBar {
  label: string;
  value: number;
  text: string;
}

/**
 * One bar per cause, most frequent first: the bar's length and the label carry the count, the figure
 * beside it is per 100 km (what is reported upward, comparable between periods), or a dash when
 * nothing was driven. The count goes in the label because the figure column is narrow.
 */
export function causeBars(
  counts: Readonly<Record<string, number>> | undefined,
  per100km: Readonly<Record<string, number>> | null | undefined,
  t: Translate,
  f: Formatters,
): CauseBar[] {
  return Object.entries(counts ?? {})
    .sort((a, b) => b[1] - a[1])
    .map(([cause, n]) => ({
      label: t('kpi.causeCount', { cause: causeLabel(cause, t) ?? cause, count: f.integer(n) }),
      value: n,
      text: f.decimal(per100km?.[cause], 1),
    }));
}

export interface KpiPanelView {
  readonly element: HTMLElement;
  setKpis(kpis: Kpis | null, range: 'live' | 'replay', failed?: boolean): void;
  setLanguage(lang: Lang, t: Translate, fmt: Formatters): void;
}

export function createKpiPanel(): KpiPanelView {
  const heading = h('h2', { class: 'panel-heading', id: 'kpi-heading' });
  const range = h('span', { class: 'kpi__range' });
  const body = h('div', { class: 'kpi', 'data-testid': 'kpi-panel', 'aria-labelledby': 'kpi-heading' });
  const element = h('section', { class: 'kpi-section' }, h('div', { class: 'panel-heading-row' }, heading, range), body);
  let kpis: Kpis | null = null;
  let failed = false;
  let which: 'live' | 'replay' = 'live';
  let t: Translate = (k) => k;
  let fmt: Formatters | null = null;

  const tile = (label: MessageKey, value: string, sub?: string, testid?: string) =>
    h(
      'div',
      { class: 'kpi__tile', ...(testid ? { 'data-testid': testid } : {}) },
      h('div', { class: 'kpi__label' }, t(label)),
      h('div', { class: 'kpi__value' }, value),
      sub ? h('div', { class: 'kpi__sub' }, sub) : null,
    );

  function render(): void {
    setText(range, t(which === 'live' ? 'kpi.rangeLive' : 'kpi.rangeReplay'));
    if (!fmt) return;
    if (failed || !kpis) {
      body.replaceChildren(h('p', { class: 'kpi__status' }, failed ? t('kpi.error') : '…'));
      return;
    }
    const f = fmt;
    const k = kpis;
    // Milliseconds while data is live; a backlog draining after an outage reads better in s / min.
    const latency = (v: number | null | undefined) => (typeof v === 'number' && v >= 10_000 ? f.duration(v) : f.milliseconds(v));
    const per100 = (v: number | null) => t('kpi.per100km', { value: f.decimal(v, 1) });
    const causes = (heading: MessageKey, bars: CauseBar[]) =>
      h(
        'div',
        { class: 'kpi__causes' },
        h('h3', { class: 'kpi__heading' }, t(heading)),
        bars.length ? barChart(bars, t(heading)) : h('p', { class: 'kpi__status' }, t('kpi.none')),
      );
    const link = (
      label: MessageKey,
      d: { p5?: number | null; p50: number | null; p95: number | null },
      unit: string,
      scale: { min: number; max: number },
      digits = 0,
    ) =>
      h(
        'div',
        { class: 'kpi__range-row' },
        h('span', { class: 'kpi__range-label' }, t(label)),
        rangeChart(d ?? {}, scale),
        h(
          'span',
          { class: 'kpi__range-values' },
          `${f.withUnit(d?.p5, unit, digits)} / ${f.withUnit(d?.p50, unit, digits)} / ${f.withUnit(d?.p95, unit, digits)}`,
        ),
      );
    body.replaceChildren(
      h(
        'div',
        { class: 'kpi__tiles' },
        tile('kpi.distance', f.kilometres(k.distance_km), undefined, 'kpi-distance'),
        tile('kpi.autonomousShare', f.share(k.autonomous_share), undefined, 'kpi-autonomous-share'),
        tile('kpi.takeovers', f.integer(k.takeovers ?? 0), per100(k.takeovers_per_100km)),
        tile('kpi.disengagements', f.integer(k.disengagements ?? 0), per100(k.disengagements_per_100km)),
        tile('kpi.emergencyStops', f.integer(k.emergency_stops ?? 0)),
        tile('kpi.availability', f.share(k.availability)),
        tile('kpi.speed', `${f.decimal(k.speed_mean_kmh, 1)} / ${f.decimal(k.speed_p95_kmh, 1)}`, 'km/h'),
        tile('kpi.latency', `${latency(k.latency_ms?.p50)} / ${latency(k.latency_ms?.p95)}`),
      ),
      h(
        'div',
        { class: 'kpi__by-cause', 'data-testid': 'kpi-by-cause' },
        causes('kpi.takeoversByCause', causeBars(k.takeovers_by_cause, k.takeovers_per_100km_by_cause, t, f)),
        causes('kpi.byCause', causeBars(k.disengagements_by_cause, k.disengagements_per_100km_by_cause, t, f)),
      ),
      h('h3', { class: 'kpi__heading' }, t('kpi.link')),
      link('kpi.rsrp', k.link?.rsrp_dbm, 'dBm', { min: -140, max: -44 }),
      link('kpi.sinr', k.link?.sinr_db, 'dB', { min: -20, max: 40 }, 1),
      link('kpi.rtt', k.link?.rtt_ms, 'ms', { min: 0, max: 200 }),
    );
  }

  return {
    element,
    setKpis(next, nextRange, didFail = false) {
      kpis = next;
      which = nextRange;
      failed = didFail;
      render();
    },
    setLanguage(_lang, nextT, nextFmt) {
      t = nextT;
      fmt = nextFmt;
      setText(heading, t('kpi.title'));
      render();
    },
  };
}
