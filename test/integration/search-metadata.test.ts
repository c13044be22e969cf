/**
 * Search results carry their document's metadata (JSONL `metadata`, CSV columns), and
 * `--filter key=value` runs inside the ordered scan, not after its LIMIT: a filter that only far
 * documents match still gets k of them, with HNSW (iterative scan), from the exact fallback, and
 * without HNSW.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { runSearch } from '../../src/cli/commands/search.ts';
import { parseFilters } from '../../src/cli/parse.ts';
import { UsageError } from '../../src/errors.ts';
import { getIndex } from '../../src/store/indexes.ts';
import { searchVectors } from '../../src/store/vectors.ts';
import { runCli } from '../support/cli.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { describe, expect, test } from '../support/fixtures.ts';
import type { Context } from '../../src/context.ts';

const QUERY = 'the quokka balances seventeen teacups on a lighthouse';

/**
 * 40 English records that are nearly the query, and 6 German ones that are not; years alternate
 * between a number and a string, products between two values.
 */
function records(): string {
  const lines: string[] = [];
  for (let i = 0; i < 40; i++) lines.push(JSON.stringify({ id: `en${i}`, text: `${QUERY} variant ${i}`, metadata: { lang: 'en', year: 2023, product: 'pro' } }));
  for (let i = 0; i < 6; i++)
    lines.push(JSON.stringify({ id: `de${i}`, text: `Ein Leuchtturmwärter schreibt, Eintrag ${i}. ${prose(i, 2)}`, metadata: { lang: 'de', year: i % 2 ? 2024 : '2024', product: i < 3 ? 'pro' : 'free' } }));
  return `${lines.join('\n')}\n`;
}

async function indexRecords(ctx: Context, index: string): Promise<void> {
  const dir = writeCorpus({});
  writeFileSync(join(dir, 'kb.jsonl'), records());
  await runIngest(ctx, { paths: [join(dir, 'kb.jsonl')], index, chunkTokens: 64, chunkOverlap: 0 });
}

const ids = (hits: { docId: string }[]): string[] => hits.map((h) => h.docId.replace(/^.*#/, '')).sort();

describe('search metadata', () => {
  test('hits carry their metadata; a filter only far documents match still returns k of them, with HNSW, the exact fallback and no HNSW', async ({ ctx }) => {
    await indexRecords(ctx, 'kb');
    const live = (await getIndex(ctx.db, 'kb'))!.live;
    expect(live.hnswBuilt).toBe(true);

    const plain = await runSearch(ctx, { query: QUERY, index: 'kb', k: 4 });
    expect(plain.hits).toHaveLength(4);
    for (const h of plain.hits) expect(h.metadata).toEqual({ lang: 'en', year: 2023, product: 'pro' });

    // The German documents are all farther than the 40 English ones: a filter after LIMIT 4 would find none.
    const de = await runSearch(ctx, { query: QUERY, index: 'kb', k: 4, filter: parseFilters(['lang=de']) });
    expect(de.hits).toHaveLength(4);
    for (const h of de.hits) expect(h.metadata).toMatchObject({ lang: 'de' });
    expect(Math.max(...de.hits.map((h) => h.score))).toBeLessThan(Math.min(...(await runSearch(ctx, { query: QUERY, index: 'kb', k: 40 })).hits.map((h) => h.score)));

    // Exact fallback when the iterative scan stops early, and the plain exact scan without HNSW: same hits.
    const { provider } = await ctx.providers.get(live.modelVersionId);
    const q = (await provider.embed([QUERY], { inputType: 'query' })).vectors[0]!;
    const starved = await searchVectors(ctx.db, live.tableName, live.dims, q, 4, 'default', { filter: parseFilters(['lang=de']), maxScanTuples: 1 });
    expect(starved.map((h) => h.chunkId)).toEqual(de.hits.map((h) => h.chunkId));
    await ctx.db.query(`DROP INDEX "${live.tableName}_hnsw"`);
    const exact = await runSearch(ctx, { query: QUERY, index: 'kb', k: 4, filter: parseFilters(['lang=de']) });
    expect(exact.hits.map((h) => h.chunkId)).toEqual(de.hits.map((h) => h.chunkId));
  });

  test('keys must all match, repeated keys match any value, and a number matches as a string and as JSON', async ({ ctx }) => {
    await indexRecords(ctx, 'kb');
    const search = async (...flags: string[]) => ids((await runSearch(ctx, { query: QUERY, index: 'kb', k: 50, filter: parseFilters(flags) })).hits);
    expect(await search('lang=de', 'product=free')).toEqual(['de3', 'de4', 'de5']);
    expect(await search('year=2024')).toEqual(['de0', 'de1', 'de2', 'de3', 'de4', 'de5']); // 2024 and "2024"
    expect(await search('product=free', 'product=pro', 'lang=de')).toHaveLength(6);
    expect(await search('lang=fr')).toEqual([]);
    expect(await search('lang=de', 'nope=1')).toEqual([]);
    const none = await runSearch(ctx, { query: QUERY, index: 'kb', k: 5, filter: parseFilters(['lang=fr']) });
    const { formatSearch } = await import('../../src/cli/commands/search.ts');
    expect(formatSearch(none)).toBe('no results in kb for tenant default matching lang=fr (another tenant: --tenant ID; every tenant: --all-tenants)');
  });

  test('a re-ingest with the same text and edited metadata updates the metadata without embedding anything', async ({ ctx }) => {
    await indexRecords(ctx, 'kb');
    const edited = records().replace('"product":"free"', '"product":"enterprise"').replaceAll('"lang":"en","year":2023,"product":"pro"', '"lang":"en"');
    // The same file edited in place (a file elsewhere would hold other documents: ids are scoped by file).
    const original = (await ctx.db.query<{ source: string }>(`SELECT source FROM documents LIMIT 1`)).rows[0]!.source;
    writeFileSync(original, edited);
    const again = await runIngest(ctx, { paths: [original], index: 'kb', chunkTokens: 64, chunkOverlap: 0 });
    expect(again).toMatchObject({ embedded: 0, documents: 0, documentsSkipped: 46 });
    const search = async (...flags: string[]) => ids((await runSearch(ctx, { query: QUERY, index: 'kb', k: 50, filter: parseFilters(flags) })).hits);
    expect(await search('product=enterprise')).toEqual(['de3']);
    expect(await search('product=free')).toEqual(['de4', 'de5']);
    expect(await search('year=2023')).toEqual([]);
    const en = (await runSearch(ctx, { query: QUERY, index: 'kb', k: 1, filter: parseFilters(['lang=en']) })).hits;
    expect(en[0]!.metadata).toEqual({ lang: 'en' });
  });

  test('parseFilters refuses a flag without key=value, and keeps values that only look like JSON as strings', () => {
    expect(() => parseFilters(['lang'])).toThrow(UsageError);
    expect(() => parseFilters(['=en'])).toThrow(/--filter must be key=value/);
    expect(parseFilters(['a=1', 'b=true', 'c=01', 'd=x=y', 'e='])).toEqual([
      { key: 'a', values: ['1', 1] },
      { key: 'b', values: ['true', true] },
      { key: 'c', values: ['01'] },
      { key: 'd', values: ['x=y'] },
      { key: 'e', values: [''] },
    ]);
  });

  test('a CSV keeps the columns --metadata-columns names as metadata, and a named column it lacks rejects the file', async ({ ctx }) => {
    const dir = writeCorpus({});
    writeFileSync(join(dir, 'faq.csv'), 'id,text,lang,owner,secret_note\n1,How do refunds work for annual plans?,en,billing,do not show\n2,Wie funktioniert die Erstattung?,de,billing,intern\n');
    writeFileSync(join(dir, 'other.csv'), 'id,text\n1,Where is the lighthouse?\n');
    const s = await runIngest(ctx, { paths: [dir], index: 'faq', metadataColumns: 'lang,owner' });
    expect(s.rejected).toEqual([expect.objectContaining({ path: expect.stringMatching(/other\.csv$/), reason: expect.stringMatching(/no "lang", "owner" column for metadata: the header has "id", "text"/) })]);
    const r = await runSearch(ctx, { query: 'refunds', index: 'faq', k: 5, filter: parseFilters(['lang=de']) });
    expect(r.hits.map((h) => h.metadata)).toEqual([{ lang: 'de', owner: 'billing' }]);
    // Without the flag every other column is kept, as before.
    const all = await runIngest(ctx, { paths: [join(dir, 'faq.csv')], index: 'faq_all' });
    expect(all.rejected).toEqual([]);
    const hit = (await runSearch(ctx, { query: 'refunds', index: 'faq_all', k: 1, filter: parseFilters(['secret_note=intern']) })).hits;
    expect(hit.map((h) => h.metadata)).toEqual([{ lang: 'de', owner: 'billing', secret_note: 'intern' }]);
  });
});

test('the CLI: ingest --metadata-columns and search --filter (repeated) with --json and the text output', async ({ ctx }) => {
  const env = { REDIS_URL: ctx.config.redisUrl, DATABASE_URL: ctx.config.databaseUrl, EMBEDQ_DB_SCHEMA: ctx.config.dbSchema, EMBEDQ_REDIS_PREFIX: ctx.config.redisPrefix };
  const dir = writeCorpus({});
  writeFileSync(join(dir, 'faq.csv'), 'id,text,lang,owner,note\n1,How do refunds work for annual plans?,en,billing,x\n2,Wie funktioniert die Erstattung?,de,billing,y\n3,Single sign-on with SAML,en,security,z\n');
  const ing = await runCli(['ingest', join(dir, 'faq.csv'), '--index', 'faq', '--metadata-columns', 'lang,owner', '--json'], env);
  expect(ing.code, ing.stderr).toBe(0);
  const r = await runCli(['search', 'refunds', '--index', 'faq', '--filter', 'lang=en', '--filter', 'owner=billing', '--json'], env);
  expect(r.code, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout) as { filter: { key: string; values: unknown[] }[]; hits: { docId: string; metadata: unknown }[] };
  expect(out.filter).toEqual([{ key: 'lang', values: ['en'] }, { key: 'owner', values: ['billing'] }]);
  expect(out.hits.map((h) => [h.docId.replace(/^.*#/, ''), h.metadata])).toEqual([['1', { lang: 'en', owner: 'billing' }]]);
  const text = await runCli(['search', 'refunds', '--index', 'faq', '--filter', 'lang=de'], env);
  expect(text.stdout).toMatch(/faq\.csv#0\n {4}Wie funktioniert die Erstattung\?\n {4}lang=de {2}owner=billing/);
  const bad = await runCli(['search', 'refunds', '--index', 'faq', '--filter', 'lang'], env);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/--filter must be key=value/);
});
