// The footer: the pilot's notice (every demo pilot says it is fictional), always on screen so a
// screenshot of the dashboard cannot be mistaken for a real deployment.

import type { Lang, Translate } from '../i18n.js';
import { h, setText } from './dom.js';

export interface NoticeView {
  readonly element: HTMLElement;
  /** The pilot's notice, and its Japanese text when it has one (shown while the page is in Japanese). */
  setNotice(text: string | null, textJa?: string | null): void;
  /** `lang` defaults to the page's (html lang), which the app sets before telling its views. */
  setLanguage(t: Translate, lang?: Lang): void;
}

export function createNotice(): NoticeView {
  const label = h('strong', { class: 'notice__label' });
  const text = h('span', { class: 'notice__text', 'data-testid': 'pilot-notice' });
  const element = h('footer', { class: 'notice', hidden: true }, label, text);
  let en: string | null = null;
  let ja: string | null = null;
  let lang: string = document.documentElement.lang;
  const render = (): void => {
    const shown = lang === 'ja' && ja ? ja : en;
    setText(text, shown ?? '');
    text.lang = shown === ja && ja ? 'ja' : 'en';
    element.hidden = !shown;
  };
  return {
    element,
    setNotice(notice, noticeJa) {
      en = notice;
      ja = noticeJa ?? null;
      render();
    },
    setLanguage(t, nextLang) {
      lang = nextLang ?? document.documentElement.lang;
      setText(label, t('notice.label'));
      render();
    },
  };
}
