/**
 * Search is scoped to one tenant (the configured one unless told), and the tenant filter runs
 * inside the ordered scan: a tenant gets its own k nearest chunks even when another tenant's
 * vectors are all nearer, with HNSW (iterative scan) and without (exact scan).
 */
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { runSearch } from '../../src/cli/commands/search.ts';
import { createContext, type Context } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { ProviderPool } from '../../src/providers/pool.ts';
import { getIndex } from '../../src/store/indexes.ts';
import { migrate, readMigrations } from '../../src/store/migrate.ts';
import { searchVectors } from '../../src/store/vectors.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { dropIsolated, expect, test, testConfig } from '../support/fixtures.ts';

const QUERY = 'the quokka balances seventeen teacups on a lighthouse';

/** acme: 60 chunks that are nearly the query; globex: 8 chunks that share one word with it. */
async function twoTenants(ctx: Context, index: string): Promise<void> {
  const near: Record<string, string> = {};
  for (let i = 0; i < 60; i++) near[`near${i}.txt`] = `${QUERY} variant ${i}`;
  const far: Record<string, string> = {};
  for (let i = 0; i < 8; i++) far[`far${i}.txt`] = `A lighthouse keeper's log, entry ${i}. ${prose(i, 2)}`;
  await runIngest(ctx, { paths: [writeCorpus(near)], index, tenant: 'acme', chunkTokens: 64, chunkOverlap: 0 });
  await runIngest(ctx, { paths: [writeCorpus(far)], index, tenant: 'globex' });
}

async function withTenantCtx<T>(defaultTenant: string, fn: (ctx: Context) => Promise<T>, migrated = true): Promise<T> {
  const ctx = createContext(testConfig({ defaultTenant }), { logger: createLogger('silent') });
  if (migrated) await migrate(ctx.db, ctx.config.dbSchema);
  try {
    return await fn(ctx);
  } finally {
    await dropIsolated(ctx);
    await ctx.close();
  }
}

test("a tenant gets its own k nearest chunks though the other tenant's are all nearer, with HNSW and without", async ({ ctx }) => {
  await twoTenants(ctx, 'shared');
  const live = (await getIndex(ctx.db, 'shared'))!.live;
  expect(live.hnswBuilt).toBe(true);
  const withHnsw = await runSearch(ctx, { query: QUERY, index: 'shared', k: 5, tenant: 'globex' });
  expect(withHnsw.hits).toHaveLength(5);
  for (const h of withHnsw.hits) expect(h.source).toMatch(/far\d\.txt$/);
  for (let i = 1; i < withHnsw.hits.length; i++) expect(withHnsw.hits[i]!.score).toBeLessThanOrEqual(withHnsw.hits[i - 1]!.score);
  // The other tenant is really nearer: unscoped, its chunks fill the top 5.
  const all = await runSearch(ctx, { query: QUERY, index: 'shared', k: 5, allTenants: true });
  for (const h of all.hits) expect(h.source).toMatch(/near\d+\.txt$/);
  expect(all.hits[4]!.score).toBeGreaterThan(withHnsw.hits[0]!.score);

  // Same answer from the exact scan (no HNSW), and from the exact fallback when the iterative scan gives up early.
  const { provider } = await new ProviderPool(ctx.db, ctx.config, ctx.redis).get(live.modelVersionId);
  const q = (await provider.embed([QUERY], { inputType: 'query' })).vectors[0]!;
  const starved = await searchVectors(ctx.db, live.tableName, live.dims, q, 5, 'globex', { maxScanTuples: 1 });
  expect(starved.map((h) => h.chunkId)).toEqual(withHnsw.hits.map((h) => h.chunkId));
  await ctx.db.query(`DROP INDEX ${live.tableName}_hnsw`);
  const exact = await runSearch(ctx, { query: QUERY, index: 'shared', k: 5, tenant: 'globex' });
  expect(exact.hits.map((h) => h.chunkId)).toEqual(withHnsw.hits.map((h) => h.chunkId));
  // A tenant with fewer chunks than k gets all of them, and a tenant with none gets none.
  expect((await runSearch(ctx, { query: QUERY, index: 'shared', k: 20, tenant: 'globex' })).hits).toHaveLength(8);
  expect((await runSearch(ctx, { query: QUERY, index: 'shared', k: 5, tenant: 'initech' })).hits).toEqual([]);
});

test('without --tenant, search reads the configured tenant only; --all-tenants reads every tenant', () =>
  withTenantCtx('globex', async (ctx) => {
    await twoTenants(ctx, 'dflt');
    const mine = await runSearch(ctx, { query: QUERY, index: 'dflt', k: 5 });
    expect(mine.hits).toHaveLength(5);
    for (const h of mine.hits) expect(h).toMatchObject({ tenant: 'globex', source: expect.stringMatching(/far\d\.txt$/) });
    const every = await runSearch(ctx, { query: QUERY, index: 'dflt', k: 70, allTenants: true });
    expect(new Set(every.hits.map((h) => h.tenant))).toEqual(new Set(['acme', 'globex']));
    expect(every.hits).toHaveLength(68);
    await expect(runSearch(ctx, { query: QUERY, index: 'dflt', k: 5, tenant: 'acme', allTenants: true })).rejects.toThrow(/--tenant.*--all-tenants/);
  }));

test('migration 0006 gives existing vector tables their chunks\' tenant and drops orphan rows', () =>
  withTenantCtx('default', async (ctx) => {
    const files = readMigrations();
    const before = files.filter((f) => f.id < 5);
    await migrate(ctx.db, ctx.config.dbSchema, before);
    // A vector table in the form 0001-0004 created, with one orphan row (its chunk is gone).
    await ctx.db.query(`INSERT INTO model_versions (key, provider, model, dims, native_dims, normalization, max_input_tokens) VALUES ('local/hash-v1@1:3', 'local', 'hash-v1', 3, 384, 'nfc-lf-trim-v1', 8191)`);
    await ctx.db.query(`INSERT INTO indexes (name, chunk_tokens, chunk_overlap, tokenizer) VALUES ('old', 64, 0, 'word')`);
    await ctx.db.query(`INSERT INTO index_versions (index_id, version, table_name, model_version_id, dims, state, hnsw_built) VALUES (1, 1, 'vec_old_1', 1, 3, 'ready', true)`);
    await ctx.db.query(`INSERT INTO index_aliases (index_id, index_version_id) VALUES (1, 1)`);
    for (const t of ['acme', 'globex'])
      await ctx.db.query(`INSERT INTO documents (index_id, tenant, doc_id, source, content_hash, chunk_count) VALUES (1, $1, 'd', 'd', '\\x00', 1)`, [t]);
    await ctx.db.query(`INSERT INTO chunks (index_id, tenant, doc_id, ordinal, text, text_hash, char_start, char_end, tokens) VALUES
      (1, 'acme', 'd', 0, 'near', '\\x01', 0, 4, 1), (1, 'globex', 'd', 0, 'far', '\\x02', 0, 3, 1)`);
    await ctx.db.query(`CREATE TABLE vec_old_1 (chunk_id bigint PRIMARY KEY, model_version_id integer NOT NULL, input_hash bytea NOT NULL, embedding vector(3) NOT NULL)`);
    await ctx.db.query(`INSERT INTO vec_old_1 VALUES (1, 1, '\\x01', '[1,0,0]'), (2, 1, '\\x02', '[0,1,0]'), (99, 1, '\\x63', '[1,0,0]')`);
    await ctx.db.query(`CREATE INDEX vec_old_1_hnsw ON vec_old_1 USING hnsw (embedding vector_cosine_ops)`);

    const r = await migrate(ctx.db, ctx.config.dbSchema, files);
    expect(r.applied.map((a) => a.name)).toContain('0006_vector_tenant');
    const { rows } = await ctx.db.query(`SELECT chunk_id::int AS id, tenant FROM vec_old_1 ORDER BY chunk_id`);
    expect(rows).toEqual([{ id: 1, tenant: 'acme' }, { id: 2, tenant: 'globex' }]);
    await expect(ctx.db.query(`INSERT INTO vec_old_1 (chunk_id, model_version_id, input_hash, embedding) VALUES (3, 1, '\\x03', '[0,0,1]')`)).rejects.toThrow(/tenant/);
    const hits = await searchVectors(ctx.db, 'vec_old_1', 3, new Float32Array([1, 0, 0]), 1, 'globex');
    expect(hits.map((h) => [h.chunkId, h.tenant])).toEqual([['2', 'globex']]);
  }, false));
