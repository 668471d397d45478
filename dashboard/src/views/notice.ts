// The footer: the pilot's notice (every demo pilot says it is fictional), always on screen so a
// screenshot of the dashboard cannot be mistaken for a real deployment.

import type { Translate } from '../i18n.js';
import { h, setText } from './dom.js';

export interface NoticeView {
  readonly element: HTMLElement;
  setNotice(text: string | null): void;
  setLanguage(t: Translate): void;
}

export function createNotice(): NoticeView {
  const label = h('strong', { class: 'notice__label' });
  const text = h('span', { class: 'notice__text', 'data-testid': 'pilot-notice' });
  const element = h('footer', { class: 'notice', hidden: true }, label, text);
  return {
    element,
    setNotice(notice) {
      setText(text, notice ?? '');
      element.hidden = !notice;
    },
    setLanguage(t) {
      setText(label, t('notice.label'));
    },
  };
}
