import { join } from 'node:path';
import { expect, test } from 'vitest';
import { readSources } from '../../../src/corpus/readers/index.ts';
import { tempCorpus } from '../../support/corpus.ts';
import { collectWithoutPlace as collect } from './support.ts';

const corpus = tempCorpus();
corpus.write('kb/a.md', '# A\n\nAlpha.\n');
corpus.write('kb/b.ndjson', '{"id":"b1","text":"Bee one"}\nnot json\n');
corpus.write('kb/c.csv', 'id,text,tag\nc1,See one,x\n');
corpus.write('kb/d.txt', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x00]));
corpus.write('kb/e.rst', 'Eee\n===\n');
corpus.write('kb/.draft.md', 'skipped');
corpus.write('other/notes.log', 'A log line.\n');

test('reads every kind of source in order, rejections in line, and continues after each', async () => {
  const kb = join(corpus.dir, 'kb');
  const items = await collect(readSources([kb, join(corpus.dir, 'missing'), join(corpus.dir, 'other/notes.log')], { invalidUtf8: 'reject', globalIds: true, baseDir: corpus.dir }));
  expect(items.map((i) => (i.kind === 'doc' ? `doc ${i.docId}: ${i.text}` : `rejected ${i.path.replace(corpus.dir, '')}: ${i.reason.replace(/ \(.*\)$/, '')}`))).toEqual([
    'doc kb/a.md: # A\n\nAlpha.',
    'doc b1: Bee one',
    'rejected /kb/b.ndjson:2: line 2: not valid JSON',
    'doc c1: See one',
    'rejected /kb/d.txt: binary file',
    'doc kb/e.rst: Eee\n===',
    'rejected /missing: not found',
    'doc other/notes.log: A log line.',
  ]);
  expect(items.find((i) => i.kind === 'doc' && i.docId === 'c1')).toMatchObject({ source: join(kb, 'c.csv'), metadata: { tag: 'x' } });
});
