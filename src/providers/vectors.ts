/**
 * Vector helpers shared by providers and the simulator: L2 normalization, the local dimension
 * adapters (truncate / pad, then re-normalize), and the base64 float32 wire encoding.
 */
import { endianness } from 'node:os';
import type { DimAdapter } from './types.ts';

const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/** Scales `v` in place to unit length (a zero vector stays zero) and returns it. */
export function l2normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  if (sum === 0) return v;
  const inv = 1 / Math.sqrt(sum);
  for (let i = 0; i < v.length; i++) v[i]! *= inv;
  return v;
}

/**
 * Brings a provider vector to `dims` with `adapter` and re-normalizes. `native` and `provider`
 * vectors must already be `dims` long (callers validate that first, with a better message).
 */
export function adaptDims(v: ArrayLike<number>, dims: number, adapter: DimAdapter, opts: { inPlace?: boolean } = {}): Float32Array {
  if ((adapter === 'native' || adapter === 'provider') && v.length !== dims)
    throw new RangeError(`adaptDims(${adapter}): got ${v.length} dims, expected ${dims}`);
  // A vector the caller owns (freshly decoded) is normalized where it is, without a copy.
  if (opts.inPlace && v instanceof Float32Array && v.length === dims) return l2normalize(v);
  const out = new Float32Array(dims);
  const n = Math.min(dims, v.length);
  if (adapter === 'truncate' && v.length < dims) throw new RangeError(`cannot truncate ${v.length} dims to ${dims}`);
  if (adapter === 'pad' && v.length > dims) throw new RangeError(`cannot pad ${v.length} dims to ${dims}`);
  // Zero padding keeps the norm; normalizing anyway guards against providers that don't normalize.
  for (let i = 0; i < n; i++) out[i] = v[i]!;
  return l2normalize(out);
}

/** Cosine similarity of two vectors of equal length. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** Decodes OpenAI's `encoding_format: "base64"`: little-endian float32, 4 bytes per dimension. */
export function decodeFloat32Base64(b64: string): Float32Array {
  // Straight into the vector's own memory: no intermediate Buffer per vector (a 1,536-dim answer
  // is 6 KB, too big for Buffer's pool), which was a share of the worker's GC time. Whatever does
  // not decode to exactly the length base64 promises takes the careful path below.
  const n = Buffer.byteLength(b64, 'base64');
  if (LITTLE_ENDIAN_HOST && n % 4 === 0) {
    const out = new Float32Array(n / 4);
    if (Buffer.from(out.buffer, out.byteOffset, out.byteLength).write(b64, 'base64') === n) return out;
  }
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length % 4 !== 0) throw new RangeError(`base64 embedding is ${bytes.length} bytes, not a multiple of 4`);
  const out = new Float32Array(bytes.length / 4);
  if (LITTLE_ENDIAN_HOST) new Uint8Array(out.buffer).set(bytes);
  else for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

/** Encodes a vector as little-endian float32 base64 (the simulator's side of the wire). */
export function encodeFloat32Base64(v: Float32Array): string {
  if (LITTLE_ENDIAN_HOST) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  const bytes = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) bytes.writeFloatLE(v[i]!, i * 4);
  return bytes.toString('base64');
}
