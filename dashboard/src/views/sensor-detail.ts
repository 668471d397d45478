// The panel of the selected roadside sensor, over the map where the vehicle panel goes: its kind,
// when it last measured, and every count and measure of that reading. Viewers do not see the
// sensor id (it may be an alias, and names say more to them anyway).

import type { PilotSensor, Role, SensorStatus } from '../api-types.js';
import type { Formatters } from '../format.js';
import { pick, type Lang, type MessageKey, type Translate } from '../i18n.js';
import { createDetailShell } from './detail-shell.js';
import { h, setText } from './dom.js';
import { readingEntries, sensorKindLabel, type ReadingEntry } from './sensor-readings.js';

export interface SensorDetailData {
  sensor: Pick<PilotSensor, 'id' | 'kind' | 'name'>;
  latest: SensorStatus['latest'];
  nowMs: number;
}

export interface SensorDetailView {
  readonly element: HTMLElement;
  show(data: SensorDetailData | null): void;
  setLanguage(lang: Lang, t: Translate, fmt: Formatters, timeZone: string): void;
  setRole(role: Role): void;
}

export function createSensorDetail({ onClose }: { onClose: () => void }): SensorDetailView {
  const { element, title, close, body } = createDetailShell('sensor', onClose);
  let data: SensorDetailData | null = null;
  let lang: Lang = 'ja';
  let t: Translate = (k) => k;
  let fmt: Formatters | null = null;
  let zone = 'Asia/Tokyo';
  let role: Role = 'viewer';

  const row = (term: string, value: string, testid?: string) =>
    h('div', { class: 'detail__row' }, h('dt', {}, term), h('dd', testid ? { 'data-testid': testid } : {}, value));
  const section = (heading: MessageKey, entries: ReadingEntry[]) =>
    entries.length === 0
      ? []
      : [
          h('h3', { class: 'detail__chart-title' }, t(heading)),
          h(
            'dl',
            { class: 'detail__list', 'data-testid': heading === 'sensor.counts' ? 'sensor-detail-counts' : 'sensor-detail-measures' },
            ...entries.map((e) => row(e.label, e.value, `sensor-detail-${e.key}`)),
          ),
        ];

  function render(): void {
    element.hidden = !data;
    if (!data || !fmt) return;
    const { sensor, latest, nowMs } = data;
    setText(title, pick(sensor.name, lang));
    close.setAttribute('aria-label', t('panel.close'));
    close.title = t('panel.close');
    const rows: HTMLElement[] = [];
    if (role === 'operator') rows.push(row(t('sensor.id'), sensor.id, 'sensor-detail-id'));
    rows.push(row(t('sensor.kind'), sensorKindLabel(sensor.kind, t), 'sensor-detail-kind'));
    rows.push(
      row(
        t('sensor.updated'),
        latest ? `${fmt.dateTime(latest.ts_ms, zone)} · ${fmt.age(nowMs - latest.ts_ms)}` : t('sensor.noData'),
        'sensor-detail-updated',
      ),
    );
    const entries = readingEntries(latest, t, fmt);
    const counts = entries.filter((e) => e.key.startsWith('count.'));
    const measures = entries.filter((e) => e.key.startsWith('measure.'));
    body.replaceChildren(
      h('dl', { class: 'detail__list' }, ...rows),
      ...section('sensor.counts', counts),
      ...section('sensor.measures', measures),
      ...(latest && entries.length === 0 ? [h('p', { class: 'detail__empty' }, t('sensor.noValues'))] : []),
    );
  }

  return {
    element,
    show(next) {
      data = next;
      render();
    },
    setLanguage(nextLang, nextT, nextFmt, timeZone) {
      lang = nextLang;
      t = nextT;
      fmt = nextFmt;
      zone = timeZone;
      render();
    },
    setRole(next) {
      role = next;
      render();
    },
  };
}
