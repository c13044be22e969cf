/**
 * Every kind of bad input gets a clear reason in `rejected`, the run goes on, and nothing
 * already indexed is lost.
 */
import { withConfig } from '../../src/context.ts';
import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { getIndex } from '../../src/store/indexes.ts';
import { countRows } from '../support/assert.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { expect, test } from '../support/fixtures.ts';

test('bad files and records are rejected with reasons while good ones are indexed', async ({ ctx }) => {
  const dir = writeCorpus({
    'good.md': `# Good\n\n${prose(1, 10)}`,
    'empty.txt': '',
    'binary.txt': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]),
    'latin1.txt': Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from(' au lait, a perfectly normal sentence.')]),
    'records.jsonl': [
      JSON.stringify({ id: 'r1', text: prose(2, 4) }),
      '{not json',
      JSON.stringify({ id: 'r3', body: 'no text field' }),
      JSON.stringify({ id: 'r4', text: 'a NUL \u0000 inside' }),
      JSON.stringify({ id: 'r5', text: prose(3, 4) }),
    ].join('\n'),
  });
  const huge = join(dir, 'huge.txt');
  writeFileSync(huge, '');
  truncateSync(huge, 200 * 1024 * 1024); // sparse: 200 MB on paper, nothing on disk
  const r = await runIngest(ctx, { paths: [dir, join(dir, 'missing.md')], index: 'bad' });

  const reasons = Object.fromEntries(r.rejected.map((x) => [x.path.replace(`${dir}/`, ''), x.reason]));
  expect(reasons['empty.txt']).toMatch(/empty/);
  expect(reasons['binary.txt']).toMatch(/binary/);
  expect(reasons['latin1.txt']).toMatch(/UTF-8/);
  expect(reasons['huge.txt']).toMatch(/200\.0 MB.*limit/);
  expect(Object.entries(reasons).find(([p]) => p.includes('missing.md'))?.[1]).toMatch(/not found/);
  const jsonl = Object.entries(reasons).filter(([p]) => p.startsWith('records.jsonl'));
  expect(jsonl.map(([, why]) => why).join('\n')).toMatch(/not valid JSON/);
  expect(jsonl.map(([, why]) => why).join('\n')).toMatch(/missing string field "text"/);
  expect(jsonl.map(([, why]) => why).join('\n')).toMatch(/NUL/);
  expect(jsonl).toHaveLength(3);

  // good.md, r1 and r5 made it in.
  expect(r.documents).toBe(3);
  const index = (await getIndex(ctx.db, 'bad'))!;
  expect(await countRows(ctx, index.live.tableName)).toBe(r.chunks);

  // A later run with more bad input loses nothing already indexed.
  writeFileSync(join(dir, 'good.md'), Buffer.from([0xff, 0xfe, 0x00, 0x41]));
  const again = await runIngest(ctx, { paths: [dir], index: 'bad' });
  expect(again.rejected.some((x) => x.path.endsWith('good.md'))).toBe(true);
  expect(await countRows(ctx, index.live.tableName)).toBe(r.chunks);
});

test('invalid UTF-8 is replaced instead of rejected when configured', async ({ ctx }) => {
  const dir = writeCorpus({ 'latin1.txt': Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from(' au lait, a perfectly normal sentence.')]) });
  const replacing = withConfig(ctx, { ...ctx.config, invalidUtf8: 'replace' as const });
  const r = await runIngest(replacing, { paths: [dir], index: 'repl' });
  expect(r.rejected).toEqual([]);
  expect(r.documents).toBe(1);
  const { rows } = await ctx.db.query(`SELECT text FROM chunks`);
  expect(rows[0].text).toContain('caf\uFFFD au lait');
});

test('texts over the model token limit are truncated or split, and counted', async ({ ctx }) => {
  const dir = writeCorpus({ 'long.txt': prose(5, 6) });
  // The index chunks at 200 tokens; then the provider's limit turns out lower (config override).
  const first = await runIngest(ctx, { paths: [dir], index: 'long', chunkTokens: 200, chunkOverlap: 0 });
  expect(first.truncated).toBe(0);
  const limited = (mode: 'truncate' | 'split') => withConfig(ctx, { ...ctx.config, overlong: mode, models: { 'local/hash-v1': { maxInputTokens: 20 } } });
  writeFileSync(join(dir, 'long.txt'), prose(6, 6));
  const truncated = await runIngest(limited('truncate'), { paths: [dir], index: 'long' });
  expect(truncated.embedded).toBe(truncated.chunks);
  expect(truncated.truncated).toBe(truncated.chunks);
  writeFileSync(join(dir, 'long.txt'), prose(7, 6));
  const split = await runIngest(limited('split'), { paths: [dir], index: 'long' });
  expect(split.embedded).toBe(split.chunks);
  expect(split.split).toBe(split.chunks);
  expect(split.truncated).toBe(0);
});
