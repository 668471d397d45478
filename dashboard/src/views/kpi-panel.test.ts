import { describe, expect, it } from 'vitest';
import { formatters } from '../format.js';
import { translator } from '../i18n.js';
import { causeBars } from './kpi-panel.js';

describe('causeBars', () => {
  const en = { t: translator('en'), f: formatters('en') };
  const ja = { t: translator('ja'), f: formatters('ja') };

  it('puts the most frequent cause first, the count in the label and the figure per 100 km beside the bar', () => {
    const bars = causeBars({ LOCALIZATION: 1, PARKED_VEHICLE: 2 }, { LOCALIZATION: 29.0294, PARKED_VEHICLE: 58.0588 }, en.t, en.f);
    expect(bars).toEqual([
      { label: 'Parked vehicle (2)', value: 2, text: '58.1' },
      { label: 'Localization (1)', value: 1, text: '29' },
    ]);
    expect(causeBars({ PEDESTRIAN: 1 }, { PEDESTRIAN: 29.0294 }, ja.t, ja.f)).toEqual([{ label: '歩行者（1 件）', value: 1, text: '29' }]);
  });

  it('shows a dash instead of a figure per 100 km when nothing was driven, and keeps unknown causes as sent', () => {
    expect(causeBars({ NEW_CAUSE: 3 }, null, en.t, en.f)).toEqual([{ label: 'NEW_CAUSE (3)', value: 3, text: '—' }]);
    expect(causeBars(undefined, undefined, en.t, en.f)).toEqual([]);
  });
});
