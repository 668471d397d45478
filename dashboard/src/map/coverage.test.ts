import { latLngToCell } from 'h3-js';
import { describe, expect, it } from 'vitest';
import { COVERAGE_BANDS, coverageBand, coverageColor, coverageFeatures, coverageResolution, NO_DATA_COLOR } from './coverage.js';

describe('coverage bands', () => {
  const label = (metric: 'rsrp' | 'sinr' | 'rtt', value: number | null) => coverageBand(metric, value)?.label ?? null;

  it('bands RSRP from -80 dBm down, bounds in the better band', () => {
    expect(label('rsrp', -70)).toBe('coverage.rsrp.excellent');
    expect(label('rsrp', -80)).toBe('coverage.rsrp.excellent');
    expect(label('rsrp', -80.1)).toBe('coverage.rsrp.good');
    expect(label('rsrp', -95)).toBe('coverage.rsrp.fair');
    expect(label('rsrp', -110)).toBe('coverage.rsrp.poor');
    expect(label('rsrp', -130)).toBe('coverage.rsrp.bad');
  });

  it('bands SINR at 20, 13, 0 and -5 dB', () => {
    expect(label('sinr', 25)).toBe('coverage.sinr.excellent');
    expect(label('sinr', 20)).toBe('coverage.sinr.excellent');
    expect(label('sinr', 19.9)).toBe('coverage.sinr.good');
    expect(label('sinr', 13)).toBe('coverage.sinr.good');
    expect(label('sinr', 5)).toBe('coverage.sinr.fair');
    expect(label('sinr', 0)).toBe('coverage.sinr.fair');
    expect(label('sinr', -1)).toBe('coverage.sinr.poor');
    expect(label('sinr', -5)).toBe('coverage.sinr.poor');
    expect(label('sinr', -5.1)).toBe('coverage.sinr.bad');
  });

  it('bands RTT at 20, 50, 100 and 200 ms, lower being better', () => {
    expect(label('rtt', 0)).toBe('coverage.rtt.excellent');
    expect(label('rtt', 19.9)).toBe('coverage.rtt.excellent');
    expect(label('rtt', 20)).toBe('coverage.rtt.good');
    expect(label('rtt', 50)).toBe('coverage.rtt.fair');
    expect(label('rtt', 100)).toBe('coverage.rtt.poor');
    expect(label('rtt', 199)).toBe('coverage.rtt.poor');
    expect(label('rtt', 200)).toBe('coverage.rtt.bad');
    expect(label('rtt', 5000)).toBe('coverage.rtt.bad');
  });

  it('colours best to worst the same way for every metric, and grey without a value', () => {
    expect(coverageColor('rsrp', -70)).toBe(coverageColor('sinr', 25));
    expect(coverageColor('sinr', 25)).toBe(coverageColor('rtt', 5));
    expect(coverageColor('rtt', 500)).toBe(COVERAGE_BANDS.rtt[4]!.color);
    for (const metric of ['rsrp', 'sinr', 'rtt'] as const) {
      expect(COVERAGE_BANDS[metric]).toHaveLength(5);
      expect(coverageColor(metric, null)).toBe(NO_DATA_COLOR);
      expect(coverageColor(metric, undefined)).toBe(NO_DATA_COLOR);
      expect(coverageColor(metric, Number.NaN)).toBe(NO_DATA_COLOR);
    }
  });
});

describe('coverage resolution', () => {
  it('is 8 below zoom 13, 9 from 13 and 10 from 15', () => {
    expect(coverageResolution(3)).toBe(8);
    expect(coverageResolution(12.99)).toBe(8);
    expect(coverageResolution(13)).toBe(9);
    expect(coverageResolution(14.5)).toBe(9);
    expect(coverageResolution(15)).toBe(10);
    expect(coverageResolution(22)).toBe(10);
  });
});

describe('coverage hexagons', () => {
  const h3 = latLngToCell(36.3893, 139.0711, 9);
  const cells = [
    { h3, lat: 36.3893, lon: 139.0711, samples: 10, rsrp_dbm_mean: -85, sinr_db_mean: 12, rtt_ms_mean: 9 },
    { h3: 'nope', lat: 0, lon: 0, samples: 1, rsrp_dbm_mean: -85, sinr_db_mean: null, rtt_ms_mean: null },
  ];

  it('turns H3 cells into closed hexagons around their centre and skips invalid ids', () => {
    const fc = coverageFeatures(cells);
    expect(fc.features).toHaveLength(1);
    const ring = fc.features[0]!.geometry.coordinates[0]!;
    expect(ring).toHaveLength(7);
    expect(ring[0]).toEqual(ring[6]);
    for (const [lon, lat] of ring) {
      expect(Math.abs(lon! - 139.0711)).toBeLessThan(0.005);
      expect(Math.abs(lat! - 36.3893)).toBeLessThan(0.005);
    }
    expect(fc.features[0]!.properties).toMatchObject({ color: COVERAGE_BANDS.rsrp[1]!.color, samples: 10 });
  });

  it('colours each hexagon by the chosen metric', () => {
    expect(coverageFeatures(cells, 'sinr').features[0]!.properties).toMatchObject({ color: COVERAGE_BANDS.sinr[2]!.color });
    expect(coverageFeatures(cells, 'rtt').features[0]!.properties).toMatchObject({ color: COVERAGE_BANDS.rtt[0]!.color });
  });
});
