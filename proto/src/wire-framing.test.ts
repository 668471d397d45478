import fc from 'fast-check';
import $protobuf from 'protobufjs/minimal.js';
import { describe, expect, it } from 'vitest';
import { PayloadError } from './errors.js';
import { bytesField, readBytesFields, soleBytesField, writeBytesFields } from './wire-framing.js';

describe('length-delimited framing', () => {
  it('reads back what it wrote, for contents of any length, between other fields', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 20_000 }), { maxLength: 4 }), fc.nat(), (items, other) => {
        const w = $protobuf.Writer.create()
          .uint32((2 << 3) | 0)
          .uint64(other);
        const bytes = writeBytesFields(w, 3, items)
          .uint32((7 << 3) | 2)
          .bytes(new Uint8Array([1, 2]))
          .finish();
        expect(readBytesFields(bytes, 3, 'Test').map((b) => Buffer.from(b))).toEqual(items.map((b) => Buffer.from(b)));
      }),
      { numRuns: 100 },
    );
    expect(soleBytesField(bytesField(4, new Uint8Array(300)))).toBe(4);
  });

  it('gives contents no longer than the input, or PayloadError(MICHI_ERR_DECODE), for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          for (const part of readBytesFields(bytes, 1, 'Test')) expect(part.byteLength).toBeLessThan(bytes.byteLength);
        } catch (err) {
          expect(err).toBeInstanceOf(PayloadError);
          expect((err as PayloadError).code).toBe('MICHI_ERR_DECODE');
          expect((err as PayloadError).message).toMatch(/^not a valid protobuf Test: /);
        }
        soleBytesField(bytes);
      }),
      { numRuns: 2_000 },
    );
    expect(() => readBytesFields(new Uint8Array([0x0a, 0x05, 1]), 1, 'Test')).toThrow('not a valid protobuf Test: truncated field');
    expect(() => readBytesFields(new Uint8Array([0x0b]), 1, 'Test')).toThrow('wire type 3');
    expect(soleBytesField(new Uint8Array([0x0a, 0x02, 1]))).toBeUndefined();
    expect(soleBytesField(new Uint8Array([]))).toBeUndefined();
  });
});
