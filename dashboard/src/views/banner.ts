// One line above the map for what went wrong and what the dashboard did about it.

import { h, setText } from './dom.js';

export interface BannerView {
  readonly element: HTMLElement;
  show(message: string, tone?: 'error' | 'warning'): void;
  clear(): void;
}

export function createBanner(): BannerView {
  const text = h('span', {});
  const element = h('div', { class: 'banner', role: 'alert', 'data-testid': 'banner', hidden: true }, text);
  return {
    element,
    show(message, tone = 'error') {
      setText(text, message);
      element.className = `banner banner--${tone}`;
      element.hidden = false;
    },
    clear() {
      element.hidden = true;
      setText(text, '');
    },
  };
}
