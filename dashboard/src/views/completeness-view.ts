// Data completeness per source (operators only): readings received, missing by sequence number,
// the gaps, and when the source was last heard from. A source with missing readings is marked.

import type { SourceCompleteness } from '../api-types.js';
import type { Formatters } from '../format.js';
import type { Lang, Translate } from '../i18n.js';
import { h, setText } from './dom.js';

export interface CompletenessView {
  readonly element: HTMLElement;
  setSources(sources: readonly SourceCompleteness[] | null, failed?: boolean): void;
  setLanguage(lang: Lang, t: Translate, fmt: Formatters, timeZone: string): void;
}

export function createCompletenessView(): CompletenessView {
  const heading = h('h2', { class: 'panel-heading', id: 'data-heading' });
  const status = h('p', { class: 'events__status', role: 'status' });
  const table = h('table', { class: 'data-table', 'data-testid': 'completeness-table', 'aria-labelledby': 'data-heading' });
  const element = h('section', { class: 'data-section' }, h('div', { class: 'panel-heading-row' }, heading), status, table);
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
            h('td', {}, s.kind),
            h('td', { class: 'num' }, f.integer(s.received)),
            h('td', { class: 'num' }, f.integer(s.missing)),
            h(
              'td',
              {
                class: 'num',
                title: s.gaps
                  .slice(0, 20)
                  .map((g) => `${g.from_seq}–${g.to_seq}`)
                  .join(', '),
              },
              f.integer(s.gaps.length),
            ),
            h('td', {}, s.last_recv_ms ? f.clock(s.last_recv_ms, zone) : '—'),
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
