// The header's alarm counter: the critical count, red when above zero, on every tab. For an
// operator it counts the active (not yet acknowledged) critical alarms and opens the Alarms tab;
// for a viewer of a pilot that opted in, the open ones, and it is only a figure. A new critical
// alarm makes it flash.

import type { AlarmCounts } from '../api-types.js';
import type { Translate } from '../i18n.js';
import { h, setText } from './dom.js';

export interface AlarmCounterView {
  readonly element: HTMLElement;
  /** null hides the counter (a viewer of a pilot that did not opt in). */
  setCounts(counts: AlarmCounts | null, audience: 'operator' | 'viewer'): void;
  flash(): void;
  setLanguage(t: Translate): void;
}

export function createAlarmCounter(onOpen: () => void): AlarmCounterView {
  const label = h('span', { class: 'alarm-counter__label' });
  const figure = h('span', { class: 'alarm-counter__figure', 'data-testid': 'alarm-counter-critical' });
  const element = h(
    'button',
    { type: 'button', class: 'header-button alarm-counter', 'data-testid': 'alarm-counter', hidden: true },
    h('span', { class: 'alarm-counter__dot', 'aria-hidden': 'true' }),
    label,
    figure,
  );
  element.addEventListener('click', () => {
    if (element.dataset.audience === 'operator') onOpen();
  });
  element.addEventListener('animationend', () => element.classList.remove('is-flashing'));
  let counts: AlarmCounts | null = null;
  let audience: 'operator' | 'viewer' = 'viewer';
  let t: Translate = (k) => k;

  function render(): void {
    element.hidden = !counts;
    if (!counts) return;
    element.dataset.audience = audience;
    element.classList.toggle('is-alert', counts.critical > 0);
    element.disabled = audience !== 'operator';
    setText(label, t('severity.CRITICAL'));
    setText(figure, String(counts.critical));
    const title = t(audience === 'operator' ? 'alarms.counterOperator' : 'alarms.counterViewer', { ...counts });
    element.title = title;
    element.setAttribute('aria-label', title);
  }

  return {
    element,
    setCounts(next, who) {
      counts = next;
      audience = who;
      render();
    },
    flash() {
      // Restarting the animation: drop the class, force a style flush, add it again.
      element.classList.remove('is-flashing');
      void element.offsetWidth;
      element.classList.add('is-flashing');
      element.dataset.flashes = String(Number(element.dataset.flashes ?? 0) + 1);
    },
    setLanguage(next) {
      t = next;
      render();
    },
  };
}
