import { latLngToCell } from 'h3-js';
import { describe, expect, it } from 'vitest';
import { coverageFeatures, NO_DATA_COLOR, rsrpColor, RSRP_BANDS } from './coverage.js';

describe('coverage hexagons', () => {
  it('colours RSRP by band', () => {
    expect(rsrpColor(-70)).toBe(RSRP_BANDS[0]!.color);
    expect(rsrpColor(-80)).toBe(RSRP_BANDS[0]!.color);
    expect(rsrpColor(-95)).toBe(RSRP_BANDS[2]!.color);
    expect(rsrpColor(-130)).toBe(RSRP_BANDS[4]!.color);
    expect(rsrpColor(null)).toBe(NO_DATA_COLOR);
  });

  it('turns H3 cells into closed hexagons around their centre and skips invalid ids', () => {
    const h3 = latLngToCell(36.3893, 139.0711, 9);
    const fc = coverageFeatures([
      { h3, lat: 36.3893, lon: 139.0711, samples: 10, rsrp_dbm_mean: -85, sinr_db_mean: 12, rtt_ms_mean: 9 },
      { h3: 'nope', lat: 0, lon: 0, samples: 1, rsrp_dbm_mean: -85, sinr_db_mean: null, rtt_ms_mean: null },
    ]);
    expect(fc.features).toHaveLength(1);
    const ring = fc.features[0]!.geometry.coordinates[0]!;
    expect(ring).toHaveLength(7);
    expect(ring[0]).toEqual(ring[6]);
    for (const [lon, lat] of ring) {
      expect(Math.abs(lon! - 139.0711)).toBeLessThan(0.005);
      expect(Math.abs(lat! - 36.3893)).toBeLessThan(0.005);
    }
    expect(fc.features[0]!.properties).toMatchObject({ color: RSRP_BANDS[1]!.color, samples: 10 });
  });
});
