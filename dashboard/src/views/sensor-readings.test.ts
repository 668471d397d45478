import { describe, expect, it } from 'vitest';
import { formatters } from '../format.js';
import { translator } from '../i18n.js';
import { isSensorStale, measureText, readingEntries, sensorKindLabel } from './sensor-readings.js';

const en = { t: translator('en'), f: formatters('en') };
const ja = { t: translator('ja'), f: formatters('ja') };

describe('sensor readings', () => {
  it('names the kind of sensor in the chosen language, and an unknown kind as sent', () => {
    expect(sensorKindLabel('weather', ja.t)).toBe('気象センサー');
    expect(sensorKindLabel('counter', en.t)).toBe('Traffic counter');
    expect(sensorKindLabel('sonar', en.t)).toBe('sonar');
  });

  it('reads the unit from the end of a measure name', () => {
    expect(measureText('queue_length_m', 35.54, en.f)).toBe('35.5 m');
    expect(measureText('rain_mm_h', 0.4, en.f)).toBe('0.4 mm/h');
    expect(measureText('wind_mps', 3.21, en.f)).toBe('3.2 m/s');
    expect(measureText('temperature_c', -2.5, en.f)).toBe('-2.5 °C');
    expect(measureText('occupancy_pct', 25.3, en.f)).toBe('25.3%');
    expect(measureText('mean_speed_kmh', 32.4, en.f)).toBe('32 km/h');
    expect(measureText('visibility_m', 10_000, ja.f)).toBe('10,000 m');
    expect(measureText('glare_index', 0.1234, en.f)).toBe('0.12');
  });

  it('lists counts then measures, named in the chosen language, an unknown name as sent', () => {
    const latest = { ts_ms: 0, counts: { pedestrians: 3, scooters: 1200 }, measures: { queue_length_m: 12 } };
    expect(readingEntries(latest, ja.t, ja.f)).toEqual([
      { key: 'count.pedestrians', label: '歩行者', value: '3' },
      { key: 'count.scooters', label: 'scooters', value: '1,200' },
      { key: 'measure.queue_length_m', label: '待ち行列長', value: '12 m' },
    ]);
    expect(readingEntries({ ts_ms: 0, counts: {}, measures: {} }, en.t, en.f)).toEqual([]);
    expect(readingEntries(null, en.t, en.f)).toEqual([]);
  });

  it('calls a reading stale after a minute, and a sensor without one stale', () => {
    expect(isSensorStale({ ts_ms: 1000, counts: {}, measures: {} }, 61_000)).toBe(false);
    expect(isSensorStale({ ts_ms: 1000, counts: {}, measures: {} }, 61_001)).toBe(true);
    expect(isSensorStale(null, 0)).toBe(true);
  });
});
