// How a roadside sensor's latest reading reads: its kind, the names of its counts and measures in
// the chosen language, each measure with its unit, and whether the reading is too old to trust.
// Shared by the sensor list, the sensor panel and the sensor markers.

import type { SensorStatus } from '../api-types.js';
import type { Formatters } from '../format.js';
import { isMessageKey, type Translate } from '../i18n.js';

/**
 * A reading older than this is shown dimmed. Longer than the vehicles' 10 s: the slowest sensor
 * the seeds allow reports every 10 s (0.1 per second), and the list polls every few seconds.
 */
export const SENSOR_STALE_AFTER_MS = 60_000;

export type SensorLatest = NonNullable<SensorStatus['latest']>;

export interface ReadingEntry {
  /** `count.pedestrians`, `measure.queue_length_m`: unique within a reading, for test ids. */
  key: string;
  label: string;
  value: string;
}

export function sensorKindLabel(kind: string, t: Translate): string {
  const key = `sensorKind.${kind}`;
  return isMessageKey(key) ? t(key) : kind;
}

export function isSensorStale(latest: SensorLatest | null | undefined, nowMs: number): boolean {
  return !latest || nowMs - latest.ts_ms > SENSOR_STALE_AFTER_MS;
}

/**
 * A measure's unit is the end of its name, as the telemetry contract names them (`queue_length_m`,
 * `rain_mm_h`); longer endings first, so `_mm_h` is not read as `_h`. A name with no known
 * ending is a plain number.
 */
const UNITS: readonly { suffix: string; format: (v: number, f: Formatters) => string }[] = [
  { suffix: '_kmh', format: (v, f) => f.speed(v / 3.6) },
  { suffix: '_mm_h', format: (v, f) => f.withUnit(v, 'mm/h', 1) },
  { suffix: '_mps', format: (v, f) => f.withUnit(v, 'm/s', 1) },
  { suffix: '_pct', format: (v, f) => f.share(v / 100) },
  { suffix: '_c', format: (v, f) => f.withUnit(v, '°C', 1) },
  { suffix: '_m', format: (v, f) => f.withUnit(v, 'm', 1) },
];

export function measureText(name: string, value: number, f: Formatters): string {
  const unit = UNITS.find((u) => name.endsWith(u.suffix));
  return unit ? unit.format(value, f) : f.decimal(value, 2);
}

/** Counts first, then measures, each named in the chosen language; a name the dictionary lacks is shown as sent. */
export function readingEntries(latest: SensorLatest | null | undefined, t: Translate, f: Formatters): ReadingEntry[] {
  if (!latest) return [];
  const label = (group: 'count' | 'measure', name: string) => {
    const key = `${group}.${name}`;
    return isMessageKey(key) ? t(key) : name;
  };
  return [
    ...Object.entries(latest.counts ?? {}).map(([name, n]) => ({ key: `count.${name}`, label: label('count', name), value: f.integer(n) })),
    ...Object.entries(latest.measures ?? {}).map(([name, v]) => ({
      key: `measure.${name}`,
      label: label('measure', name),
      value: measureText(name, v, f),
    })),
  ];
}
