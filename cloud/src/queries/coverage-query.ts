/**
 * 5G coverage of a pilot over a time range: link samples that carry a position, binned into H3
 * cells (h3-js) at a chosen resolution, with the sample count and mean RSRP, SINR and RTT per cell.
 * The samples are aggregated as InfluxDB streams them, so memory grows with the cells, not with
 * the range; more cells than the query's row cap is MICHI_ERR_TOO_LARGE (a coarser resolution helps).
 */
import { cellToLatLng, latLngToCell } from 'h3-js';
import { ErrorCodes, MEASUREMENTS, MichiError, type CoverageCell, type FieldName } from '@michi/proto';
import { quoteIdentifier, type InfluxQuery } from '../influx-query.js';
import { num, pilotRange } from './stats.js';

class Mean {
  sum = 0;
  n = 0;
  add(v: number | null): void {
    if (v === null) return;
    this.sum += v;
    this.n++;
  }
  get value(): number | null {
    return this.n === 0 ? null : this.sum / this.n;
  }
}

export async function queryCoverage(
  queries: InfluxQuery,
  pilot: string,
  from: number,
  to: number,
  resolution: number,
): Promise<CoverageCell[]> {
  const query = queries.forPilot(pilot);
  const q = quoteIdentifier;
  const cells = new Map<string, { samples: number; rsrp: Mean; sinr: Mean; rtt: Mean }>();
  await query.forEachRow(
    `SELECT ${(['lat', 'lon', 'rsrp_dbm', 'sinr_db', 'rtt_ms'] satisfies FieldName<'link'>[]).map(q).join(', ')} FROM ${q(MEASUREMENTS.link)} WHERE ${pilotRange(pilot, from, to)}`,
    (r) => {
      const lat = num(r['lat']);
      const lon = num(r['lon']);
      if (lat === null || lon === null) return;
      const h3 = latLngToCell(lat, lon, resolution);
      let c = cells.get(h3);
      if (!c) {
        if (cells.size >= query.maxRows) {
          throw new MichiError(ErrorCodes.TOO_LARGE, `more than ${query.maxRows} coverage cells`, { maxRows: query.maxRows });
        }
        cells.set(h3, (c = { samples: 0, rsrp: new Mean(), sinr: new Mean(), rtt: new Mean() }));
      }
      c.samples++;
      c.rsrp.add(num(r['rsrp_dbm']));
      c.sinr.add(num(r['sinr_db']));
      c.rtt.add(num(r['rtt_ms']));
    },
  );
  return [...cells]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([h3, c]) => {
      const [lat, lon] = cellToLatLng(h3);
      return { h3, lat, lon, samples: c.samples, rsrp_dbm_mean: c.rsrp.value, sinr_db_mean: c.sinr.value, rtt_ms_mean: c.rtt.value };
    });
}
