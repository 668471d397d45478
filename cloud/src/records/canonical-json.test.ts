import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex, type CanonicalValue } from './canonical-json.js';

const value: fc.Arbitrary<CanonicalValue> = fc.letrec<{ v: CanonicalValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.maxSafeInteger(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.string(), tie('v'), { maxKeys: 4 }),
  ),
})).v;

describe('canonicalJson', () => {
  it('sorts keys at every level and leaves out whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [true, null], c: 'x' } })).toBe('{"a":{"c":"x","d":[true,null]},"b":1}');
  });

  it('is JSON, and the canonical form of its own parse (any value, any key order)', () => {
    fc.assert(
      fc.property(value, (v) => {
        const text = canonicalJson(v);
        expect(canonicalJson(JSON.parse(text) as CanonicalValue)).toBe(text);
      }),
    );
  });

  it('refuses numbers with more than one spelling: fractions, unsafe integers', () => {
    expect(() => canonicalJson({ lat: 36.5 })).toThrow(/safe integers only/);
    expect(() => canonicalJson(2 ** 53)).toThrow(/safe integers only/);
  });

  it('hashes the UTF-8 bytes, as sha256sum does', () => {
    // printf '%s' '{"a":"作動"}' | sha256sum
    expect(sha256Hex('{"a":"作動"}')).toBe('b48c4b1b1ed816f1c8051dc065987b62829a6ff95e1c92ae81d8d309dcc51292');
  });
});
