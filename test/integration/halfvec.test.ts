/**
 * Indexes over 2,000 dims store `halfvec(n)`: the binary COPY encoding, and a write, a search and a
 * reembed at 3,072 dims (openai/text-embedding-3-large's native size) end to end.
 */
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { runReembedStart } from '../../src/cli/commands/reembed.ts';
import { runSearch } from '../../src/cli/commands/search.ts';
import { textHash } from '../../src/corpus/hash.ts';
import { l2normalize } from '../../src/providers/vectors.ts';
import { upsertChunks, upsertDocuments } from '../../src/store/chunks.ts';
import { copyBinary, encodeBinaryCopy } from '../../src/store/copy-binary.ts';
import { withTransaction } from '../../src/store/db.ts';
import { writeFresh, type FreshVector } from '../../src/store/vectors.ts';
import { ensureIndex, getIndex } from '../../src/store/indexes.ts';
import { upsertModelVersion } from '../../src/store/models.ts';
import { countRows } from '../support/assert.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { expect, test } from '../support/fixtures.ts';
import { withSim } from '../support/sim-context.ts';

const PLANTED = 'The quokka named Bartholomew balances seventeen teacups on a lighthouse during the equinox.';

test('halfvec cells encode exactly as pgvector converts float4 to half (rounding, subnormals, range edges)', async ({ ctx }) => {
  const edge = [0, 1, -1, 1 / 3, 0.1, -0.7, 65504, -65504, 65519, 6.103515625e-5, 6.1e-5, 5.960464477539063e-8, 2.98e-8, 3e-8, 1e-7, 1.0009765625, 1.00048828125, 1.00146484375, 2049, 2051];
  const random = Array.from({ length: 3072 - edge.length }, (_, i) => Math.sin(i * 12.9898) * (i % 7 === 0 ? 1e-4 : 1));
  const values = Float32Array.from([...edge, ...random]);
  await ctx.db.query(`CREATE TABLE hv (v halfvec(3072))`);
  const client = await ctx.db.connect();
  try {
    await copyBinary(client, 'hv', encodeBinaryCopy([[{ t: 'halfvec', v: values }]]));
  } finally {
    client.release();
  }
  const literal = `[${Array.from(values).join(',')}]`;
  const { rows } = await ctx.db.query(`SELECT v::text AS ours, ($1::vector(3072)::halfvec(3072))::text AS theirs, v = $1::vector(3072)::halfvec(3072) AS same FROM hv`, [literal]);
  expect(rows[0].ours).toBe(rows[0].theirs);
  expect(rows[0].same).toBe(true);
});

test('a halfvec cell that cannot be represented is refused by the encoder with the value and the reason', () => {
  expect(() => encodeBinaryCopy([[{ t: 'halfvec', v: new Float32Array([0.5, 70000]) }]])).toThrow(/element 1 is 70000.*halfvec.*65504/);
  expect(() => encodeBinaryCopy([[{ t: 'halfvec', v: new Float32Array([Number.NaN]) }]])).toThrow(/element 0 is NaN/);
});

test('an index of more than 4,000 dims is refused when it is created, with the reason, and nothing is created', async ({ ctx }) => {
  const mv = await upsertModelVersion(ctx.db, {
    key: 'local/hash-v1@1:4096', provider: 'local', model: 'hash-v1', version: '1', dims: 4096, nativeDims: 384, dimAdapter: 'native',
    normalization: 'nfc-lf-trim-v1', maxInputTokens: 8191, priceSyncPerMTok: 0, priceBatchPerMTok: null,
  });
  await expect(ensureIndex(ctx.db, { name: 'wide', chunkTokens: 64, chunkOverlap: 0, tokenizer: 'word', modelVersionId: mv, dims: 4096 })).rejects.toThrow(
    /4096 dims.*HNSW.*halfvec.*4,000.*--dims/,
  );
  expect(await countRows(ctx, 'indexes')).toBe(0);
  expect(await countRows(ctx, 'index_versions')).toBe(0);
  await expect(runIngest(ctx, { paths: [writeCorpus({ 'a.txt': prose(1, 3) })], index: 'wide2', model: 'local/hash-v1', dims: 4001 })).rejects.toThrow(/4001 dims/);
});

test('writeFresh at 3,072 dims: the COPY fast path and the replay (staging) path both land halfvec rows', async ({ ctx }) => {
  const mv = await upsertModelVersion(ctx.db, {
    key: 'local/hash-v1@1:3072', provider: 'local', model: 'hash-v1', version: '1', dims: 3072, nativeDims: 384, dimAdapter: 'native',
    normalization: 'nfc-lf-trim-v1', maxInputTokens: 8191, priceSyncPerMTok: 0, priceBatchPerMTok: null,
  });
  const { index } = await ensureIndex(ctx.db, { name: 'hw', chunkTokens: 64, chunkOverlap: 0, tokenizer: 'word', modelVersionId: mv, dims: 3072 });
  const texts = ['alpha', 'beta', 'gamma', 'delta'];
  const ids = await withTransaction(ctx.db, async (c) => {
    await upsertDocuments(c, index.id, 't', [{ docId: 'd', source: 'd', contentHash: Buffer.alloc(32), chunkCount: texts.length, metadata: null }]);
    return upsertChunks(c, index.id, 't', texts.map((text, ordinal) => ({ docId: 'd', ordinal, text, textHash: textHash(text), charStart: 0, charEnd: text.length, tokens: 1 })));
  });
  const rows: FreshVector[] = ids.map((c, i) => ({
    chunkId: c.id,
    tenant: 't',
    inputHash: Buffer.from(`hash-${i}`.padEnd(32, '.')),
    textHash: textHash(texts[c.ordinal]!),
    vector: l2normalize(Float32Array.from({ length: 3072 }, (_, j) => Math.cos(j * (i + 1)))),
  }));
  const table = index.live.tableName;
  expect(await writeFresh(ctx.db, table, mv, rows)).toBe(4);
  await ctx.db.query(`DELETE FROM ${table} WHERE chunk_id IN ($1, $2)`, [rows[0]!.chunkId, rows[3]!.chunkId]);
  expect(await writeFresh(ctx.db, table, mv, rows)).toBe(2);
  const { rows: check } = await ctx.db.query(
    `SELECT count(*)::int AS n, count(*) FILTER (WHERE v.embedding = e.embedding::halfvec(3072))::int AS same
       FROM ${table} v JOIN embedding_cache e ON e.input_hash = v.input_hash`,
  );
  expect(check[0]).toEqual({ n: 4, same: 4 });
});

test('3,072 dims: ingest writes halfvec rows, search finds the planted chunk, a reembed 384 → 3,072 cuts over with full coverage', () =>
  withSim(async (sim, ctx) => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 8; i++) files[`doc${i}.md`] = prose(i, 20);
    files['planted.txt'] = `${prose(99, 3)} ${PLANTED} ${prose(100, 3)}`;
    const dir = writeCorpus(files);

    // A write at 3,072 (local model, native at any size up to 4,096) and a search on its HNSW index.
    const wide = await runIngest(ctx, { paths: [dir], index: 'wide', model: 'local/hash-v1', dims: 3072, chunkTokens: 48, chunkOverlap: 0 });
    expect(wide.failedJobs).toBe(0);
    expect(wide.embedded).toBe(wide.chunks);
    const w = (await getIndex(ctx.db, 'wide'))!.live;
    expect(w.hnswBuilt).toBe(true);
    const { rows: col } = await ctx.db.query(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'embedding'`, [w.tableName]);
    expect(col[0].t).toBe('halfvec(3072)');
    expect(await countRows(ctx, w.tableName)).toBe(wide.chunks);
    const hit = await runSearch(ctx, { query: 'quokka Bartholomew balances teacups on a lighthouse', index: 'wide', k: 3 });
    expect(hit.hits[0]!.source).toMatch(/planted\.txt$/);
    expect(hit.hits[0]!.score).toBeGreaterThan(0.3);
    // A second index on the same model and tenant is filled from the cache (vector → halfvec copy in Postgres).
    const again = await runIngest(ctx, { paths: [dir], index: 'wide_again', model: 'local/hash-v1', dims: 3072, chunkTokens: 48, chunkOverlap: 0 });
    expect(again.cacheHits).toBe(again.chunks);
    const a = (await getIndex(ctx.db, 'wide_again'))!.live;
    const { rows: same } = await ctx.db.query(
      `SELECT count(*)::int AS n FROM ${a.tableName} x JOIN chunks cx ON cx.id = x.chunk_id JOIN chunks cw ON cw.text_hash = cx.text_hash AND cw.index_id <> cx.index_id
         JOIN ${w.tableName} y ON y.chunk_id = cw.id WHERE x.embedding = y.embedding`,
    );
    expect(same[0].n).toBeGreaterThanOrEqual(again.chunks);

    // A reembed of a 384-dim index to text-embedding-3-large at its native 3,072.
    await runIngest(ctx, { paths: [dir], index: 'narrow', chunkTokens: 48, chunkOverlap: 0 });
    await expect(runReembedStart(ctx, { index: 'narrow', to: 'local/hash-v1', dims: 4001, wait: false })).rejects.toThrow(/4001 dims.*HNSW/);
    expect(await countRows(ctx, 'reembeds')).toBe(0);
    const s = await runReembedStart(ctx, { index: 'narrow', to: 'openai/text-embedding-3-large' });
    expect(s.migration!.state).toBe('cut_over');
    expect(s.coverage!.ratio).toBe(1);
    expect(sim.stats().inputs).toBeGreaterThan(0);
    const live = (await getIndex(ctx.db, 'narrow'))!.live;
    expect(live.modelKey).toBe('openai/text-embedding-3-large@1:3072');
    expect(live.hnswBuilt).toBe(true);
    const after = await runSearch(ctx, { query: PLANTED, index: 'narrow', k: 3 });
    expect(after.modelVersion).toBe('openai/text-embedding-3-large@1:3072');
    expect(after.hits[0]!.text).toContain('quokka named Bartholomew');
    // Three ingests and a reembed: a generous safety net for a loaded CI machine, not a measured bound.
  }), 180_000);
