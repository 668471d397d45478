/**
 * The arithmetic the queries share, defined once so docs/api.md can state it exactly: nearest-rank
 * percentiles, great-circle distance, and the InfluxQL WHERE clause of a pilot and a time range.
 */
import { quoteIdentifier, quoteLiteral } from '../influx-query.js';

/** Mean Earth radius (IUGG), metres. */
export const EARTH_RADIUS_M = 6_371_008.8;

/** Great-circle distance in metres between two WGS 84 points (haversine on a sphere). */
export function haversineM(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

/**
 * Nearest-rank percentile of `sorted` (ascending): the value at rank ceil(p/100 × n), 1-based.
 * null for no values.
 */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export function sortedNumbers(values: Iterable<unknown>): number[] {
  const out: number[] = [];
  for (const v of values) if (typeof v === 'number' && Number.isFinite(v)) out.push(v);
  return out.sort((a, b) => a - b);
}

export function mean(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** `pilot = '…' AND time >= …ms AND time <= …ms` (both ends inclusive). */
export function pilotRange(pilot: string, from: number, to: number): string {
  return `${quoteIdentifier('pilot')} = ${quoteLiteral(pilot)} AND time >= ${Math.trunc(from)}ms AND time <= ${Math.trunc(to)}ms`;
}

/** `(col = 'a' OR col = 'b')`, or '' for no values. */
export function anyOf(column: string, values: readonly string[]): string {
  if (values.length === 0) return '';
  return `(${values.map((v) => `${quoteIdentifier(column)} = ${quoteLiteral(v)}`).join(' OR ')})`;
}

export function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/** `v` when it is one of `values` (an enum of the API's contract), else null. */
export function oneOf<T extends string>(values: readonly T[], v: unknown): T | null {
  return values.find((x) => x === v) ?? null;
}
