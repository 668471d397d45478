/** Events of a pilot over a time range, newest first, filtered by type, source and severity. */
import { EVENT_TYPES, MEASUREMENTS, SEVERITIES, type EventView } from '@michi/proto';
import { quoteIdentifier, type InfluxQuery } from '../influx-query.js';
import { anyOf, num, oneOf, pilotRange, str } from './stats.js';

const EVENT_TYPE_NAMES = [...EVENT_TYPES, 'UNSPECIFIED'] as const;
const SEVERITY_NAMES = [...SEVERITIES, 'UNSPECIFIED'] as const;

export interface EventsRequest {
  pilot: string;
  from: number;
  to: number;
  types: readonly string[];
  sources: readonly string[];
  severities: readonly string[];
  limit: number;
}

export async function queryEvents(query: InfluxQuery, req: EventsRequest): Promise<EventView[]> {
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
    type: oneOf(EVENT_TYPE_NAMES, r['type']),
    cause: str(r['cause']),
    severity: oneOf(SEVERITY_NAMES, r['severity']),
    lat: num(r['lat']),
    lon: num(r['lon']),
    detail: str(r['detail']),
    duration_ms: num(r['duration_ms']),
    geofence_id: str(r['geofence_id']),
  }));
}
