// The printable report: the dashboard's page at `#report&pilot=&from=&to=&lang=` (report-link.ts),
// drawn in the browser from GET /report (JSON) in the language the link names: who and what period,
// the per-day table with its totals row (headings as the cloud words them, so the page and the CSV
// agree), the two charts, and takeovers and disengagements by cause. A print button and @media print
// (styles/report.css) make it an A4 landscape page; nothing is downloaded at run time.

import type { MichiApi } from '../api.js';
import type { Report, ReportCause, ReportColumn, ReportFigures } from '../api-types.js';
import { formatters, NO_VALUE, type Formatters } from '../format.js';
import { INTL_LOCALE, translator, type Lang, type Translate } from '../i18n.js';
import { h } from '../views/dom.js';
import { distanceChart, linkChart } from './report-charts.js';
import type { ReportLink } from './report-link.js';

/** A number with exactly `digits` decimals in the locale's digits (a column reads evenly), or "—". */
function fixed(lang: Lang, digits: number): (v: number | null) => string {
  const nf = new Intl.NumberFormat(INTL_LOCALE[lang], { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return (v) => (v === null ? NO_VALUE : nf.format(v));
}

/** One cell of the per-day table: as precise as the CSV (km to 10 m here), shares in %. */
export function reportCell(lang: Lang, f: Formatters, figures: ReportFigures, key: Exclude<ReportColumn, 'date'>): string {
  const v = figures[key];
  switch (key) {
    case 'distance_km':
    case 'autonomous_distance_km':
    case 'takeovers_per_100km':
      return fixed(lang, 2)(v);
    case 'autonomous_share':
    case 'availability':
      return f.share(v);
    case 'rsrp_dbm_p50':
    case 'rsrp_dbm_p5':
    case 'sinr_db_p50':
    case 'sinr_db_p5':
    case 'rtt_ms_p50':
      return fixed(lang, 1)(v);
    default:
      return v === null ? NO_VALUE : f.integer(v);
  }
}

function causeTable(title: string, causes: readonly ReportCause[], lang: Lang, t: Translate, f: Formatters, testid: string): HTMLElement {
  return h(
    'section',
    { class: 'report__causes', 'data-testid': testid },
    h('h2', { class: 'report__heading' }, title),
    causes.length === 0
      ? h('p', { class: 'report__none' }, t('report.none'))
      : h(
          'table',
          { class: 'report__table report__table--causes' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', { scope: 'col' }, t('report.cause')),
              h('th', { scope: 'col' }, t('report.count')),
              h('th', { scope: 'col' }, t('report.per100km')),
            ),
          ),
          h(
            'tbody',
            {},
            ...causes.map((c) =>
              h(
                'tr',
                { 'data-cause': c.cause },
                h('th', { scope: 'row' }, c.label),
                h('td', {}, f.integer(c.count)),
                h('td', {}, fixed(lang, 2)(c.per_100km)),
              ),
            ),
          ),
        ),
  );
}

export function renderReport(report: Report, t: Translate, f: Formatters, onPrint: () => void): HTMLElement {
  const tz = report.pilot.timezone;
  const keys = report.columns.map((c) => c.key).filter((k): k is Exclude<ReportColumn, 'date'> => k !== 'date');
  const row = (head: string, figures: ReportFigures, attrs: Record<string, string>) =>
    h('tr', attrs, h('th', { scope: 'row' }, head), ...keys.map((k) => h('td', { 'data-key': k }, reportCell(report.lang, f, figures, k))));
  const printButton = h(
    'button',
    { type: 'button', class: 'button button--primary report__print', 'data-testid': 'report-print-button' },
    t('report.printButton'),
  );
  printButton.addEventListener('click', onPrint);
  const fact = (label: string, value: string) => [h('dt', {}, label), h('dd', {}, value)];
  return h(
    'main',
    { class: 'report', 'data-testid': 'report-page', lang: report.lang },
    h(
      'header',
      { class: 'report__head' },
      h('div', {}, h('p', { class: 'report__kicker' }, t('report.pageTitle')), h('h1', { class: 'report__title' }, report.pilot.name)),
      printButton,
      h(
        'dl',
        { class: 'report__facts' },
        ...fact(t('report.municipality'), `${report.pilot.municipality} (${report.pilot.municipality_code})`),
        ...fact(t('report.period'), `${f.dateTime(report.from, tz)} – ${f.dateTime(report.to, tz)} (${tz})`),
        ...fact(t('report.generated'), f.dateTime(report.generated_at, tz)),
      ),
    ),
    h(
      'section',
      { class: 'report__days' },
      h('h2', { class: 'report__heading' }, t('report.days')),
      h(
        'table',
        { class: 'report__table', 'data-testid': 'report-table' },
        h('thead', {}, h('tr', {}, ...report.columns.map((c) => h('th', { scope: 'col', 'data-key': c.key }, c.label)))),
        h('tbody', {}, ...report.days.map((d) => row(d.date, d, { 'data-date': d.date, 'data-testid': 'report-day' }))),
        h('tfoot', {}, row(t('report.totals'), report.totals, { 'data-testid': 'report-totals' })),
      ),
      report.totals_exact ? null : h('p', { class: 'report__note', 'data-testid': 'report-totals-note' }, t('report.totalsFromDays')),
    ),
    h(
      'section',
      { class: 'report__charts' },
      h(
        'figure',
        { class: 'report__figure' },
        h('figcaption', {}, t('report.chartDistance')),
        distanceChart(report.days, f, t('report.chartDistance')),
      ),
      h(
        'figure',
        { class: 'report__figure' },
        h('figcaption', {}, t('report.chartLink')),
        linkChart(report.days, f, t('report.chartLink'), { p50: t('report.median'), p5: t('report.p5') }),
      ),
    ),
    h(
      'div',
      { class: 'report__cause-tables' },
      causeTable(t('report.takeoversByCause'), report.takeovers_by_cause, report.lang, t, f, 'report-takeovers-by-cause'),
      causeTable(t('report.disengagementsByCause'), report.disengagements_by_cause, report.lang, t, f, 'report-disengagements-by-cause'),
    ),
  );
}

export interface ReportPageDeps {
  root: HTMLElement;
  api: MichiApi;
  link: ReportLink | 'invalid';
  print?: () => void;
}

/** Draws the page once the report has come; a refusal or a bad link is said on the page. */
export async function startReportPage({ root, api, link, print = () => window.print() }: ReportPageDeps): Promise<void> {
  const lang = link === 'invalid' ? 'ja' : link.lang;
  const t = translator(lang);
  document.documentElement.lang = lang;
  document.documentElement.classList.add('report-page');
  document.body.classList.add('report-body');
  document.title = t('report.pageTitle');
  const say = (text: string) =>
    root.replaceChildren(
      h('main', { class: 'report' }, h('p', { class: 'report__status', role: 'status', 'data-testid': 'report-status' }, text)),
    );
  if (link === 'invalid') return say(t('report.badLink'));
  say(t('report.loading'));
  try {
    const report = await api.report(link.pilot, link);
    root.replaceChildren(renderReport(report, t, formatters(lang), print));
    document.title = `${t('report.pageTitle')}: ${report.pilot.name}`;
  } catch (err) {
    say(t('report.error', { message: err instanceof Error ? err.message : String(err) }));
  }
}
