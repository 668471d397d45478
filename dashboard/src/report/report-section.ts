// The KPI tab's "Report" section: a month of the pilot's calendar (last month unless changed), then
// the CSV the cloud makes, downloaded with the signed-in token, or the printable report opened in a
// new tab in the current language. It reads the pilot shown; it owns no shared state.

import type { MichiApi } from '../api.js';
import type { PilotDetail } from '../api-types.js';
import type { AppStateReader } from '../app-state.js';
import { DEFAULT_TIME_ZONE } from '../app-state.js';
import type { Lang, Translate } from '../i18n.js';
import { h, setText } from '../views/dom.js';
import { lastMonth, monthRange, reportHash } from './report-link.js';

export interface ReportSectionDeps {
  api: MichiApi;
  state: AppStateReader;
  lang: () => Lang;
  now: () => number;
  /** Opens the printable report (a new tab; the token goes with the tab's session storage). */
  openPage: (url: string) => void;
  /** Saves a file (an object URL clicked as a download link). */
  save?: (file: Blob, fileName: string) => void;
}

export interface ReportSectionView {
  readonly element: HTMLElement;
  setLanguage(t: Translate): void;
}

function saveByLink(file: Blob, fileName: string): void {
  const url = URL.createObjectURL(file);
  const a = h('a', { href: url, download: fileName, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  // The click has handed the file to the browser's download by the next task.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

export function createReportSection({ api, state, lang, now, openPage, save = saveByLink }: ReportSectionDeps): ReportSectionView {
  let t: Translate = (k) => k;
  const heading = h('h2', { class: 'panel-heading', id: 'report-heading' });
  const hint = h('p', { class: 'report-section__hint' });
  const monthLabel = h('span', {});
  const month = h('input', { type: 'month', class: 'report-section__month', 'data-testid': 'report-month', required: true });
  const download = h('button', { type: 'button', class: 'button', 'data-testid': 'report-download' });
  const print = h('button', { type: 'button', class: 'button button--primary', 'data-testid': 'report-print' });
  const status = h('p', { class: 'report-section__status', role: 'status', 'data-testid': 'report-status' });
  const element = h(
    'section',
    { class: 'report-section', 'aria-labelledby': 'report-heading' },
    heading,
    hint,
    h('label', { class: 'report-section__field' }, monthLabel, month),
    h('div', { class: 'report-section__actions' }, download, print),
    status,
  );

  const zone = (pilot: PilotDetail | null = state.get('pilot')) => pilot?.timezone ?? DEFAULT_TIME_ZONE;
  const range = () => monthRange(month.value, zone());

  function showPilot(pilot: PilotDetail | null): void {
    month.value = lastMonth(now(), zone(pilot));
    month.max = month.value;
    setText(status, '');
    drawHint();
  }
  function drawHint(): void {
    setText(hint, t('report.hint', { zone: zone() }));
  }

  download.addEventListener('click', () => {
    const pilot = state.get('pilot');
    const r = range();
    if (!pilot || !r) return;
    download.disabled = true;
    setText(status, '');
    api
      .reportCsv(pilot.id, { ...r, lang: lang() })
      .then(({ csv, fileName }) => save(csv, fileName))
      .catch((err: unknown) => setText(status, t('report.error', { message: err instanceof Error ? err.message : String(err) })))
      .finally(() => (download.disabled = false));
  });
  print.addEventListener('click', () => {
    const pilot = state.get('pilot');
    const r = range();
    if (!pilot || !r) return;
    const url = new URL(window.location.href);
    url.hash = reportHash({ pilot: pilot.id, ...r, lang: lang() });
    openPage(url.toString());
  });

  state.subscribe('pilot', (pilot) => showPilot(pilot));
  showPilot(state.get('pilot'));

  return {
    element,
    setLanguage(next) {
      t = next;
      setText(heading, t('report.title'));
      setText(monthLabel, t('report.month'));
      setText(download, t('report.download'));
      setText(print, t('report.print'));
      drawHint();
    },
  };
}
