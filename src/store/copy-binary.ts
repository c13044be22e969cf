/**
 * Postgres binary COPY encoding. Vectors travel as pgvector's binary form (int16 dims, int16
 * unused, float4 big-endian each): measured on this machine, binary COPY loads 1536-dim rows
 * ~10× faster than the text form `[0.1,0.2,…]`. A `halfvec` has the same header followed by IEEE
 * 754 half floats, big-endian (pgvector's halfvec_recv), converted here with round-to-nearest-even
 * exactly as pgvector's own float4 → half cast does.
 */
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';

export type Cell =
  | { t: 'int4'; v: number }
  | { t: 'int8'; v: bigint | number | string }
  | { t: 'bytea'; v: Buffer }
  | { t: 'text'; v: string }
  | { t: 'vector'; v: Float32Array | number[] }
  | { t: 'halfvec'; v: Float32Array | number[] };

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Encodes rows (arrays of cells, same arity) into one COPY BINARY payload. */
export function encodeBinaryCopy(rows: readonly (readonly Cell[])[]): Buffer {
  let size = SIGNATURE.length + 8 + 2;
  for (const row of rows) {
    size += 2;
    for (const c of row) size += 4 + cellSize(c);
  }
  const buf = Buffer.allocUnsafe(size);
  let o = SIGNATURE.copy(buf, 0);
  o = buf.writeInt32BE(0, o); // flags
  o = buf.writeInt32BE(0, o); // header extension length
  for (const row of rows) {
    o = buf.writeInt16BE(row.length, o);
    for (const c of row) o = writeCell(buf, o, c);
  }
  buf.writeInt16BE(-1, o); // trailer
  return buf;
}

function cellSize(c: Cell): number {
  switch (c.t) {
    case 'int4':
      return 4;
    case 'int8':
      return 8;
    case 'bytea':
      return c.v.length;
    case 'text':
      return Buffer.byteLength(c.v, 'utf8');
    case 'vector':
      return 4 + 4 * c.v.length;
    case 'halfvec':
      return 4 + 2 * c.v.length;
  }
}

function writeCell(buf: Buffer, o: number, c: Cell): number {
  switch (c.t) {
    case 'int4':
      o = buf.writeInt32BE(4, o);
      return buf.writeInt32BE(c.v, o);
    case 'int8':
      o = buf.writeInt32BE(8, o);
      return buf.writeBigInt64BE(BigInt(c.v), o);
    case 'bytea':
      o = buf.writeInt32BE(c.v.length, o);
      return o + c.v.copy(buf, o);
    case 'text': {
      const len = Buffer.byteLength(c.v, 'utf8');
      o = buf.writeInt32BE(len, o);
      return o + buf.write(c.v, o, 'utf8');
    }
    case 'vector': {
      const v = c.v instanceof Float32Array ? c.v : Float32Array.from(c.v);
      o = buf.writeInt32BE(4 + 4 * v.length, o);
      return writeVector(buf, o, v);
    }
    case 'halfvec': {
      const v = c.v instanceof Float32Array ? c.v : Float32Array.from(c.v);
      o = buf.writeInt32BE(4 + 2 * v.length, o);
      o = buf.writeInt16BE(v.length, o);
      o = buf.writeInt16BE(0, o);
      const bits = new Uint32Array(v.buffer, v.byteOffset, v.length);
      for (let i = 0; i < bits.length; i++) o = buf.writeUInt16BE(halfBits(bits[i]!, v, i), o);
      return o;
    }
  }
}

/** pgvector's binary form of `v` at `o` (int16 dims, int16 unused, big-endian float32s); returns the end. */
function writeVector(buf: Buffer, o: number, v: Float32Array): number {
  o = buf.writeInt16BE(v.length, o);
  o = buf.writeInt16BE(0, o);
  // Copy the floats as they are in memory, then byte-swap the block natively to big-endian:
  // ~10x faster than one writeFloatBE call per element at 1,536 dims.
  buf.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), o);
  if (LITTLE_ENDIAN_HOST) buf.subarray(o, o + v.byteLength).swap32();
  return o + v.byteLength;
}

/**
 * A vector in pgvector's binary form (what `vector_recv` reads), for a query parameter cast to
 * `::vector`: node-postgres sends a Buffer parameter in binary, so the server skips parsing text.
 */
export function encodeVectorBinary(v: Float32Array): Buffer {
  const buf = Buffer.allocUnsafe(4 + 4 * v.length);
  writeVector(buf, 0, v);
  return buf;
}

/** Largest finite half float. */
const HALF_MAX = 65504;

/**
 * The IEEE 754 binary16 bits of a float32 (given as its bits), rounded to nearest, ties to even.
 * NaN, infinities and values that round beyond ±65504 have no halfvec form: refused, with why.
 */
function halfBits(f: number, v: Float32Array, i: number): number {
  const sign = (f >>> 16) & 0x8000;
  const exp = (f >>> 23) & 0xff;
  let mant = f & 0x7fffff;
  const e = exp - 127 + 15;
  if (exp === 0xff || e >= 0x1f) return refuseHalf(v, i);
  if (e <= 0) {
    // Subnormal half (or zero): the value is mant * 2^-24 with the implicit bit made explicit.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const tie = 1 << (shift - 1);
    return sign | (rem > tie || (rem === tie && (half & 1) === 1) ? half + 1 : half);
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++;
  if (half >= 0x7c00) return refuseHalf(v, i);
  return sign | half;
}

function refuseHalf(v: Float32Array, i: number): never {
  throw new RangeError(
    `halfvec element ${i} is ${v[i]}: a halfvec holds finite values up to ±${HALF_MAX}. Embeddings are expected to be normalized; check the provider's output.`,
  );
}

/** Streams an encoded payload into `COPY <target> FROM STDIN (FORMAT binary)`. */
export async function copyBinary(client: pg.PoolClient, target: string, payload: Buffer): Promise<void> {
  const stream = client.query(copyFrom(`COPY ${target} FROM STDIN (FORMAT binary)`));
  await pipeline(Readable.from([payload]), stream);
}

/**
 * A vector from pgvector's binary form (`vector_send`, the same layout COPY writes): int16 dims,
 * int16 unused, then big-endian float32s. Exact: no text round trip.
 */
export function decodeVectorBinary(b: Buffer): Float32Array {
  const n = b.readInt16BE(0);
  if (b.length !== 4 + 4 * n) throw new Error(`not a pgvector binary vector: ${b.length} bytes for ${n} dims`);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = b.readFloatBE(4 + 4 * i);
  return v;
}
