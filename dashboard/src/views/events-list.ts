// The events of the time range (newest first): time, type, cause, severity and vehicle. Each is a
// button that flies the map to where it happened (and, in replay, moves the cursor there). A
// filter by type. Viewers see no detail text and no raw source ids.

import { EVENT_TYPES } from '@michi/proto/event-types';
import type { MichiEvent, Role } from '../api-types.js';
import type { Formatters } from '../format.js';
import { isMessageKey, type Lang, type Translate } from '../i18n.js';
import { h, setText } from './dom.js';

export interface EventsListView {
  readonly element: HTMLElement;
  setEvents(events: readonly MichiEvent[] | null, failed?: boolean): void;
  setLanguage(lang: Lang, t: Translate, fmt: Formatters, timeZone: string): void;
  setRole(role: Role): void;
  /** Shows only events of this type ('' for all). */
  readonly typeFilter: string;
}

export function eventTypeLabel(type: string | null, t: Translate): string {
  const name = type ?? 'UNSPECIFIED';
  const key = `event.${name.replace(/^EVENT_TYPE_/, '')}`;
  return isMessageKey(key) ? t(key) : name;
}

export function causeLabel(cause: string | null | undefined, t: Translate): string | null {
  if (!cause) return null;
  const key = `cause.${cause.replace(/^EVENT_CAUSE_/, '')}`;
  return isMessageKey(key) ? t(key) : cause;
}

export function createEventsList({
  onSelect,
  onFilter,
  sourceName,
}: {
  onSelect: (event: MichiEvent) => void;
  onFilter: (type: string) => void;
  sourceName: (sourceId: string) => string;
}): EventsListView {
  const heading = h('h2', { class: 'panel-heading', id: 'events-heading' });
  const filterLabel = h('label', { for: 'events-filter', class: 'events__filter-label' });
  const filter = h('select', { id: 'events-filter', class: 'events__filter', 'data-testid': 'events-filter' });
  filter.addEventListener('change', () => onFilter(filter.value));
  const status = h('p', { class: 'events__status', role: 'status' });
  const list = h('ol', { class: 'events', 'data-testid': 'events-list', 'aria-labelledby': 'events-heading' });
  const element = h(
    'section',
    { class: 'events-section' },
    h('div', { class: 'panel-heading-row' }, heading, h('span', { class: 'header-spacer' }), filterLabel, filter),
    status,
    list,
  );
  let events: readonly MichiEvent[] | null = null;
  let failed = false;
  let t: Translate = (k) => k;
  let fmt: Formatters | null = null;
  let zone = 'Asia/Tokyo';
  let role: Role = 'viewer';

  function renderFilter(): void {
    const value = filter.value;
    filter.replaceChildren(
      h('option', { value: '' }, t('events.all')),
      ...EVENT_TYPES.map((type) => h('option', { value: type }, eventTypeLabel(type, t))),
    );
    filter.value = value;
  }

  function render(): void {
    if (!fmt) return;
    setText(status, failed ? t('events.error') : events && events.length === 0 ? t('events.empty') : '');
    status.hidden = !status.textContent;
    list.replaceChildren(
      ...(events ?? []).map((event) => {
        const severity = String(event.severity ?? 'INFO').replace(/^SEVERITY_/, '');
        const type = eventTypeLabel(event.type, t);
        const time = fmt!.clock(event.ts_ms, zone);
        const cause = causeLabel(event.cause, t);
        const sevKey = `severity.${severity}`;
        const lines: (HTMLElement | string)[] = [
          h(
            'span',
            { class: 'event__line' },
            h('span', { class: `event__severity severity-${severity.toLowerCase()}` }, isMessageKey(sevKey) ? t(sevKey) : severity),
            h('strong', {}, type),
            h('time', { class: 'event__time', datetime: new Date(event.ts_ms).toISOString() }, time),
          ),
          h(
            'span',
            { class: 'event__line event__meta' },
            [
              sourceName(event.source),
              cause,
              event.duration_ms ? t('events.duration', { duration: fmt!.duration(event.duration_ms) }) : null,
            ]
              .filter(Boolean)
              .join(' · '),
          ),
        ];
        if (role === 'operator' && event.detail)
          lines.push(h('span', { class: 'event__detail', 'data-testid': 'event-detail' }, event.detail));
        const button = h(
          'button',
          { type: 'button', class: 'event', 'data-testid': 'event-row', 'data-ts': event.ts_ms, title: t('events.show', { time, type }) },
          ...lines,
        );
        button.addEventListener('click', () => onSelect(event));
        return h('li', {}, button);
      }),
    );
  }

  return {
    element,
    setEvents(next, didFail = false) {
      events = next;
      failed = didFail;
      render();
    },
    setLanguage(_lang, nextT, nextFmt, timeZone) {
      t = nextT;
      fmt = nextFmt;
      zone = timeZone;
      setText(heading, t('events.title'));
      setText(filterLabel, t('events.filter'));
      renderFilter();
      render();
    },
    setRole(next) {
      role = next;
      render();
    },
    get typeFilter() {
      return filter.value;
    },
  };
}
