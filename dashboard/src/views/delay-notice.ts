// Over the map, for viewers of a pilot that shows public positions late: how late. Without it a
// municipality's map that lags its buses by 30 s looks broken (or worse, current).

import type { Translate } from '../i18n.js';
import { h, setText } from './dom.js';

export interface DelayNoticeView {
  readonly element: HTMLElement;
  /** The delay this user's positions are shown with, in seconds; 0 hides the notice (operators, undelayed pilots). */
  setDelay(seconds: number): void;
  setLanguage(t: Translate): void;
}

export function createDelayNotice(): DelayNoticeView {
  const element = h('div', { class: 'delay-notice', role: 'note', 'data-testid': 'delay-notice', hidden: true });
  let delayS = 0;
  let t: Translate | null = null;
  const render = (): void => {
    element.hidden = delayS <= 0 || !t;
    element.dataset.delayS = String(delayS);
    // Ages ("31 秒前") stay the true age of the position shown: a bus drawn 30 s late was there
    // 31 s ago. The notice says so, and rows are dimmed only past the delay plus the usual 10 s.
    if (t) setText(element, delayS > 0 ? t('live.delayNotice', { delay: String(delayS) }) + t('live.delayAges') : '');
  };
  return {
    element,
    setDelay(seconds) {
      delayS = Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds) : 0;
      render();
    },
    setLanguage(next) {
      t = next;
      render();
    },
  };
}
