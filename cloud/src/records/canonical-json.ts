/**
 * The canonical form of a record entry, the bytes its SHA-256 is taken over (docs/records.md,
 * "Entry and hash format"): JSON without whitespace, object keys sorted by UTF-16 code units at every
 * level, values only strings, safe integers, booleans, null, objects and arrays. That is RFC 8785
 * (JCS) restricted to values where every JSON library agrees: no fractions (positions are integers
 * in 1e-7 degrees), so `json.dumps(v, sort_keys=True, separators=(',', ':'), ensure_ascii=False)`
 * in Python or `jq -cS` produce the same bytes for the keys records use (ASCII).
 */
import { createHash } from 'node:crypto';

export type CanonicalValue = string | number | boolean | null | CanonicalValue[] | { [key: string]: CanonicalValue };

export function canonicalJson(value: CanonicalValue): string {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    // A fraction or an unsafe integer would have more than one spelling across languages.
    if (!Number.isSafeInteger(value)) throw new TypeError(`canonical JSON takes safe integers only, got ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k]!)}`).join(',')}}`;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
