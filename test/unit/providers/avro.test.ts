/**
 * The Avro container reader: what the simulator serves for Cohere datasets, read whole and as a
 * stream cut anywhere; the codecs (deflate, snappy); named types; and corrupt or cut-off files.
 */
import { crc32, deflateRawSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { AvroContainerParser, decodeAvroContainer, readAvroContainer, unsnappy, type AvroSchema } from '../../../src/providers/avro.ts';
import { encodeAvroContainer, type AvroSchema as SimSchema } from '../../support/avro-container.ts';

/** Unsigned base-128 varint (snappy lengths). */
function uvarint(n: number): Buffer {
  const b: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 0x80)) b.push((n % 0x80) | 0x80);
  return Buffer.from([...b, n]);
}
const long = (n: number) => uvarint(n >= 0 ? n * 2 : -n * 2 - 1);
const str = (s: string) => Buffer.concat([long(Buffer.byteLength(s)), Buffer.from(s)]);
const SYNC = Buffer.alloc(16, 0xa5);

/** A container file from already-serialized blocks. */
function container(schema: AvroSchema, codec: string, blocks: { count: number; data: Buffer }[], sync = SYNC): Buffer {
  const meta = Buffer.concat([long(2), str('avro.schema'), str(JSON.stringify(schema)), str('avro.codec'), str(codec), long(0)]);
  return Buffer.concat([Buffer.from('Obj\x01', 'latin1'), meta, SYNC, ...blocks.flatMap((b) => [long(b.count), long(b.data.length), b.data, sync])]);
}

async function* chunked(buf: Buffer, size: number | (() => number), pulled?: { n: number }): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; ) {
    const n = typeof size === 'number' ? size : size();
    if (pulled) pulled.n++;
    // A copy, as a network stream would hand over.
    yield Uint8Array.from(buf.subarray(i, i + n));
    i += n;
  }
}

async function collect(it: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const x of it) out.push(x);
  return out;
}

// The shape of a Cohere embed-result part, as simulator/cohere-jobs.ts writes it.
const RESULT: SimSchema = {
  type: 'record',
  name: 'EmbedResult',
  fields: [
    { name: 'text', type: 'string' },
    { name: 'embeddings', type: { type: 'record', name: 'Embeddings', fields: [{ name: 'float', type: ['null', { type: 'array', items: 'double' }] }, { name: 'int8', type: ['null', { type: 'array', items: 'int' }] }] } },
    { name: 'custom_id', type: ['null', 'string', 'long', 'double', 'boolean'] },
  ],
};
const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ text: `text ${i} ✓`, embeddings: { float: [i / 7, -0.5, 1e-9], int8: null }, custom_id: i % 3 === 0 ? i : `c${i}` }));

describe('container files', () => {
  test('reads what the simulator serves: nested records, unions, arrays of doubles, several blocks', () => {
    const records = rows(2500); // blocks of 1,000
    const { schema, records: got } = decodeAvroContainer(encodeAvroContainer(RESULT, records));
    expect(schema).toEqual(RESULT);
    expect(got).toEqual(records);
  });

  test.each([1, 7, 4096])('a stream cut every %i bytes gives the same records', async (size) => {
    const records = rows(1200);
    expect(await collect(readAvroContainer(chunked(encodeAvroContainer(RESULT, records), size)))).toEqual(records);
  });

  test('a stream cut at random places gives the same records', async () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), 1 + (seed % 300));
    const records = rows(1500);
    expect(await collect(readAvroContainer(chunked(encodeAvroContainer(RESULT, records), random)))).toEqual(records);
  });

  test('streams: the first record arrives before most of the file was read, and stopping reads no further', async () => {
    const file = encodeAvroContainer(RESULT, rows(5000));
    const pulled = { n: 0 };
    const total = Math.ceil(file.length / 1024);
    const it = readAvroContainer(chunked(file, 1024, pulled));
    expect((await it.next()).value).toEqual(rows(1)[0]);
    expect(pulled.n).toBeLessThan(total / 3);
    await it.return(undefined);
    expect(pulled.n).toBeLessThan(total / 3);
  });

  test('named types with namespaces, enums, fixed, negative and large longs', () => {
    const schema: AvroSchema = {
      type: 'record',
      name: 'Row',
      namespace: 'x.y',
      fields: [
        { name: 'n', type: 'long' },
        { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['A', 'B'] } },
        { name: 'tag', type: { type: 'fixed', name: 'Tag', size: 2 } },
        { name: 'next', type: ['null', 'x.y.Kind'] },
        { name: 'meta', type: { type: 'map', values: 'Kind' } },
      ],
    };
    const row = (n: number, kind: number, next: number | null) =>
      Buffer.concat([long(n), long(kind), Buffer.from([1, 2]), next === null ? long(0) : Buffer.concat([long(1), long(next)]), long(1), str('k'), long(kind), long(0)]);
    const data = Buffer.concat([row(-3, 1, null), row(2 ** 40 + 1, 0, 1)]);
    expect(decodeAvroContainer(container(schema, 'null', [{ count: 2, data }])).records).toEqual([
      { n: -3, kind: 'B', tag: Buffer.from([1, 2]), next: null, meta: { k: 'B' } },
      { n: 2 ** 40 + 1, kind: 'A', tag: Buffer.from([1, 2]), next: 'B', meta: { k: 'A' } },
    ]);
  });
});

describe('codecs', () => {
  const schema: AvroSchema = { type: 'record', name: 'R', fields: [{ name: 's', type: 'string' }] };
  const data = Buffer.concat(['alpha', 'beta', 'gamma'].map(str));
  const expected = [{ s: 'alpha' }, { s: 'beta' }, { s: 'gamma' }];
  /** Snappy with one literal (valid, if uncompressed), plus Avro's CRC-32. */
  const snappyBlock = (raw: Buffer, crc = crc32(raw)) => {
    const len = Buffer.alloc(2);
    len.writeUInt16LE(raw.length - 1);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc);
    return Buffer.concat([uvarint(raw.length), Buffer.from([61 << 2]), len, raw, sum]);
  };

  test('deflate', () => {
    expect(decodeAvroContainer(container(schema, 'deflate', [{ count: 3, data: deflateRawSync(data) }])).records).toEqual(expected);
  });

  test('snappy, checksum checked', () => {
    expect(decodeAvroContainer(container(schema, 'snappy', [{ count: 3, data: snappyBlock(data) }])).records).toEqual(expected);
    expect(() => decodeAvroContainer(container(schema, 'snappy', [{ count: 3, data: snappyBlock(data, 1234) }]))).toThrow(/snappy block checksum mismatch/);
  });

  test('snappy back-references, overlapping ones included', () => {
    // "abc" then copy 9 bytes from 3 back (1-byte offset form); "a" then copy 4 from 1 back (2-byte offset form).
    expect(unsnappy(Buffer.from([12, 0x08, 0x61, 0x62, 0x63, 0x15, 0x03])).toString()).toBe('abcabcabcabc');
    expect(unsnappy(Buffer.from([5, 0x00, 0x61, 0x0e, 0x01, 0x00])).toString()).toBe('aaaaa');
    expect(() => unsnappy(Buffer.from([5, 0x00, 0x61, 0x0e, 0x02, 0x00]))).toThrow(/snappy: corrupt/); // reaches before the start
    expect(() => unsnappy(Buffer.from([9, 0x00, 0x61]))).toThrow(/snappy: corrupt/); // shorter than announced
  });

  test('an unknown codec is named', () => {
    expect(() => decodeAvroContainer(container(schema, 'zstandard', []))).toThrow('avro: codec "zstandard" is not supported (null, deflate and snappy are)');
  });
});

describe('broken files', () => {
  const file = encodeAvroContainer(RESULT, rows(10));

  test('not Avro', () => {
    expect(() => decodeAvroContainer(Buffer.from('NoSuchKey: The specified key does not exist.'))).toThrow(/bad magic/);
  });

  test('cut off mid-block, whole or streamed', async () => {
    expect(() => decodeAvroContainer(file.subarray(0, file.length - 30))).toThrow(/truncated \(after 0 records\)/);
    await expect(collect(readAvroContainer(chunked(file.subarray(0, file.length - 30), 50)))).rejects.toThrow(/truncated/);
    expect(() => new AvroContainerParser().end()).toThrow(/truncated/);
  });

  test('a wrong sync marker', () => {
    const bad = Buffer.from(file);
    bad[bad.length - 1]! ^= 0xff;
    expect(() => decodeAvroContainer(bad)).toThrow(/sync marker mismatch/);
  });

  test('a block shorter than its records', () => {
    const schema: AvroSchema = { type: 'record', name: 'R', fields: [{ name: 's', type: 'string' }] };
    expect(() => decodeAvroContainer(container(schema, 'null', [{ count: 2, data: str('only one') }]))).toThrow(/block ends inside record 2/);
  });
});
