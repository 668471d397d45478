// The frame the vehicle and sensor panels share over the map: a titled section with a close
// button, closed by Esc as well, that keeps the shown data, the page's language and the role, and
// redraws when any of them changes; each panel fills the title and the body.

import type { Role } from '../api-types.js';
import type { Formatters } from '../format.js';
import type { Lang, Translate } from '../i18n.js';
import { h } from './dom.js';

export interface DetailShell {
  readonly element: HTMLElement;
  readonly title: HTMLElement;
  readonly body: HTMLElement;
}

/** What a panel draws with, besides its data. */
export interface DetailLocale {
  lang: Lang;
  t: Translate;
  fmt: Formatters;
  zone: string;
  role: Role;
}

export interface DetailView<D> {
  readonly element: HTMLElement;
  show(data: D | null): void;
  setLanguage(lang: Lang, t: Translate, fmt: Formatters, timeZone: string): void;
  setRole(role: Role): void;
}

/**
 * `name` makes the test ids (`<name>-detail`, `<name>-detail-close`) and the title's id; `render`
 * draws shown data into the shell, once the formatters are known.
 */
export function createDetailView<D>(
  name: string,
  onClose: () => void,
  render: (shell: DetailShell, data: D, locale: DetailLocale) => void,
): DetailView<D> {
  const title = h('h2', { class: 'detail__title', id: `${name}-detail-title` });
  const close = h('button', { type: 'button', class: 'detail__close', 'data-testid': `${name}-detail-close` }, '×');
  close.addEventListener('click', onClose);
  const body = h('div', { class: 'detail__body' });
  const element = h(
    'section',
    { class: 'detail', 'data-testid': `${name}-detail`, 'aria-labelledby': `${name}-detail-title`, hidden: true },
    h('div', { class: 'detail__head' }, title, close),
    body,
  );
  element.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') onClose();
  });

  let data: D | null = null;
  let lang: Lang = 'ja';
  let t: Translate = (k) => k;
  let fmt: Formatters | null = null;
  let zone = 'Asia/Tokyo';
  let role: Role = 'viewer';

  function draw(): void {
    element.hidden = !data;
    if (!data || !fmt) return;
    close.setAttribute('aria-label', t('panel.close'));
    close.title = t('panel.close');
    render({ element, title, body }, data, { lang, t, fmt, zone, role });
  }

  return {
    element,
    show(next) {
      data = next;
      draw();
    },
    setLanguage(nextLang, nextT, nextFmt, timeZone) {
      lang = nextLang;
      t = nextT;
      fmt = nextFmt;
      zone = timeZone;
      draw();
    },
    setRole(next) {
      role = next;
      draw();
    },
  };
}

/** A term and its value in a panel's list; `value` may be an element (a badge). */
export function detailRow(term: string, value: Node | string, testid?: string): HTMLElement {
  return h('div', { class: 'detail__row' }, h('dt', {}, term), h('dd', testid ? { 'data-testid': testid } : {}, value));
}
