/**
 * Avro object container files (the format of Cohere dataset parts: the Python SDK reads each
 * `dataset_parts[].url` with fastavro), written by the simulator. Covers the schemas datasets
 * use: primitives, records, arrays, maps, unions and named references; codec `null`. Reading is
 * embedq's own decoder (src/providers/avro.ts), re-exported here for tests.
 *
 *   const bytes = encodeAvroContainer(schema, records);
 *   const { schema, records } = decodeAvroContainer(bytes);
 */
import { randomBytes } from 'node:crypto';

export type AvroPrimitive = 'null' | 'boolean' | 'int' | 'long' | 'float' | 'double' | 'bytes' | 'string';
export type AvroSchema =
  | AvroPrimitive
  | string // a named type defined earlier
  | AvroSchema[] // a union
  | { type: 'record'; name: string; fields: { name: string; type: AvroSchema; default?: unknown }[] }
  | { type: 'array'; items: AvroSchema }
  | { type: 'map'; values: AvroSchema }
  | { type: AvroPrimitive };

const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]); // "Obj" 1
const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);
const RECORDS_PER_BLOCK = 1000;

class Writer {
  parts: Buffer[] = [];
  long(n: number): void {
    // Zig-zag, then base-128 varint; plain arithmetic keeps it exact up to 2^53.
    let z = n >= 0 ? n * 2 : -n * 2 - 1;
    const bytes: number[] = [];
    while (z >= 0x80) {
      bytes.push((z % 0x80) | 0x80);
      z = Math.floor(z / 0x80);
    }
    bytes.push(z);
    this.parts.push(Buffer.from(bytes));
  }
  bytes(b: Buffer): void {
    this.long(b.length);
    this.parts.push(b);
  }
  concat(): Buffer {
    return Buffer.concat(this.parts);
  }
}

type Names = Map<string, AvroSchema>;

const resolve = (s: AvroSchema, names: Names): AvroSchema => (typeof s === 'string' && !PRIMITIVES.has(s) ? (names.get(s) ?? s) : s);

/** The union branch a JS value is written with: the first one whose kind fits. */
function branchFor(union: AvroSchema[], v: unknown, names: Names): number {
  const kind = (s: AvroSchema): string => {
    const r = resolve(s, names);
    return typeof r === 'string' ? r : Array.isArray(r) ? 'union' : r.type;
  };
  const i = union.findIndex((s) => {
    const k = kind(s);
    if (v === null || v === undefined) return k === 'null';
    if (typeof v === 'boolean') return k === 'boolean';
    if (typeof v === 'number') return Number.isInteger(v) ? k === 'long' || k === 'int' || k === 'double' : k === 'double' || k === 'float';
    if (typeof v === 'string') return k === 'string';
    if (Buffer.isBuffer(v)) return k === 'bytes';
    return Array.isArray(v) ? k === 'array' : k === 'record' || k === 'map';
  });
  if (i < 0) throw new TypeError(`avro: no branch of ${JSON.stringify(union)} fits ${JSON.stringify(v)}`);
  return i;
}

function write(w: Writer, schema: AvroSchema, v: unknown, names: Names): void {
  const s = resolve(schema, names);
  if (Array.isArray(s)) {
    const i = branchFor(s, v, names);
    w.long(i);
    return write(w, s[i]!, v, names);
  }
  const t = typeof s === 'string' ? s : s.type;
  switch (t) {
    case 'null':
      return;
    case 'boolean':
      return void w.parts.push(Buffer.from([v ? 1 : 0]));
    case 'int':
    case 'long':
      return w.long(v as number);
    case 'float':
    case 'double': {
      const b = Buffer.alloc(t === 'float' ? 4 : 8);
      if (t === 'float') b.writeFloatLE(v as number);
      else b.writeDoubleLE(v as number);
      return void w.parts.push(b);
    }
    case 'bytes':
      return w.bytes(v as Buffer);
    case 'string':
      return w.bytes(Buffer.from(v as string, 'utf8'));
  }
  if (typeof s !== 'object') throw new TypeError(`avro: unknown type ${JSON.stringify(s)}`);
  if (s.type === 'record') {
    names.set(s.name, s);
    for (const f of s.fields) write(w, f.type, (v as Record<string, unknown>)[f.name] ?? f.default ?? null, names);
  } else if (s.type === 'array' || s.type === 'map') {
    const entries = s.type === 'array' ? (v as unknown[]).map((x) => [undefined, x] as const) : Object.entries(v as object);
    if (entries.length) w.long(entries.length);
    for (const [k, x] of entries) {
      if (k !== undefined) w.bytes(Buffer.from(k, 'utf8'));
      write(w, s.type === 'array' ? s.items : s.values, x, names);
    }
    w.long(0);
  }
}

/** An object container file with `records` in blocks, uncompressed. */
export function encodeAvroContainer(schema: AvroSchema, records: readonly unknown[]): Buffer {
  const sync = randomBytes(16);
  const w = new Writer();
  w.parts.push(MAGIC);
  write(w, { type: 'map', values: 'bytes' }, { 'avro.schema': Buffer.from(JSON.stringify(schema)), 'avro.codec': Buffer.from('null') }, new Map());
  w.parts.push(sync);
  for (let i = 0; i < records.length; i += RECORDS_PER_BLOCK) {
    const block = new Writer();
    const names: Names = new Map();
    const slice = records.slice(i, i + RECORDS_PER_BLOCK);
    for (const rec of slice) write(block, schema, rec, names);
    w.long(slice.length);
    w.bytes(block.concat());
    w.parts.push(sync);
  }
  return w.concat();
}

export { decodeAvroContainer } from '../../src/providers/avro.ts';
