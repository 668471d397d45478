/**
 * Stored readings of one measurement as CSV (RFC 4180, UTF-8 with a byte-order mark so that Excel
 * opens Japanese text as UTF-8): one row per stored point, the columns of the storage schema
 * (docs/storage.md) in its order: `time` (ISO 8601, UTC), `time_ms`, the tags, the fixed fields, then
 * the map fields (`sig.*`, `count.*`, `measure.*`) present in the window, sorted. An absent value is
 * an empty cell; numbers are written as JavaScript prints them (the shortest form that reads back
 * as the same double), booleans as true/false.
 */
import { FIELDS, MAP_FIELDS, MEASUREMENT_TAGS, type ReadingKind } from '@michi/proto';
import type { InfluxRow } from '../influx-query.js';

const BOM = '\uFEFF';

/** The CSV header of `kind`'s rows: schema columns, then the map fields found in `rows`. */
export function csvColumns(kind: ReadingKind, rows: readonly InfluxRow[]): string[] {
  const prefixes: readonly string[] = MAP_FIELDS[kind].map((m) => m.prefix);
  const mapped = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) if (prefixes.some((p) => k.startsWith(p)) && r[k] !== null) mapped.add(k);
  return ['time', 'time_ms', ...MEASUREMENT_TAGS[kind], ...Object.keys(FIELDS[kind]), ...[...mapped].sort()];
}

/** One cell as the CSV writes it (the tests compare InfluxDB's answer through this too). */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const s = typeof value === 'string' ? value : String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The whole file: BOM, header, one line per row, CRLF line ends (RFC 4180 §2.1). */
export function storedCsv(kind: ReadingKind, rows: readonly InfluxRow[]): Buffer {
  const columns = csvColumns(kind, rows);
  const lines = [columns.join(',')];
  for (const r of rows) {
    lines.push(
      columns
        .map((c) => {
          if (c === 'time') return new Date(r.time).toISOString();
          if (c === 'time_ms') return String(r.time);
          return csvCell(r[c]);
        })
        .join(','),
    );
  }
  return Buffer.from(BOM + lines.join('\r\n') + '\r\n', 'utf8');
}
