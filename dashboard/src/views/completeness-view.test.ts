import { describe, expect, it } from 'vitest';
import { formatters } from '../format.js';
import { translator } from '../i18n.js';
import { backlogText, gapRanges, kindLabel, lagText } from './completeness-view.js';

const en = { t: translator('en'), f: formatters('en') };
const ja = { t: translator('ja'), f: formatters('ja') };

describe('the completeness table', () => {
  it('names the kind of source in the chosen language, and an unknown kind as sent', () => {
    expect(kindLabel('vehicle', ja.t)).toBe('車両');
    expect(kindLabel('sensor', en.t)).toBe('Sensor');
    expect(kindLabel('drone', en.t)).toBe('drone');
  });

  it('writes the gap ranges out, a single missing number alone, and says when the API listed only the first gaps', () => {
    const gaps = [
      { from_seq: 32, to_seq: 50 },
      { from_seq: 62, to_seq: 62 },
    ];
    expect(gapRanges({ gaps, missing: 20 }, en.t)).toBe('32–50, 62');
    expect(gapRanges({ gaps, missing: 25 }, en.t)).toBe('32–50, 62, and more');
    expect(gapRanges({ gaps, missing: 25 }, ja.t)).toBe('32–50, 62, ほか');
    expect(gapRanges({ gaps: [], missing: 0 }, en.t)).toBe('—');
  });

  it('shows the lag in ms while live and in s or min for a backlog', () => {
    expect(lagText(100, en.f)).toBe('100 ms');
    expect(lagText(150_000, en.f)).toMatch(/^2\.5 mins?$/);
    expect(lagText(null, en.f)).toBe('—');
  });

  it('says whether a backlog is still draining, with how many late readings arrived in the last minute', () => {
    expect(backlogText({ draining: true, backlog_last_minute: 1830 }, en.t, en.f)).toBe('Draining (1,830 in the last minute)');
    expect(backlogText({ draining: true, backlog_last_minute: 2 }, ja.t, ja.f)).toBe('受信中（直近1分に 2 件）');
    expect(backlogText({ draining: false, backlog_last_minute: 0 }, en.t, en.f)).toBe('None');
  });
});
