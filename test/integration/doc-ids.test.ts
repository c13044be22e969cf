/**
 * Document ids do not depend on the current directory, JSONL/CSV record ids are scoped by their
 * file (unless --global-ids).
 */
import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { runSearch } from '../../src/cli/commands/search.ts';
import { countRows, docIds } from '../support/assert.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { dropIsolated, expect, test } from '../support/fixtures.ts';
import { createContext } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { getIndex } from '../../src/store/indexes.ts';
import { migrate, readMigrations } from '../../src/store/migrate.ts';

/** A fresh parent folder holding `docs/` with the given files; returns the parent (real path). */
function corpus(files: Record<string, string>): string {
  return realpathSync(writeCorpus(Object.fromEntries(Object.entries(files).map(([rel, text]) => [join('docs', rel), text]))));
}

async function inDir<T>(dir: string, f: () => Promise<T>): Promise<T> {
  const was = process.cwd();
  process.chdir(dir);
  try {
    return await f();
  } finally {
    process.chdir(was);
  }
}


test('the same files ingested from two directories and by absolute path are one document each', async ({ ctx }) => {
  const parent = corpus({ 'a.md': prose(1, 6), 'sub/b.md': prose(2, 6), 'sub/c.txt': prose(3, 6) });
  const first = await inDir(parent, () => runIngest(ctx, { paths: ['docs'], index: 'ids' }));
  expect(first.documents).toBe(3);
  const ids = ['docs/a.md', 'docs/sub/b.md', 'docs/sub/c.txt'];
  expect(await docIds(ctx)).toEqual(ids);
  const fromInside = await inDir(join(parent, 'docs'), () => runIngest(ctx, { paths: ['.'], index: 'ids' }));
  const byAbsolute = await inDir(tmpdir(), () => runIngest(ctx, { paths: [join(parent, 'docs') + '/'], index: 'ids' }));
  const byGlob = await inDir(join(parent, 'docs', 'sub'), () => runIngest(ctx, { paths: ['../**/*.md'], index: 'ids' }));
  for (const r of [fromInside, byAbsolute, byGlob]) expect({ documents: r.documents, embedded: r.embedded, rejected: r.rejected }).toEqual({ documents: 0, embedded: 0, rejected: [] });
  expect(await docIds(ctx)).toEqual(ids);
  expect(await countRows(ctx, 'chunks')).toBe(await countRows(ctx, 'vec_ids_1'));
  const hits = (await runSearch(ctx, { query: prose(2, 6), index: 'ids', k: 10 })).hits;
  const keys = hits.map((h) => `${h.source}#${h.ordinal}`);
  expect(new Set(keys).size).toBe(keys.length);
});

test('two CSVs that both have id=1 are four documents; --global-ids reports the duplicates as rejections', async ({ ctx }) => {
  const parent = corpus({ 'one.csv': `id,text\n1,"${prose(1, 2)}"\n2,"${prose(2, 2)}"\n`, 'two.csv': `id,text\n1,"${prose(3, 2)}"\n3,"${prose(4, 2)}"\n3,"${prose(5, 2)}"\n` });
  const docs = join(parent, 'docs');
  const scoped = await runIngest(ctx, { paths: [join(docs, 'one.csv')], index: 'csvs' });
  const scoped2 = await runIngest(ctx, { paths: [join(docs, 'two.csv')], index: 'csvs' });
  expect(scoped.documents + scoped2.documents).toBe(4);
  // Within one file a repeated id is still a duplicate: the later row is rejected, not written over the first.
  expect(scoped2.rejected).toEqual([{ path: `${join(docs, 'two.csv')}:4`, reason: expect.stringMatching(/^row 3 \(line 4\): duplicate id "3": row 2 \(line 3\) of .*two\.csv has it/) }]);
  expect(await docIds(ctx)).toEqual(['one.csv#1', 'one.csv#2', 'two.csv#1', 'two.csv#3']);

  const global = await runIngest(ctx, { paths: [docs], index: 'globalcsv', globalIds: true });
  expect(global.documents).toBe(3);
  const reasons = global.rejected.map((r) => `${basename(r.path)} ${r.reason.replace(/ of \/\S+\//, ' of ')}`).sort();
  expect(reasons).toHaveLength(2);
  expect(reasons[1]).toMatch(/^two\.csv:4 row 3 \(line 4\): duplicate id "3": row 2 \(line 3\) of two\.csv has it/);
  // Which file's id=1 comes first depends on which job ran first; the other is the rejection.
  expect(reasons[0]).toMatch(/^(one|two)\.csv:2 row 1 \(line 2\): duplicate id "1": row 1 \(line 2\) of (one|two)\.csv has it/);
  const { rows } = await ctx.db.query(`SELECT doc_id FROM documents d JOIN indexes i ON i.id = d.index_id WHERE i.name = 'globalcsv' ORDER BY doc_id`);
  expect(rows.map((r) => r.doc_id)).toEqual(['1', '2', '3']);
});
test('an index written with the old cwd-relative or absolute ids is adopted in place: no duplicates, nothing re-embedded', async ({ ctx }) => {
  const parent = corpus({ 'a.md': prose(1, 6), 'sub/b.md': prose(2, 6), 'kb.jsonl': `${JSON.stringify({ text: prose(3, 2) })}\n${JSON.stringify({ id: 'k9', text: prose(4, 2) })}\n` });
  const docs = join(parent, 'docs');
  await inDir(parent, () => runIngest(ctx, { paths: ['docs'], index: 'old' }));
  const chunks = await countRows(ctx, 'chunks');
  // As migration 0012 marks an index an older embedq created (one created now never holds old ids).
  await ctx.db.query(`UPDATE indexes SET legacy_doc_ids = true WHERE name = 'old'`);
  // The forms embedq used to write: relative to the cwd (here the docs folder), absolute, a global record id;
  // and a.md twice, as ingesting from two directories left it.
  // (The copy's chunks have no vectors here; the copy kept is the first old id, the absolute one.)
  await ctx.db.query(`INSERT INTO documents (index_id, tenant, doc_id, source, content_hash, chunk_count) SELECT index_id, tenant, 'a.md', source, content_hash, chunk_count FROM documents WHERE doc_id = 'docs/a.md'`);
  await ctx.db.query(`INSERT INTO chunks (index_id, tenant, doc_id, ordinal, text, text_hash, char_start, char_end, tokens) SELECT index_id, tenant, 'a.md', ordinal, text, text_hash, char_start, char_end, tokens FROM chunks WHERE doc_id = 'docs/a.md'`);
  for (const [now, old] of [['docs/a.md', join(docs, 'a.md')], ['docs/sub/b.md', join(docs, 'sub/b.md')], ['docs/kb.jsonl#L1', 'kb.jsonl#L1'], ['docs/kb.jsonl#k9', 'k9']]) {
    await ctx.db.query(`INSERT INTO documents (index_id, tenant, doc_id, source, content_hash, chunk_count) SELECT index_id, tenant, $2, source, content_hash, chunk_count FROM documents WHERE doc_id = $1`, [now, old]);
    await ctx.db.query(`UPDATE chunks SET doc_id = $2 WHERE doc_id = $1`, [now, old]);
    await ctx.db.query(`DELETE FROM documents WHERE doc_id = $1`, [now]);
  }
  expect(await countRows(ctx, 'documents')).toBe(5);
  const r = await inDir(tmpdir(), () => runIngest(ctx, { paths: [docs], index: 'old' }));
  expect({ documents: r.documents, embedded: r.embedded, rejected: r.rejected }).toEqual({ documents: 0, embedded: 0, rejected: [] });
  expect(await docIds(ctx)).toEqual(['docs/a.md', 'docs/kb.jsonl#L1', 'docs/kb.jsonl#k9', 'docs/sub/b.md']);
  expect(await countRows(ctx, 'chunks')).toBe(chunks);
  expect(await countRows(ctx, 'vec_old_1')).toBe(chunks);
});

test('only indexes that existed before migration 0012 look for old ids; an index created now never does', async ({ config }) => {
  const ctx = createContext(config, { logger: createLogger('silent') });
  try {
    const files = readMigrations();
    await migrate(ctx.db, config.dbSchema, files.filter((f) => f.id < 12));
    await ctx.db.query(`INSERT INTO indexes (name, chunk_tokens, chunk_overlap, tokenizer) VALUES ('before', 64, 0, 'word')`);
    await migrate(ctx.db, config.dbSchema, files);
    await ctx.db.query(`INSERT INTO indexes (name, chunk_tokens, chunk_overlap, tokenizer) VALUES ('after', 64, 0, 'word')`);
    const { rows } = await ctx.db.query(`SELECT name, legacy_doc_ids FROM indexes ORDER BY name`);
    expect(rows).toEqual([{ name: 'after', legacy_doc_ids: false }, { name: 'before', legacy_doc_ids: true }]);
    // A new index with a stray old-form copy of a document: not adopted (no lookup), so it stays.
    const parent = corpus({ 'a.md': prose(1, 6) });
    await inDir(parent, () => runIngest(ctx, { paths: ['docs'], index: 'fresh' }));
    expect((await getIndex(ctx.db, 'fresh'))!.legacyDocIds).toBe(false);
    await ctx.db.query(`INSERT INTO documents (index_id, tenant, doc_id, source, content_hash, chunk_count) SELECT index_id, tenant, 'a.md', source, content_hash, chunk_count FROM documents WHERE doc_id = 'docs/a.md'`);
    await inDir(parent, () => runIngest(ctx, { paths: ['docs'], index: 'fresh' }));
    const { rows: ids } = await ctx.db.query(`SELECT doc_id FROM documents d JOIN indexes i ON i.id = d.index_id WHERE i.name = 'fresh' ORDER BY doc_id`);
    expect(ids.map((r) => r.doc_id)).toEqual(['a.md', 'docs/a.md']);
  } finally {
    await dropIsolated(ctx);
    await ctx.close();
  }
});

test('an unchanged document whose vectors are missing (a run interrupted between its chunks and its vectors) is done again; the others are skipped', async ({ ctx }) => {
  const parent = corpus({ 'a.md': prose(11, 6), 'b.md': prose(12, 6), 'c.md': prose(13, 6) });
  const first = await inDir(parent, () => runIngest(ctx, { paths: ['docs'], index: 'gap', chunkTokens: 48, chunkOverlap: 0 }));
  const table = (await getIndex(ctx.db, 'gap'))!.live.tableName;
  const rows = await countRows(ctx, table);
  expect(rows).toBe(first.chunks);
  const { rowCount } = await ctx.db.query(`DELETE FROM "${table}" v USING chunks c WHERE c.id = v.chunk_id AND c.doc_id = 'docs/b.md'`);
  expect(rowCount).toBeGreaterThan(0);
  const again = await inDir(parent, () => runIngest(ctx, { paths: ['docs'], index: 'gap' }));
  // b.md only: its vectors come back from the cache; a.md and c.md are skipped unread.
  expect({ documents: again.documents, documentsSkipped: again.documentsSkipped, cacheHits: again.cacheHits, embedded: again.embedded }).toEqual({ documents: 1, documentsSkipped: 2, cacheHits: rowCount, embedded: 0 });
  expect(await countRows(ctx, table)).toBe(rows);
});
