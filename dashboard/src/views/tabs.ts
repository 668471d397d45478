// The side panel's tabs (vehicles, alarms, sensors, events, KPIs, data quality), as the WAI-ARIA
// tabs pattern: arrow keys move between tabs, Tab goes into the panel. Tabs can be hidden (alarms
// and data quality for viewers, sensors for a pilot without any).

import type { MessageKey, Translate } from '../i18n.js';
import { h, setText } from './dom.js';

export type TabId = 'vehicles' | 'alarms' | 'sensors' | 'events' | 'kpis' | 'data';

export interface TabsView {
  readonly element: HTMLElement;
  readonly panels: Record<TabId, HTMLElement>;
  select(id: TabId): void;
  setHidden(id: TabId, hidden: boolean): void;
  setLanguage(t: Translate): void;
  readonly selected: TabId;
}

const TABS: readonly { id: TabId; label: MessageKey }[] = [
  { id: 'vehicles', label: 'tab.vehicles' },
  { id: 'alarms', label: 'tab.alarms' },
  { id: 'sensors', label: 'tab.sensors' },
  { id: 'events', label: 'tab.events' },
  { id: 'kpis', label: 'tab.kpis' },
  { id: 'data', label: 'tab.data' },
];

export function createTabs(onSelect: (id: TabId) => void): TabsView {
  const list = h('div', { class: 'tabs', role: 'tablist' });
  const buttons = {} as Record<TabId, HTMLButtonElement>;
  const panels = {} as Record<TabId, HTMLElement>;
  for (const { id } of TABS) {
    const button = h('button', {
      type: 'button',
      role: 'tab',
      id: `tab-${id}`,
      class: 'tabs__tab',
      'aria-controls': `panel-${id}`,
      'data-testid': `tab-${id}`,
    });
    button.addEventListener('click', () => select(id, true));
    buttons[id] = button;
    panels[id] = h('div', {
      role: 'tabpanel',
      id: `panel-${id}`,
      class: 'tabs__panel',
      'aria-labelledby': `tab-${id}`,
      'data-testid': `panel-${id}`,
    });
    list.append(button);
  }
  list.addEventListener('keydown', (event) => {
    if (!['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(event.key)) return;
    const visible = TABS.map((t) => t.id).filter((id) => !buttons[id].hidden);
    const at = visible.indexOf(selected);
    let next = at;
    if (event.key === 'ArrowLeft') next = (at - 1 + visible.length) % visible.length;
    if (event.key === 'ArrowRight') next = (at + 1) % visible.length;
    if (event.key === 'Home') next = 0;
    if (event.key === 'End') next = visible.length - 1;
    event.preventDefault();
    select(visible[next]!, true);
    buttons[visible[next]!].focus();
  });
  let selected: TabId = 'vehicles';

  function select(id: TabId, notify = false): void {
    selected = id;
    for (const { id: other } of TABS) {
      const on = other === id;
      buttons[other].setAttribute('aria-selected', String(on));
      buttons[other].tabIndex = on ? 0 : -1;
      panels[other].hidden = !on;
    }
    if (notify) onSelect(id);
  }
  select('vehicles');

  const element = h('div', { class: 'tabs-block' }, list, ...TABS.map((t) => panels[t.id]));
  return {
    element,
    panels,
    select: (id) => select(id, true),
    setHidden(id, hidden) {
      buttons[id].hidden = hidden;
      if (hidden && selected === id) select('vehicles', true);
    },
    setLanguage(t) {
      list.setAttribute('aria-label', t('tabs.label'));
      for (const { id, label } of TABS) setText(buttons[id], t(label));
    },
    get selected() {
      return selected;
    },
  };
}
