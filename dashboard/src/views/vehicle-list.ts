// The side panel's list of a pilot's vehicles: name, kind, autonomy mode, speed, battery and how
// long ago it last reported. Each row is a button (keyboard and screen-reader usable) that
// selects the vehicle and flies the map to it. Rows are updated in place once a second, so focus
// and a screen reader's position survive the refresh.

import type { PilotVehicle, VehicleStatus } from '../api.js';
import type { Formatters } from '../format.js';
import { isMessageKey, pick, type Lang, type Translate } from '../i18n.js';
import { modeClass, modeLabelKey } from '../modes.js';
import { STALE_AFTER_MS } from '../staleness.js';
import { h, setAttr, setClass, setText } from './dom.js';
import { listedFirst, syncRows, type ListedItem } from './sync-rows.js';

interface Row {
  item: HTMLLIElement;
  button: HTMLButtonElement;
  dot: HTMLElement;
  name: HTMLElement;
  kind: HTMLElement;
  mode: HTMLElement;
  speed: HTMLElement;
  battery: HTMLElement;
  age: HTMLElement;
}

export interface VehicleListView {
  readonly element: HTMLElement;
  /** The pilot's vehicles, in the pilot file's order, before any state has arrived. */
  setVehicles(vehicles: readonly PilotVehicle[]): void;
  update(statuses: readonly VehicleStatus[], nowMs: number): void;
  /** Ages and staleness move on without new data. */
  refresh(nowMs: number): void;
  /** How old a reading may be before its row is dimmed (longer for viewers of a delayed pilot). */
  setStaleAfter(ms: number, nowMs: number): void;
  select(vehicleId: string | null): void;
  setLanguage(lang: Lang, t: Translate, fmt: Formatters, nowMs: number): void;
}

/** A small battery gauge plus the percentage; the word "battery" is there for screen readers only. */
function renderBattery(el: HTMLElement, pct: number | null, t: Translate, fmt: Formatters | null): void {
  if (pct === null || !fmt) {
    if (el.childNodes.length) el.replaceChildren();
    return;
  }
  const level = Math.max(0, Math.min(100, pct));
  const text = fmt.percent(level);
  const key = `${Math.round(level)}|${text}|${t('vehicle.battery')}`;
  if (el.dataset.key === key) return;
  el.dataset.key = key;
  const fill = h('span', { class: 'battery-gauge__level' });
  fill.style.width = `${level}%`;
  const gauge = h('span', { class: 'battery-gauge', 'aria-hidden': 'true' }, fill);
  gauge.classList.toggle('is-low', level < 20);
  el.replaceChildren(gauge, h('span', { class: 'visually-hidden' }, `${t('vehicle.battery')} `), text);
}

/** Rows drawn at most; beyond, the list says how many more the map shows. */
export const LIST_LIMIT = 60;

export function createVehicleList({ onSelect }: { onSelect: (vehicleId: string) => void }): VehicleListView {
  const heading = h('h2', { class: 'panel-heading', id: 'vehicles-heading' });
  const count = h('span', { class: 'panel-heading__count' });
  const empty = h('p', { class: 'vehicle-list__empty', hidden: true });
  const list = h('ul', { class: 'vehicle-list', 'data-testid': 'vehicle-list', 'aria-labelledby': 'vehicles-heading' });
  const more = h('p', { class: 'vehicle-list__empty', hidden: true, 'data-testid': 'vehicle-list-more' });
  const element = h(
    'section',
    { class: 'vehicle-section', 'data-testid': 'vehicle-section' },
    h('div', { class: 'panel-heading-row' }, heading, count),
    empty,
    list,
    more,
  );

  const rows = new Map<string, Row>();
  let known: readonly PilotVehicle[] = [];
  let statuses = new Map<string, VehicleStatus>();
  let selected: string | null = null;
  let lang: Lang = 'ja';
  let t: Translate = (key) => key;
  let fmt: Formatters | null = null;
  let lastNow = 0;
  let staleAfter = STALE_AFTER_MS;

  function createRow(id: string): Row {
    const dot = h('span', { class: 'mode-dot', 'aria-hidden': 'true' });
    const name = h('span', { class: 'vehicle-row__name' });
    const kind = h('span', { class: 'vehicle-row__kind' });
    const mode = h('span', { class: 'mode-badge' });
    const speed = h('span', { class: 'vehicle-row__speed', 'data-testid': 'vehicle-speed' });
    const battery = h('span', { class: 'vehicle-row__battery' });
    const age = h('span', { class: 'vehicle-row__age', 'data-testid': 'vehicle-age' });
    const button = h(
      'button',
      { type: 'button', class: 'vehicle-row', 'data-testid': 'vehicle-row', 'data-vehicle-id': id, 'aria-pressed': 'false' },
      h('span', { class: 'vehicle-row__line' }, dot, name, mode),
      h('span', { class: 'vehicle-row__line vehicle-row__meta' }, kind, speed, battery, age),
    );
    button.addEventListener('click', () => onSelect(id));
    const item = h('li', {}, button);
    return { item, button, dot, name, kind, mode, speed, battery, age };
  }

  function render(): void {
    // Vehicles the API reports but the pilot file does not list (a new one) go at the end.
    const all = listedFirst(known, statuses.values());
    // A fleet of hundreds: the list shows the selected vehicle and the first LIST_LIMIT others
    // (the map shows them all); a thousand rows re-rendered every second would take the main thread.
    const vehicles = all.length > LIST_LIMIT ? all.filter((v, i) => i < LIST_LIMIT || v.id === selected) : all;
    syncRows(list, rows, vehicles, createRow, (row, vehicle) => fill(row, vehicle, statuses.get(vehicle.id)?.state ?? null));
    setText(count, fmt ? fmt.integer(all.length) : String(all.length));
    const live = all.reduce((n, v) => (statuses.get(v.id)?.state ? n + 1 : n), 0);
    // How many report, for tools and tests (the rows of a large fleet are not all drawn).
    if (element.dataset.live !== String(live)) element.dataset.live = String(live);
    more.hidden = all.length <= vehicles.length;
    if (!more.hidden)
      setText(
        more,
        t('vehicles.more', {
          shown: fmt ? fmt.integer(vehicles.length) : String(vehicles.length),
          total: fmt ? fmt.integer(all.length) : String(all.length),
        }),
      );
    empty.hidden = all.length > 0;
  }

  function fill(row: Row, vehicle: ListedItem, state: VehicleStatus['state']): void {
    const stale = !state || lastNow - state.ts_ms > staleAfter;
    const cls = modeClass(state?.mode);
    const name = pick(vehicle.name, lang);
    setText(row.name, name);
    const kindKey = `kind.${vehicle.kind}`;
    setText(row.kind, isMessageKey(kindKey) ? t(kindKey) : vehicle.kind);
    setClass(row.dot, `mode-dot mode-${cls}`);
    setClass(row.mode, `mode-badge mode-${cls}`);
    setText(row.mode, state ? t(modeLabelKey(state.mode)) : t('vehicle.noData'));
    setText(row.speed, state?.speed_mps != null && fmt ? fmt.speed(state.speed_mps) : '—');
    renderBattery(row.battery, fmt && state?.battery_pct != null && Number.isFinite(state.battery_pct) ? state.battery_pct : null, t, fmt);
    setText(row.age, state && fmt ? fmt.age(lastNow - state.ts_ms) : '');
    setClass(row.button, `vehicle-row${stale ? ' is-stale' : ''}${vehicle.id === selected ? ' is-selected' : ''}`);
    setAttr(row.button, 'aria-pressed', String(vehicle.id === selected));
    setAttr(row.button, 'title', t('vehicle.show', { name }));
    if (row.button.disabled !== !state) row.button.disabled = !state;
  }

  return {
    element,
    setVehicles(vehicles) {
      known = vehicles;
      statuses = new Map();
      render();
    },
    update(next, nowMs) {
      statuses = new Map(next.map((s) => [s.id, s]));
      lastNow = nowMs;
      render();
    },
    refresh(nowMs) {
      lastNow = nowMs;
      render();
    },
    setStaleAfter(ms, nowMs) {
      staleAfter = ms;
      lastNow = nowMs;
      render();
    },
    select(vehicleId) {
      selected = vehicleId;
      render();
    },
    setLanguage(nextLang, nextT, nextFmt, nowMs) {
      lang = nextLang;
      t = nextT;
      fmt = nextFmt;
      lastNow = nowMs;
      setText(heading, t('vehicles.title'));
      setText(empty, t('vehicles.empty'));
      render();
    },
  };
}
