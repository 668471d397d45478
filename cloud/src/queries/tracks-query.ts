/**
 * Tracks of a pilot's vehicles over a time range, downsampled in InfluxDB (downsampled-series.ts)
 * so that a map (or the replay) gets at most `maxPoints` points per vehicle: the first reading with
 * a position of each bucket.
 */
import { AUTONOMY_MODES, MEASUREMENTS, type FieldName, type Track, type TrackPoint } from '@michi/proto';
import type { InfluxQuery } from '../influx-query.js';
import { queryDownsampledSeries, type SeriesRequest } from './downsampled-series.js';
import { num, oneOf } from './stats.js';

export type TracksRequest = SeriesRequest;

export interface TracksResult {
  tracks: Track[];
  /** The bucket width in ms, or null when every point was returned. */
  interval_ms: number | null;
}

const FIELDS = ['lat', 'lon', 'speed_mps', 'heading_deg', 'mode'] as const satisfies readonly FieldName<'state'>[];

export async function queryTracks(query: InfluxQuery, req: TracksRequest): Promise<TracksResult> {
  const { series, interval_ms } = await queryDownsampledSeries(query, MEASUREMENTS.state, FIELDS, req);
  const tracks: Track[] = [];
  for (const { source, rows } of series) {
    const points: TrackPoint[] = [];
    for (const r of rows) {
      const lat = num(r['lat']);
      const lon = num(r['lon']);
      if (lat === null || lon === null) continue;
      points.push({
        ts_ms: r.time,
        lat,
        lon,
        speed_mps: num(r['speed_mps']),
        heading_deg: num(r['heading_deg']),
        mode: oneOf(AUTONOMY_MODES, r['mode']),
      });
    }
    if (points.length > 0) tracks.push({ source, points });
  }
  return { tracks, interval_ms };
}
