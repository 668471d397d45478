/** Events of a pilot over a time range, newest first, filtered by type, source and severity. */
import { EVENT_VIEW_SEVERITIES, EVENT_VIEW_TYPES, MEASUREMENTS, type EventView } from '@michi/proto';
import { quoteIdentifier, type InfluxQuery } from '../influx-query.js';
import { anyOf, num, oneOf, pilotRange, str } from './stats.js';

export interface EventsRequest {
  pilot: string;
  from: number;
  to: number;
  types: readonly string[];
  sources: readonly string[];
  severities: readonly string[];
  limit: number;
}

export async function queryEvents(queries: InfluxQuery, req: EventsRequest): Promise<EventView[]> {
  const query = queries.forPilot(req.pilot);
  const filters = [
    pilotRange(req.pilot, req.from, req.to),
    anyOf('type', req.types),
    anyOf('source', req.sources),
    anyOf('severity', req.severities),
  ];
  const rows = await query.rows(
    `SELECT * FROM ${quoteIdentifier(MEASUREMENTS.event)} WHERE ${filters.filter(Boolean).join(' AND ')} ORDER BY time DESC LIMIT ${Math.trunc(req.limit)}`,
  );
  return rows.map((r) => ({
    ts_ms: r.time,
    source: str(r['source']) ?? '',
    type: oneOf(EVENT_VIEW_TYPES, r['type']),
    cause: str(r['cause']),
    severity: oneOf(EVENT_VIEW_SEVERITIES, r['severity']),
    lat: num(r['lat']),
    lon: num(r['lon']),
    detail: str(r['detail']),
    duration_ms: num(r['duration_ms']),
    geofence_id: str(r['geofence_id']),
  }));
}
