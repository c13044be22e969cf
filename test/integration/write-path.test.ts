/** The store's write path against real Postgres: fast path, replay fallback, stale-chunk guard. */
import { upsertChunks, upsertDocuments } from '../../src/store/chunks.ts';
import { withTransaction } from '../../src/store/db.ts';
import { ensureIndex } from '../../src/store/indexes.ts';
import { upsertModelVersion } from '../../src/store/models.ts';
import { fillFromCache, writeFresh, type FreshVector } from '../../src/store/vectors.ts';
import { textHash } from '../../src/corpus/hash.ts';
import { encodeBinaryCopy } from '../../src/store/copy-binary.ts';
import type { Context } from '../../src/context.ts';
import { countRows } from '../support/assert.ts';
import { expect, test } from '../support/fixtures.ts';

async function setup(ctx: Context, n: number) {
  const mv = await upsertModelVersion(ctx.db, {
    key: 'local/hash-v1@1:4', provider: 'local', model: 'hash-v1', version: '1', dims: 4, nativeDims: 384, dimAdapter: 'native',
    normalization: 'nfc-lf-trim-v1', maxInputTokens: 8191, priceSyncPerMTok: 0, priceBatchPerMTok: null,
  });
  const { index } = await ensureIndex(ctx.db, { name: 'w', chunkTokens: 64, chunkOverlap: 0, tokenizer: 'word', modelVersionId: mv, dims: 4 });
  const texts = Array.from({ length: n }, (_, i) => `text number ${i}`);
  const ids = await withTransaction(ctx.db, async (c) => {
    await upsertDocuments(c, index.id, 't', [{ docId: 'd', source: 'd', contentHash: Buffer.alloc(32), chunkCount: n, metadata: null }]);
    return upsertChunks(c, index.id, 't', texts.map((text, ordinal) => ({ docId: 'd', ordinal, text, textHash: textHash(text), charStart: 0, charEnd: text.length, tokens: 3 })));
  });
  const rows: FreshVector[] = ids.map((c, i) => ({
    chunkId: c.id,
    tenant: 't',
    inputHash: Buffer.from(`hash-${i}`.padEnd(32, '.')),
    textHash: textHash(texts[c.ordinal]!),
    vector: new Float32Array([i, 1, 0, 0]),
  }));
  return { mv, table: index.live.tableName, rows };
}

test('fresh vectors land in cache and index; a replay writes nothing and changes nothing', async ({ ctx }) => {
  const { mv, table, rows } = await setup(ctx, 5);
  expect(await writeFresh(ctx.db, table, mv, rows)).toBe(5);
  const before = (await ctx.db.query(`SELECT chunk_id, input_hash, embedding::text FROM ${table} ORDER BY chunk_id`)).rows;
  expect(before.map((r) => r.embedding)).toEqual(['[0,1,0,0]', '[1,1,0,0]', '[2,1,0,0]', '[3,1,0,0]', '[4,1,0,0]']);
  expect(await writeFresh(ctx.db, table, mv, rows)).toBe(0);
  expect((await ctx.db.query(`SELECT chunk_id, input_hash, embedding::text FROM ${table} ORDER BY chunk_id`)).rows).toEqual(before);
  expect(await countRows(ctx, 'embedding_cache')).toBe(5);
  // Half new, half replayed: the conflict path merges only what is missing.
  await ctx.db.query(`DELETE FROM ${table} WHERE chunk_id IN ($1, $2)`, [rows[0]!.chunkId, rows[1]!.chunkId]);
  expect(await writeFresh(ctx.db, table, mv, rows)).toBe(2);
  expect((await fillFromCache(ctx.db, table, mv, rows.map((r) => ({ chunkId: r.chunkId, inputHash: r.inputHash })))).size).toBe(5);
});

test('a vector for a chunk whose text changed (or that vanished) since it was read is not written', async ({ ctx }) => {
  const { mv, table, rows } = await setup(ctx, 3);
  await ctx.db.query(`UPDATE chunks SET text = 'changed', text_hash = $1 WHERE id = $2`, [textHash('changed'), rows[0]!.chunkId]);
  await ctx.db.query(`DELETE FROM chunks WHERE id = $1`, [rows[1]!.chunkId]);
  expect(await writeFresh(ctx.db, table, mv, rows)).toBe(1);
  const { rows: left } = await ctx.db.query(`SELECT chunk_id FROM ${table}`);
  expect(left).toEqual([{ chunk_id: rows[2]!.chunkId }]);
  // The cache keeps all three: they are correct vectors of the texts that were embedded.
  expect(await countRows(ctx, 'embedding_cache')).toBe(3);
});

test('binary COPY encoding round-trips vectors exactly', async ({ ctx }) => {
  await ctx.db.query(`CREATE TABLE enc (id bigint, h bytea, t text, v vector(3))`);
  const client = await ctx.db.connect();
  try {
    const { copyBinary } = await import('../../src/store/copy-binary.ts');
    await copyBinary(client, 'enc', encodeBinaryCopy([[{ t: 'int8', v: '9007199254740993' }, { t: 'bytea', v: Buffer.from([0, 255]) }, { t: 'text', v: 'héllo ✓' }, { t: 'vector', v: new Float32Array([0.5, -1.25, 3e-8]) }]]));
  } finally {
    client.release();
  }
  const { rows } = await ctx.db.query(`SELECT id::text, encode(h, 'hex') AS h, t, v::text FROM enc`);
  expect(rows).toEqual([{ id: '9007199254740993', h: '00ff', t: 'héllo ✓', v: '[0.5,-1.25,3e-08]' }]);
});
