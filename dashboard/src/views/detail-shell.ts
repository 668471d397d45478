// The frame the vehicle and sensor panels share over the map: a titled section with a close
// button, closed by Esc as well; each panel fills the body.

import { h } from './dom.js';

export interface DetailShell {
  readonly element: HTMLElement;
  readonly title: HTMLElement;
  /** Its label is the panel's to set, in the page's language. */
  readonly close: HTMLElement;
  readonly body: HTMLElement;
}

/** `name` makes the test ids (`<name>-detail`, `<name>-detail-close`) and the title's id. */
export function createDetailShell(name: string, onClose: () => void): DetailShell {
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
  return { element, title, close, body };
}
