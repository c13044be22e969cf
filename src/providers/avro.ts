/**
 * A streaming reader of Avro object container files, the format of Cohere dataset parts (its
 * Python SDK reads each `dataset_parts[].url` with fastavro; the TypeScript SDK leaves reading
 * them to the caller). Records come out block by block as the bytes arrive, so memory holds one
 * block and one network chunk, never a whole file.
 *
 * Covers what datasets use: primitives, records, enums, arrays, maps, unions, fixed, named
 * references (with namespaces) and logical types (read as their underlying type); codecs
 * `null`, `deflate` and `snappy`. Our own rather than avsc: reading is all embedq needs, and it
 * fits here with no dependency (avsc's snappy needs one more).
 *
 *   for await (const record of readAvroContainer(response.body)) …
 */
import { crc32, inflateRawSync } from 'node:zlib';

export type AvroPrimitive = 'null' | 'boolean' | 'int' | 'long' | 'float' | 'double' | 'bytes' | 'string';
export type AvroSchema =
  | AvroPrimitive
  | string // a named type defined elsewhere in the schema
  | AvroSchema[] // a union
  | ({ name: string; namespace?: string } & { type: 'record'; fields: { name: string; type: AvroSchema; default?: unknown }[] })
  | ({ name: string; namespace?: string } & { type: 'enum'; symbols: string[] })
  | ({ name: string; namespace?: string } & { type: 'fixed'; size: number })
  | { type: 'array'; items: AvroSchema }
  | { type: 'map'; values: AvroSchema }
  | { type: AvroPrimitive; logicalType?: string };

const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]); // "Obj" 1
const PRIMITIVES = new Set<string>(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

/** Thrown by {@link Reader} when the buffered bytes end mid-value: wait for more, then retry. */
const TRUNCATED = Symbol('avro: need more bytes');

class Reader {
  pos = 0;
  readonly buf: Buffer;
  constructor(buf: Buffer) {
    this.buf = buf;
  }
  /** Base-128 varint; plain arithmetic keeps it exact up to 2^53. */
  varint(): number {
    let z = 0;
    for (let mul = 1; ; mul *= 0x80) {
      const b = this.buf[this.pos++];
      if (b === undefined) throw TRUNCATED;
      z += (b & 0x7f) * mul;
      if (b < 0x80) return z;
    }
  }
  /** Zig-zag varint. */
  long(): number {
    const z = this.varint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }
  take(n: number): Buffer {
    if (n < 0) throw new TypeError(`avro: negative length ${n} (corrupt data)`);
    if (this.pos + n > this.buf.length) throw TRUNCATED;
    this.pos += n;
    return this.buf.subarray(this.pos - n, this.pos);
  }
}

type Names = Map<string, AvroSchema>;

/** Registers every named type of `schema` under its short and its full name. */
function collectNames(s: AvroSchema, names: Names, ns?: string): void {
  if (Array.isArray(s)) return s.forEach((b) => collectNames(b, names, ns));
  if (typeof s !== 'object') return;
  if ('name' in s) {
    // A dotted name is already full; otherwise its namespace (or the enclosing one) qualifies it.
    const space = s.name.includes('.') ? undefined : (s.namespace ?? ns);
    const full = space ? `${space}.${s.name}` : s.name;
    const dot = full.lastIndexOf('.');
    names.set(full, s);
    names.set(full.slice(dot + 1), s);
    ns = dot >= 0 ? full.slice(0, dot) : undefined;
  }
  if (s.type === 'record') for (const f of s.fields) collectNames(f.type, names, ns);
  else if (s.type === 'array') collectNames(s.items, names, ns);
  else if (s.type === 'map') collectNames(s.values, names, ns);
}

function read(r: Reader, schema: AvroSchema, names: Names): unknown {
  const s = typeof schema === 'string' && !PRIMITIVES.has(schema) ? names.get(schema) : schema;
  if (s === undefined) throw new TypeError(`avro: unknown type ${JSON.stringify(schema)}`);
  if (Array.isArray(s)) {
    const branch = s[r.long()];
    if (branch === undefined) throw new TypeError('avro: union branch out of range (corrupt data)');
    return read(r, branch, names);
  }
  switch (typeof s === 'string' ? s : s.type) {
    case 'null':
      return null;
    case 'boolean':
      return r.take(1)[0] === 1;
    case 'int':
    case 'long':
      return r.long();
    case 'float':
      return r.take(4).readFloatLE();
    case 'double':
      return r.take(8).readDoubleLE();
    case 'bytes':
      return Buffer.from(r.take(r.long()));
    case 'string':
      return r.take(r.long()).toString('utf8');
  }
  if (typeof s !== 'object') throw new TypeError(`avro: unknown type ${JSON.stringify(s)}`);
  switch (s.type) {
    case 'record':
      return Object.fromEntries(s.fields.map((f) => [f.name, read(r, f.type, names)]));
    case 'enum': {
      const symbol = s.symbols[r.long()];
      if (symbol === undefined) throw new TypeError(`avro: enum ${s.name} index out of range (corrupt data)`);
      return symbol;
    }
    case 'fixed':
      return Buffer.from(r.take(s.size));
    case 'array':
    case 'map': {
      const items: unknown[] = [];
      const map: Record<string, unknown> = {};
      for (let n = r.long(); n !== 0; n = r.long()) {
        if (n < 0) {
          n = -n;
          r.long(); // a negative count is followed by the block's size in bytes
        }
        for (let i = 0; i < n; i++) {
          if (s.type === 'array') items.push(read(r, s.items, names));
          else map[r.take(r.long()).toString('utf8')] = read(r, s.values, names);
        }
      }
      return s.type === 'array' ? items : map;
    }
  }
  throw new TypeError(`avro: unsupported type ${JSON.stringify(s)}`);
}

/**
 * Snappy's raw format (literals and back-references), as Avro's `snappy` codec writes it. No
 * dependency: it is the whole decompressor.
 */
export function unsnappy(src: Buffer): Buffer {
  const corrupt = () => new TypeError('snappy: corrupt data');
  const head = new Reader(src);
  let len: number;
  try {
    len = head.varint();
  } catch {
    throw corrupt();
  }
  let pos = head.pos;
  const out = Buffer.alloc(len);
  let o = 0;
  // Little-endian integers of 1 to 4 bytes; RangeError past the end becomes "corrupt".
  const uint = (bytes: number) => {
    if (pos + bytes > src.length) throw corrupt();
    pos += bytes;
    return src.readUIntLE(pos - bytes, bytes);
  };
  while (pos < src.length) {
    const tag = src[pos++]!;
    const kind = tag & 3;
    if (kind === 0) {
      // A literal: its length - 1 in the tag, or in the 1 to 4 bytes after it (tags 60 to 63).
      const short = tag >> 2;
      const n = (short < 60 ? short : uint(short - 59)) + 1;
      if (pos + n > src.length || o + n > len) throw corrupt();
      src.copy(out, o, pos, pos + n);
      pos += n;
      o += n;
      continue;
    }
    // A copy of n bytes from `offset` back in the output.
    const n = kind === 1 ? ((tag >> 2) & 7) + 4 : (tag >> 2) + 1;
    const offset = kind === 1 ? ((tag >> 5) << 8) | uint(1) : uint(kind === 2 ? 2 : 4);
    if (offset === 0 || offset > o || o + n > len) throw corrupt();
    // Byte by byte: a copy may overlap what it writes (offset < n repeats a pattern).
    for (let i = 0; i < n; i++, o++) out[o] = out[o - offset]!;
  }
  if (o !== len) throw corrupt();
  return out;
}

function decompress(codec: string, data: Buffer): Buffer {
  if (codec === 'null') return data;
  if (codec === 'deflate') return inflateRawSync(data);
  // Avro's snappy blocks end in a big-endian CRC-32 of the uncompressed bytes.
  if (data.length < 4) throw new TypeError('avro: snappy block too short (corrupt file)');
  const out = unsnappy(data.subarray(0, data.length - 4));
  if (crc32(out) !== data.readUInt32BE(data.length - 4)) throw new TypeError('avro: snappy block checksum mismatch (corrupt file)');
  return out;
}

type Header = { schema: AvroSchema; codec: string; sync: Buffer; names: Names };

function readHeader(r: Reader): Header {
  if (!r.take(4).equals(MAGIC)) throw new TypeError('avro: not an object container file (bad magic)');
  const meta = read(r, { type: 'map', values: 'bytes' }, new Map()) as Record<string, Buffer>;
  const sync = r.take(16);
  const schema = JSON.parse(meta['avro.schema']?.toString('utf8') ?? 'null') as AvroSchema;
  if (schema === null) throw new TypeError('avro: the file has no avro.schema');
  const codec = meta['avro.codec']?.toString('utf8') || 'null';
  if (!['null', 'deflate', 'snappy'].includes(codec)) throw new TypeError(`avro: codec ${JSON.stringify(codec)} is not supported (null, deflate and snappy are)`);
  const names: Names = new Map();
  collectNames(schema, names);
  return { schema, codec, sync: Buffer.from(sync), names };
}

/**
 * An incremental container parser: `push` bytes as they arrive and get back the records of every
 * block completed so far; `end` checks the file was whole.
 */
export class AvroContainerParser {
  #chunks: Buffer[] = [];
  #length = 0;
  /** Bytes the block being waited for needs; no re-parsing until that many are buffered. */
  #need = 0;
  #header: Header | undefined;
  #records = 0;

  /** The writer's schema, once the header has arrived. */
  get schema(): AvroSchema | undefined {
    return this.#header?.schema;
  }

  push(chunk: Uint8Array): unknown[] {
    if (chunk.byteLength > 0) {
      this.#chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.#length += chunk.byteLength;
    }
    const out: unknown[] = [];
    while (this.#length > 0 && this.#length >= this.#need) {
      // One contiguous buffer; concatenated only when a value spans chunks.
      if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks, this.#length)];
      const r = new Reader(this.#chunks[0]!);
      try {
        if (!this.#header) this.#header = readHeader(r);
        else this.#block(r, out);
      } catch (e) {
        if (e !== TRUNCATED) throw e;
        break;
      }
      this.#chunks = r.pos < this.#length ? [this.#chunks[0]!.subarray(r.pos)] : [];
      this.#length -= r.pos;
      this.#need = 0;
    }
    return out;
  }

  #block(r: Reader, out: unknown[]): void {
    const { schema, codec, sync, names } = this.#header!;
    const count = r.long();
    const size = r.long();
    if (count < 0 || size < 0) throw new TypeError('avro: negative block count or size (corrupt file)');
    if (r.buf.length - r.pos < size + 16) {
      this.#need = r.pos + size + 16;
      throw TRUNCATED;
    }
    const block = new Reader(decompress(codec, r.take(size)));
    if (!r.take(16).equals(sync)) throw new TypeError(`avro: sync marker mismatch after record ${this.#records} (corrupt file)`);
    for (let i = 0; i < count; i++) {
      try {
        out.push(read(block, schema, names));
      } catch (e) {
        throw e === TRUNCATED ? new TypeError(`avro: block ends inside record ${this.#records + 1} (corrupt file)`) : e;
      }
      this.#records++;
    }
  }

  /** @throws TypeError when the file stopped short (no header, or part of a block) */
  end(): void {
    if (!this.#header || this.#length > 0) throw new TypeError(`avro: the file is truncated (after ${this.#records} records)`);
  }
}

/** Every record of a container file held in memory, with its writer schema. */
export function decodeAvroContainer(buf: Uint8Array): { schema: AvroSchema; records: unknown[] } {
  const p = new AvroContainerParser();
  const records = p.push(buf);
  p.end();
  return { schema: p.schema!, records };
}

/**
 * The records of a container file read from a byte stream (a fetch `Response.body`, a file
 * stream), yielded as each block completes. The next chunk is read only when the consumer asks
 * for more records than the buffered blocks hold.
 */
export async function* readAvroContainer(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<unknown> {
  const p = new AvroContainerParser();
  for await (const chunk of chunks) yield* p.push(chunk);
  p.end();
}
