import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { runSearch } from '../../src/cli/commands/search.ts';
import { getIndex } from '../../src/store/indexes.ts';
import { countRows, ledgerSums, orphanVectors } from '../support/assert.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { describe, expect, test } from '../support/fixtures.ts';

const PLANTED = 'The quokka named Bartholomew balances seventeen teacups on a lighthouse during the equinox.';

describe('ingest with the local model (real Redis + Postgres, in-process worker)', () => {
  test('indexes a corpus, then a re-run of the unchanged corpus embeds nothing and changes no rows', async ({ ctx }) => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 12; i++) files[`doc${i}.md`] = `# Doc ${i}\n\n${prose(i, 30)}`;
    files['planted.txt'] = `${prose(99, 5)} ${PLANTED} ${prose(100, 5)}`;
    const dir = writeCorpus(files);

    const first = await runIngest(ctx, { paths: [dir], index: 'docs', chunkTokens: 64, chunkOverlap: 8 });
    expect(first.documents).toBe(13);
    expect(first.chunks).toBeGreaterThan(13);
    expect(first.embedded).toBe(first.chunks);
    expect(first.rejected).toEqual([]);
    const index = (await getIndex(ctx.db, 'docs'))!;
    expect(await countRows(ctx, index.live.tableName)).toBe(first.chunks);
    const { rows: mvs } = await ctx.db.query(`SELECT DISTINCT model_version_id FROM ${index.live.tableName}`);
    expect(mvs).toEqual([{ model_version_id: index.live.modelVersionId }]);
    expect(index.live.hnswBuilt).toBe(true);
    const snapshot = (await ctx.db.query(`SELECT chunk_id, input_hash FROM ${index.live.tableName} ORDER BY chunk_id`)).rows;

    const second = await runIngest(ctx, { paths: [dir], index: 'docs' });
    expect(second).toMatchObject({ documents: 0, documentsSkipped: 13, chunks: 0, embedded: 0, tokens: 0 });
    expect((await ctx.db.query(`SELECT chunk_id, input_hash FROM ${index.live.tableName} ORDER BY chunk_id`)).rows).toEqual(snapshot);

    const hits = await runSearch(ctx, { query: 'quokka Bartholomew balances teacups on a lighthouse', index: 'docs', k: 3 });
    expect(hits.hits[0]!.source).toMatch(/planted\.txt$/);
    expect(hits.hits[0]!.text).toContain('quokka named Bartholomew');
  });

  test('changing one file re-processes only that file; deleting text trims its chunks', async ({ ctx }) => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 6; i++) files[`f${i}.txt`] = prose(i, 40);
    const dir = writeCorpus(files);
    const first = await runIngest(ctx, { paths: [dir], index: 'kb', chunkTokens: 50, chunkOverlap: 0 });
    const f2 = join(dir, 'f2.txt');
    const original = readFileSync(f2, 'utf8');
    // Change the last sentence only: earlier chunks keep their text and their vectors.
    writeFileSync(f2, `${original.slice(0, original.lastIndexOf('.', original.length - 2) + 1)} A brand new closing sentence about zeppelins.`);
    const second = await runIngest(ctx, { paths: [dir], index: 'kb' });
    expect(second.documents).toBe(1);
    expect(second.documentsSkipped).toBe(5);
    expect(second.embedded).toBeGreaterThan(0);
    expect(second.embedded).toBeLessThan(first.chunks / 6);
    writeFileSync(f2, prose(2, 3));
    const third = await runIngest(ctx, { paths: [dir], index: 'kb' });
    expect(third.documents).toBe(1);
    const index = (await getIndex(ctx.db, 'kb'))!;
    const { rows } = await ctx.db.query(
      `SELECT count(*)::int AS chunks, count(v.chunk_id)::int AS vectors FROM chunks c LEFT JOIN ${index.live.tableName} v ON v.chunk_id = c.id WHERE c.doc_id LIKE '%f2.txt'`,
    );
    expect(rows[0].chunks).toBe(third.chunks);
    expect(rows[0].vectors).toBe(third.chunks);
    expect(await orphanVectors(ctx, index.live.tableName)).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });

  test('identical texts across documents are embedded once and served from the cache', async ({ ctx }) => {
    const same = prose(7, 4);
    const dir = writeCorpus({ 'a.txt': same, 'b.txt': same, 'c.txt': same });
    const r = await runIngest(ctx, { paths: [dir], index: 'dups' });
    expect(r.chunks).toBe(3);
    expect(await countRows(ctx, 'embedding_cache')).toBe(1);
    // Another index on the same model and tenant is filled from the cache alone.
    const again = await runIngest(ctx, { paths: [dir], index: 'dups2' });
    expect(again.cacheHits).toBe(3);
    expect(again.embedded).toBe(0);
    expect((await ledgerSums(ctx, `status = 'cache_hit'`)).tokens).toBeGreaterThan(0);
  });
});
