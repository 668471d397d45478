// Shared by the alarm integration tests: the fixture pilots with short alarm thresholds, so that
// each rule family raises and clears within a second or two of readings sent as a gateway would.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { michi } from '@michi/proto';
import { FIXTURE_SEEDS, takeover } from './support.js';

const square = (lon: number, lat: number, d: number) => ({
  type: 'Polygon',
  coordinates: [
    [
      [lon, lat],
      [lon + d, lat],
      [lon + d, lat + d],
      [lon, lat + d],
      [lon, lat],
    ],
  ],
});

/** Inside test-town's operational area (gf-op: lon 139.072..139.075, lat 36.383..36.389). */
export const NO_GO = { lon: 139.0725, lat: 36.3835 };
export const SLOW = { lon: 139.0742, lat: 36.3872 };
export const OUTSIDE = { lon: 139.08, lat: 36.39 };

/** A seeds directory: test-town with the `alarms` section and overrides given, other-town as it is. */
export function alarmSeeds(alarms: Record<string, unknown>, patch: (town: Record<string, unknown>) => void = () => {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'michi-alarm-seeds-'));
  const town = JSON.parse(readFileSync(join(FIXTURE_SEEDS, 'test-town.json'), 'utf8')) as Record<string, unknown>;
  town['alarms'] = alarms;
  (town['geofences'] as unknown[]).push(
    {
      id: 'gf-nogo',
      name: { ja: '立入禁止', en: 'No go' },
      kind: 'no-go',
      geometry: square(NO_GO.lon - 0.0003, NO_GO.lat - 0.0003, 0.0006),
    },
    {
      id: 'gf-slow',
      name: { ja: '徐行区間', en: 'Slow zone' },
      kind: 'slow-zone',
      speedLimitKmh: 10,
      geometry: square(SLOW.lon - 0.0003, SLOW.lat - 0.0003, 0.0006),
    },
  );
  patch(town);
  writeFileSync(join(dir, 'test-town.json'), JSON.stringify(town));
  copyFileSync(join(FIXTURE_SEEDS, 'other-town.json'), join(dir, 'other-town.json'));
  return dir;
}

/** An event of `type` (EventType: 1 takeover, 3 emergency stop, 4 remote intervention). */
export function eventOf(type: number, source: string, ts: number, seq: number): michi.v1.Reading.$Properties {
  return { event: { ...takeover(source, ts, seq).event, type } };
}
