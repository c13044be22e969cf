import { describe, expect, test } from 'vitest';
import { adaptDims, cosine, decodeFloat32Base64, encodeFloat32Base64, l2normalize } from '../../../src/providers/vectors.ts';

describe('adaptDims', () => {
  test('truncate keeps the prefix and re-normalizes', () => {
    const v = adaptDims([3, 4, 12], 2, 'truncate');
    expect(Array.from(v)).toEqual([expect.closeTo(0.6, 6), expect.closeTo(0.8, 6)]);
  });

  test('pad appends zeros and keeps unit length', () => {
    const v = adaptDims(l2normalize(Float32Array.from([1, 1])), 4, 'pad');
    expect(Array.from(v)).toEqual([expect.closeTo(Math.SQRT1_2, 6), expect.closeTo(Math.SQRT1_2, 6), 0, 0]);
  });

  test('native and provider vectors must already have the size', () => {
    expect(Array.from(adaptDims([0, 2], 2, 'native'))).toEqual([0, 1]);
    expect(() => adaptDims([1, 2, 3], 2, 'provider')).toThrow(/got 3 dims, expected 2/);
    expect(() => adaptDims([1], 2, 'truncate')).toThrow(RangeError);
    expect(() => adaptDims([1, 2, 3], 2, 'pad')).toThrow(RangeError);
  });

  test('a zero vector stays zero instead of becoming NaN', () => {
    expect(Array.from(l2normalize(new Float32Array(3)))).toEqual([0, 0, 0]);
    expect(cosine([0, 0], [1, 0])).toBe(0);
  });
});

describe('base64 float32', () => {
  test('round-trips little-endian float32', () => {
    const v = Float32Array.from([0.5, -1.25, 3.0e-8, 1]);
    const b64 = encodeFloat32Base64(v);
    expect(Buffer.from(b64, 'base64').readFloatLE(4)).toBe(-1.25);
    expect(Array.from(decodeFloat32Base64(b64))).toEqual(Array.from(v));
  });

  test('rejects a byte length that is not whole floats', () => {
    expect(() => decodeFloat32Base64(Buffer.from([1, 2, 3]).toString('base64'))).toThrow(/not a multiple of 4/);
  });

  test('a 1,536-dim vector decodes exactly, also from base64 wrapped in lines or without padding', () => {
    const v = Float32Array.from({ length: 1536 }, (_, i) => Math.sin(i) / 40);
    const b64 = encodeFloat32Base64(v);
    expect(decodeFloat32Base64(b64)).toEqual(v);
    const wrapped = b64.replace(/(.{76})/g, '$1\n');
    expect(wrapped.length).toBeGreaterThan(b64.length);
    expect(decodeFloat32Base64(wrapped)).toEqual(v);
    const odd = encodeFloat32Base64(Float32Array.from([1, 2, 3]));
    expect(odd.endsWith('=')).toBe(false);
    expect(Array.from(decodeFloat32Base64(odd))).toEqual([1, 2, 3]);
    const padded = encodeFloat32Base64(Float32Array.from([1, 2]));
    expect(padded.endsWith('=')).toBe(true);
    expect(Array.from(decodeFloat32Base64(padded.replace(/=+$/, '')))).toEqual([1, 2]);
  });
});
