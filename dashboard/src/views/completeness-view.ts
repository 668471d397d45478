// Data completeness per source (operators only): readings received, missing by sequence number,
// the gaps (written out, not only in a tooltip that keyboard and touch users cannot reach), when the
// source was last heard from, how late its newest reading arrived and whether a backlog is still
// draining. A source with missing readings is marked.

import type { SourceCompleteness } from '../api-types.js';
import { NO_VALUE, type Formatters } from '../format.js';
import { isMessageKey, type Lang, type Translate } from '../i18n.js';
import { h, setText } from './dom.js';

export function kindLabel(kind: string, t: Translate): string {
  const key = `data.kind.${kind}`;
  return isMessageKey(key) ? t(key) : kind;
}

/** "32–50, 62–99"; the API lists the first gaps only, so when they do not add up to `missing`, more are said to follow. */
export function gapRanges(s: Pick<SourceCompleteness, 'gaps' | 'missing'>, t: Translate): string {
  if (s.gaps.length === 0) return NO_VALUE;
  const ranges = s.gaps.map((g) => (g.from_seq === g.to_seq ? String(g.from_seq) : `${g.from_seq}–${g.to_seq}`));
  const listed = s.gaps.reduce((n, g) => n + g.to_seq - g.from_seq + 1, 0);
  if (listed < s.missing) ranges.push(t('data.moreGaps'));
  return ranges.join(', ');
}

/** Milliseconds while data is live; a lag of a buffered backlog reads better in s / min (as the KPI latency). */
export function lagText(ms: number | null | undefined, f: Formatters): string {
  return typeof ms === 'number' && ms >= 10_000 ? f.duration(ms) : f.milliseconds(ms);
}

export function backlogText(s: Pick<SourceCompleteness, 'draining' | 'backlog_last_minute'>, t: Translate, f: Formatters): string {
  if (s.draining === undefined) return NO_VALUE; // a cloud older than this dashboard does not send it
  return s.draining ? t('data.draining', { count: f.integer(s.backlog_last_minute) }) : t('data.notDraining');
}

export interface CompletenessView {
  readonly element: HTMLElement;
  setSources(sources: readonly SourceCompleteness[] | null, failed?: boolean): void;
  setLanguage(lang: Lang, t: Translate, fmt: Formatters, timeZone: string): void;
}

export function createCompletenessView(): CompletenessView {
  const heading = h('h2', { class: 'panel-heading', id: 'data-heading' });
  const status = h('p', { class: 'events__status', role: 'status' });
  const table = h('table', { class: 'data-table', 'data-testid': 'completeness-table', 'aria-labelledby': 'data-heading' });
  // Eight columns do not fit a side panel: the table scrolls sideways inside this box (focusable,
  // so the keyboard can scroll it too) instead of widening the panel or squeezing every cell.
  const scroller = h(
    'div',
    { class: 'data-table-scroll', role: 'region', tabindex: 0, 'aria-labelledby': 'data-heading', 'data-testid': 'completeness-scroll' },
    table,
  );
  const element = h('section', { class: 'data-section' }, h('div', { class: 'panel-heading-row' }, heading), status, scroller);
  let sources: readonly SourceCompleteness[] | null = null;
  let failed = false;
  let t: Translate = (k) => k;
  let fmt: Formatters | null = null;
  let zone = 'Asia/Tokyo';

  function render(): void {
    if (!fmt) return;
    const f = fmt;
    setText(status, failed ? t('data.error') : sources && sources.length === 0 ? t('data.empty') : '');
    status.hidden = !status.textContent;
    const th = (text: string) => h('th', { scope: 'col' }, text);
    table.replaceChildren(
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          th(t('data.source')),
          th(t('data.kind')),
          th(t('data.received')),
          th(t('data.missing')),
          th(t('data.gaps')),
          th(t('data.lastSeen')),
          th(t('data.lag')),
          th(t('data.backlog')),
        ),
      ),
      h(
        'tbody',
        {},
        ...(sources ?? []).map((s) =>
          h(
            'tr',
            { class: s.missing > 0 ? 'has-missing' : '', 'data-testid': 'completeness-row' },
            h('th', { scope: 'row' }, s.source),
            h('td', {}, kindLabel(s.kind, t)),
            h('td', { class: 'num' }, f.integer(s.received)),
            h('td', { class: 'num' }, f.integer(s.missing)),
            h('td', { class: 'data-table__gaps' }, gapRanges(s, t)),
            h('td', {}, s.last_recv_ms ? f.clock(s.last_recv_ms, zone) : NO_VALUE),
            h('td', { class: 'num' }, lagText(s.lag_ms, f)),
            h('td', {}, backlogText(s, t, f)),
          ),
        ),
      ),
    );
  }

  return {
    element,
    setSources(next, didFail = false) {
      sources = next;
      failed = didFail;
      render();
    },
    setLanguage(_lang, nextT, nextFmt, timeZone) {
      t = nextT;
      fmt = nextFmt;
      zone = timeZone;
      setText(heading, t('data.title'));
      render();
    },
  };
}
