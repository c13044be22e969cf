/** planSources: inputs become ingest jobs' sources without reading a document. */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { planSources } from '../../../src/pipeline/plan.ts';
import { tempCorpus } from '../../support/corpus.ts';

const corpus = tempCorpus();
for (const name of ['a.txt', 'b.md', 'c.txt', 'd.rst', 'e.txt']) corpus.write(`docs/${name}`, `text of ${name}\n`);
corpus.write('docs/skip.log', 'not a supported extension when walked\n');
corpus.write('other/f.txt', 'text of f\n');
const records = corpus.write('data/records.jsonl', `${Array.from({ length: 10 }, (_, i) => JSON.stringify({ id: `r${i}`, text: `record ${i}` })).join('\n')}\n`);
const rows = corpus.write('data/rows.csv', 'id,text\n1,"a, quoted\nnewline"\n2,b\n');
const empty = corpus.write('data/empty.jsonl', '');
const docs = join(corpus.dir, 'docs');

describe('planSources', () => {
  test('a folder is walked into groups of filesPerJob files, ids relative to the folder holding it', async () => {
    const { sources, rejected } = await planSources([docs], { filesPerJob: 2 });
    expect(rejected).toEqual([]);
    expect(sources).toEqual([
      { kind: 'files', paths: [join(docs, 'a.txt'), join(docs, 'b.md')], baseDir: corpus.dir },
      { kind: 'files', paths: [join(docs, 'c.txt'), join(docs, 'd.rst')], baseDir: corpus.dir },
      { kind: 'files', paths: [join(docs, 'e.txt')], baseDir: corpus.dir },
    ]);
  });

  test('files with different id folders are never in one group, however small the groups', async () => {
    const { sources } = await planSources([join(docs, 'a.txt'), join(docs, 'c.txt'), join(corpus.dir, 'other')]);
    expect(sources).toEqual([
      { kind: 'files', paths: [join(docs, 'a.txt'), join(docs, 'c.txt')], baseDir: docs },
      { kind: 'files', paths: [join(corpus.dir, 'other', 'f.txt')], baseDir: corpus.dir },
    ]);
  });

  test('a glob takes the files it matches, ids relative to the folder holding its literal part', async () => {
    const { sources } = await planSources([join(docs, '*.txt')]);
    expect(sources).toEqual([{ kind: 'files', paths: ['a.txt', 'c.txt', 'e.txt'].map((f) => join(docs, f)), baseDir: corpus.dir }]);
  });

  test('JSONL is cut into byte ranges that cover the file end to end; CSV goes whole', async () => {
    const size = statSync(records).size;
    const { sources } = await planSources([records, rows], { jsonlBytesPerJob: 64 });
    const ranges = sources.filter((s) => s.kind === 'jsonl');
    expect(ranges.length).toBe(Math.ceil(size / 64));
    expect(ranges[0]).toMatchObject({ path: records, start: 0, end: 64, baseDir: join(corpus.dir, 'data') });
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]!.start).toBe(ranges[i - 1]!.end);
    expect(ranges.at(-1)!.end).toBe(size);
    expect(sources.filter((s) => s.kind === 'csv')).toEqual([{ kind: 'csv', path: rows, baseDir: join(corpus.dir, 'data') }]);
  });

  test('an empty JSONL file, a missing path and a glob that matches nothing are rejections, and the rest is planned', async () => {
    const missing = join(corpus.dir, 'nope.md');
    const none = join(corpus.dir, '*.pdf');
    const { sources, rejected } = await planSources([empty, missing, none, join(docs, 'a.txt')]);
    expect(rejected).toEqual([
      { path: empty, reason: 'empty file' },
      { path: missing, reason: 'not found' },
      { path: none, reason: 'no files match this pattern' },
    ]);
    expect(sources).toEqual([{ kind: 'files', paths: [join(docs, 'a.txt')], baseDir: docs }]);
  });
});
