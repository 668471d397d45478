// The side panel's list of a pilot's roadside sensors: name, kind, how long ago each last
// measured, and its latest counts and measures. Each row is a button that selects the sensor
// (its panel opens, the map flies to it). Rows are updated in place, as the vehicle list's are, so
// focus and a screen reader's position survive the polls and the once-a-second ages.

import type { PilotSensor, SensorStatus } from '../api-types.js';
import type { Formatters } from '../format.js';
import { pick, type Lang, type Translate } from '../i18n.js';
import { h, setAttr, setClass, setText } from './dom.js';
import { isSensorStale, readingEntries, sensorKindLabel } from './sensor-readings.js';
import { listedFirst, syncRows, type ListedItem } from './sync-rows.js';

interface Row {
  item: HTMLLIElement;
  button: HTMLButtonElement;
  name: HTMLElement;
  kind: HTMLElement;
  age: HTMLElement;
  values: HTMLElement;
}

export interface SensorListView {
  readonly element: HTMLElement;
  /** The pilot's sensors, in the pilot file's order, before any reading has arrived. */
  setSensors(sensors: readonly PilotSensor[]): void;
  /** The latest /sensors answer; `failed` keeps the readings shown and says they could not be refreshed. */
  update(statuses: readonly SensorStatus[] | null, nowMs: number, failed?: boolean): void;
  refresh(nowMs: number): void;
  select(sensorId: string | null): void;
  /** In replay the readings are still the latest ones, and the list says so. */
  setReplay(replay: boolean): void;
  setLanguage(lang: Lang, t: Translate, fmt: Formatters, nowMs: number): void;
}

export function createSensorList({ onSelect }: { onSelect: (sensorId: string) => void }): SensorListView {
  const heading = h('h2', { class: 'panel-heading', id: 'sensors-heading' });
  const count = h('span', { class: 'panel-heading__count' });
  const status = h('p', { class: 'vehicle-list__empty', role: 'status', hidden: true, 'data-testid': 'sensor-list-status' });
  const list = h('ul', { class: 'vehicle-list', 'data-testid': 'sensor-list', 'aria-labelledby': 'sensors-heading' });
  const element = h(
    'section',
    { class: 'vehicle-section', 'data-testid': 'sensor-section' },
    h('div', { class: 'panel-heading-row' }, heading, count),
    status,
    list,
  );

  const rows = new Map<string, Row>();
  let known: readonly PilotSensor[] = [];
  let statuses = new Map<string, SensorStatus>();
  let failed = false;
  let replay = false;
  let selected: string | null = null;
  let lang: Lang = 'ja';
  let t: Translate = (key) => key;
  let fmt: Formatters | null = null;
  let lastNow = 0;

  function createRow(id: string): Row {
    const name = h('span', { class: 'vehicle-row__name' });
    const kind = h('span', { class: 'sensor-row__kind' });
    const age = h('span', { class: 'vehicle-row__age', 'data-testid': 'sensor-age' });
    const values = h('span', { class: 'sensor-row__values', 'data-testid': 'sensor-values' });
    const button = h(
      'button',
      { type: 'button', class: 'vehicle-row sensor-row', 'data-testid': 'sensor-row', 'data-sensor-id': id, 'aria-pressed': 'false' },
      h('span', { class: 'vehicle-row__line' }, h('span', { class: 'sensor-icon', 'aria-hidden': 'true' }), name, age),
      h('span', { class: 'vehicle-row__line vehicle-row__meta' }, kind),
      values,
    );
    button.addEventListener('click', () => onSelect(id));
    return { item: h('li', {}, button), button, name, kind, age, values };
  }

  function render(): void {
    // Sensors the API reports but the pilot file does not list (a newer seed) go at the end.
    const all = listedFirst(known, statuses.values());
    syncRows(list, rows, all, createRow, (row, sensor) => fill(row, sensor, statuses.get(sensor.id)?.latest ?? null));
    setText(count, fmt ? fmt.integer(all.length) : String(all.length));
    const reporting = String(all.filter((s) => statuses.get(s.id)?.latest).length);
    // How many have a reading, for tools and tests.
    if (element.dataset.reporting !== reporting) element.dataset.reporting = reporting;
    setText(status, failed ? t('sensors.error') : replay ? t('sensors.replayNote') : '');
    status.hidden = !status.textContent;
  }

  function fill(row: Row, sensor: ListedItem, latest: SensorStatus['latest']): void {
    const name = pick(sensor.name, lang);
    setText(row.name, name);
    setText(row.kind, sensorKindLabel(sensor.kind, t));
    setText(row.age, latest && fmt ? fmt.age(lastNow - latest.ts_ms) : t('sensor.noData'));
    const entries = fmt ? readingEntries(latest, t, fmt) : [];
    // Rebuilt only when a figure changed: the ages tick every second, the readings every poll.
    const key = entries.map((e) => `${e.key}=${e.label}=${e.value}`).join('|');
    if (row.values.dataset.key !== key) {
      row.values.dataset.key = key;
      row.values.replaceChildren(
        ...entries.map((e) =>
          h(
            'span',
            { class: 'sensor-row__value', 'data-reading': e.key },
            h('span', { class: 'sensor-row__label' }, e.label),
            ' ',
            h('span', { class: 'sensor-row__figure' }, e.value),
          ),
        ),
      );
    }
    const cls = `vehicle-row sensor-row${latest && isSensorStale(latest, lastNow) ? ' is-stale' : ''}${sensor.id === selected ? ' is-selected' : ''}`;
    setClass(row.button, cls);
    setAttr(row.button, 'aria-pressed', String(sensor.id === selected));
    setAttr(row.button, 'title', t('sensor.show', { name }));
  }

  return {
    element,
    setSensors(sensors) {
      known = sensors;
      statuses = new Map();
      failed = false;
      render();
    },
    update(next, nowMs, didFail = false) {
      if (next) statuses = new Map(next.map((s) => [s.id, s]));
      failed = didFail;
      lastNow = nowMs;
      render();
    },
    refresh(nowMs) {
      lastNow = nowMs;
      render();
    },
    select(sensorId) {
      selected = sensorId;
      render();
    },
    setReplay(next) {
      replay = next;
      render();
    },
    setLanguage(nextLang, nextT, nextFmt, nowMs) {
      lang = nextLang;
      t = nextT;
      fmt = nextFmt;
      lastNow = nowMs;
      setText(heading, t('sensors.title'));
      render();
    },
  };
}
