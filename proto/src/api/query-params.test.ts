// The event types and severities a query may name are telemetry.proto's enums, without their prefix.
import { describe, expect, it } from 'vitest';
import { v1 } from '../codec.js';
import { EVENT_TYPES, SEVERITIES } from './query-params.js';

const names = (values: object, prefix: string) =>
  Object.keys(values)
    .filter((k) => k.startsWith(prefix) && k !== `${prefix}UNSPECIFIED`)
    .map((k) => k.slice(prefix.length));

describe('query parameter enums', () => {
  it('list every EventType and Severity of telemetry.proto', () => {
    expect([...EVENT_TYPES]).toEqual(names(v1.EventType, 'EVENT_TYPE_'));
    expect([...SEVERITIES]).toEqual(names(v1.Severity, 'SEVERITY_'));
  });
});
