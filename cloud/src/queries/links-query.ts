/**
 * The 5G link history of a pilot's vehicles over a time range (`link_sample`), downsampled in
 * InfluxDB like the tracks (downsampled-series.ts): at most `maxPoints` points per vehicle, the
 * first sample of each bucket.
 */
import type { InfluxQuery } from '../influx-query.js';
import { MEASUREMENTS, type FieldName, type LinkHistory } from '@michi/proto';
import { queryDownsampledSeries, type SeriesRequest } from './downsampled-series.js';
import { num } from './stats.js';

export interface LinksResult {
  links: LinkHistory[];
  /** The bucket width in ms, or null when every sample was returned. */
  interval_ms: number | null;
}

// seq first: every stored sample has it, while each radio figure is optional (absent ones are not
// stored), so it is what counts and selects samples.
const FIELDS = ['seq', 'sinr_db', 'rsrp_dbm', 'rtt_ms'] as const satisfies readonly FieldName<'link'>[];

export async function queryLinks(query: InfluxQuery, req: SeriesRequest): Promise<LinksResult> {
  const { series, interval_ms } = await queryDownsampledSeries(query, MEASUREMENTS.link, FIELDS, req);
  const links = series.map(({ source, rows }) => ({
    source,
    points: rows.map((r) => ({ ts_ms: r.time, rsrp_dbm: num(r['rsrp_dbm']), sinr_db: num(r['sinr_db']), rtt_ms: num(r['rtt_ms']) })),
  }));
  return { links, interval_ms };
}
