// The panel of the selected roadside sensor, over the map where the vehicle panel goes: its kind,
// when it last measured, and every count and measure of that reading. Viewers do not see the
// sensor id (it may be an alias, and names say more to them anyway).

import type { PilotSensor, SensorStatus } from '../api-types.js';
import { pick, type MessageKey } from '../i18n.js';
import { createDetailView, detailRow, type DetailLocale, type DetailShell, type DetailView } from './detail-view.js';
import { h, setText } from './dom.js';
import { readingEntries, sensorKindLabel, type ReadingEntry } from './sensor-readings.js';

export interface SensorDetailData {
  sensor: Pick<PilotSensor, 'id' | 'kind' | 'name'>;
  latest: SensorStatus['latest'];
  nowMs: number;
}

export type SensorDetailView = DetailView<SensorDetailData>;

export function createSensorDetail({ onClose }: { onClose: () => void }): SensorDetailView {
  return createDetailView('sensor', onClose, renderSensor);
}

function renderSensor(
  { title, body }: DetailShell,
  { sensor, latest, nowMs }: SensorDetailData,
  { lang, t, fmt, zone, role }: DetailLocale,
): void {
  const section = (heading: MessageKey, entries: ReadingEntry[]) =>
    entries.length === 0
      ? []
      : [
          h('h3', { class: 'detail__chart-title' }, t(heading)),
          h(
            'dl',
            { class: 'detail__list', 'data-testid': heading === 'sensor.counts' ? 'sensor-detail-counts' : 'sensor-detail-measures' },
            ...entries.map((e) => detailRow(e.label, e.value, `sensor-detail-${e.key}`)),
          ),
        ];
  setText(title, pick(sensor.name, lang));
  const rows: HTMLElement[] = [];
  if (role === 'operator') rows.push(detailRow(t('sensor.id'), sensor.id, 'sensor-detail-id'));
  rows.push(detailRow(t('sensor.kind'), sensorKindLabel(sensor.kind, t), 'sensor-detail-kind'));
  rows.push(
    detailRow(
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
