/**
 * The cache as the gateway reads and writes it (issue #13): vectors come back exactly as stored
 * (pgvector's binary form, no text round trip), a second write of a hash keeps the first, and a
 * chunk that `embedq ingest` embedded is found under the key a query of its text computes.
 */
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { inputHash } from '../../src/corpus/hash.ts';
import { normalizeText } from '../../src/corpus/normalize.ts';
import { resolveModel } from '../../src/providers/models.ts';
import { addToCache, cachedVectors } from '../../src/store/cache.ts';
import { getIndex } from '../../src/store/indexes.ts';
import { upsertResolvedModel } from '../../src/store/models.ts';
import { writeCorpus } from '../support/corpus.ts';
import { expect, test } from '../support/fixtures.ts';

test('vectors written to the cache are read back bit for bit; the first write of a hash wins', async ({ ctx }) => {
  const mv = await upsertResolvedModel(ctx.db, resolveModel('local/hash-v1', 8));
  const a = { inputHash: Buffer.alloc(32, 1), vector: new Float32Array([1 / 3, 0.1, -1e-8, 0.7, 0, 1, -1, 2 ** -20]) };
  const b = { inputHash: Buffer.alloc(32, 2), vector: new Float32Array([0.5, -0.5, 0.25, 1e30, 3, 4, 5, 6]) };
  await addToCache(ctx.db, mv, [a, b]);
  await addToCache(ctx.db, mv, [{ inputHash: a.inputHash, vector: new Float32Array(8).fill(9) }]);
  const got = await cachedVectors(ctx.db, [a.inputHash, b.inputHash, Buffer.alloc(32, 3)]);
  expect([...got.keys()].sort()).toEqual([a.inputHash.toString('hex'), b.inputHash.toString('hex')]);
  expect(got.get(a.inputHash.toString('hex'))).toEqual(a.vector);
  expect(got.get(b.inputHash.toString('hex'))).toEqual(b.vector);
  expect(await cachedVectors(ctx.db, [])).toEqual(new Map());
});

test('a chunk ingest embedded is in the cache under the key its text computes, with the index\'s vector', async ({ ctx }) => {
  const text = 'The ledger matches the provider bill, row for row.';
  await runIngest(ctx, { paths: [writeCorpus({ 'a.txt': text })], index: 'shared', model: 'local/hash-v1', dims: 64, tenant: 'acme' });
  const live = (await getIndex(ctx.db, 'shared'))!.live;
  const key = (tenant: string) => inputHash({ scope: tenant, modelKey: live.modelKey, dims: live.dims, text: normalizeText(text) });
  const hit = await cachedVectors(ctx.db, [key('acme')]);
  const { rows } = await ctx.db.query<{ v: string }>(`SELECT embedding::text AS v FROM ${live.tableName}`);
  expect(hit.get(key('acme').toString('hex'))).toEqual(Float32Array.from(JSON.parse(rows[0]!.v) as number[]));
  // Another tenant's key computes another hash: nothing.
  expect((await cachedVectors(ctx.db, [key('other')])).size).toBe(0);
});

test('a cache write larger than one statement holds (8,192 rows each) lands whole, duplicates inside it written once', async ({ ctx }) => {
  const mv = await upsertResolvedModel(ctx.db, resolveModel('local/hash-v1', 8));
  const rows = Array.from({ length: 8_200 }, (_, i) => {
    const inputHash = Buffer.alloc(32);
    inputHash.writeUInt32BE(i % 8_195); // the last five repeat the first five
    return { inputHash, vector: new Float32Array([i, -i, 1 / (i + 1), 0.5, 0, 0, 0, 1]) };
  });
  await addToCache(ctx.db, mv, rows);
  const { rows: count } = await ctx.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM embedding_cache WHERE model_version_id = $1`, [mv]);
  expect(count[0]!.n).toBe('8195');
  const got = await cachedVectors(ctx.db, [rows[0]!.inputHash, rows[8_194]!.inputHash, rows[8_199]!.inputHash]);
  // The first write of a hash wins, across the statement boundary too.
  expect(got.get(rows[0]!.inputHash.toString('hex'))).toEqual(rows[0]!.vector);
  expect(got.get(rows[8_194]!.inputHash.toString('hex'))).toEqual(rows[8_194]!.vector);
  expect(got.get(rows[8_199]!.inputHash.toString('hex'))).toEqual(rows[4]!.vector);
  expect(got.size).toBe(3);
});
