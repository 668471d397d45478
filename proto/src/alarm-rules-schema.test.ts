// The `alarms` section of a seed: defaults for a seed without it, and a broken one named by file
// and path with what was expected, as the loader reports every other mistake in a seed.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPilotFile } from './seed-loader.js';

const BUS = new URL('../../seeds/maebashi-l4-bus.json', import.meta.url);

function seedWith(patch: (p: Record<string, unknown>) => void): string {
  const p = JSON.parse(readFileSync(BUS, 'utf8')) as Record<string, unknown>;
  patch(p);
  const file = join(mkdtempSync(join(tmpdir(), 'michi-seed-alarms-')), 'maebashi-l4-bus.json');
  writeFileSync(file, JSON.stringify(p));
  return file;
}

function errorOf(file: string): string {
  try {
    loadPilotFile(file);
  } catch (err) {
    return (err as Error).message;
  }
  return 'no error';
}

describe('seed alarms section', () => {
  it('gives every rule its defaults when the seed has none', () => {
    const p = loadPilotFile(seedWith(() => {}));
    expect(p.alarms.escalateAfterS).toBe(300);
    expect(p.alarms.rules['link-degraded']).toMatchObject({ forS: 10, rsrpRaiseDbm: -110, rsrpClearDbm: -105, severity: 'warning' });
    expect(p.alarms.rules['minimal-risk']).toEqual({ enabled: true, severity: 'critical', pendingS: 0, keepFiringS: 0 });
    expect(p.alarms.rules['source-silent']).toMatchObject({ vehicleS: 10, sensorS: 60 });
    expect(p.geofences.filter((g) => g.kind === 'slow-zone').map((g) => g.speedLimitKmh)).toEqual([20, 20]);
  });

  it('names the file and the path of a clear threshold on the wrong side, an unknown rule and a misplaced speed limit', () => {
    const file = seedWith((p) => {
      p['alarms'] = { rules: { 'link-degraded': { rsrpClearDbm: -115 }, 'low-batery': {} } };
      (p['geofences'] as Record<string, unknown>[]).find((g) => g['kind'] !== 'slow-zone')!['speedLimitKmh'] = 30;
    });
    const message = errorOf(file);
    expect(message).toContain(`${file}: alarms.rules["link-degraded"].rsrpClearDbm: expected rsrpClearDbm >= rsrpRaiseDbm`);
    expect(message).toContain(`${file}: alarms.rules["low-batery"]: unknown field`);
    expect(message).toMatch(/geofences\[\d+\]\.speedLimitKmh: expected speedLimitKmh only on a "slow-zone" geofence/);
  });
});
