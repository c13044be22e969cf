import { describe, expect, test } from 'vitest';
import { docIdFor, duplicateId, legacyDocIds, recordDocId } from '../../../src/corpus/readers/doc-id.ts';
import { readCsv } from '../../../src/corpus/readers/csv.ts';
import { readJsonl } from '../../../src/corpus/readers/jsonl.ts';
import { tempCorpus } from '../../support/corpus.ts';
import { collect } from './support.ts';

const corpus = tempCorpus();

describe('document ids', () => {
  test('a record id is scoped by its file unless ids are global; a record without one by its place', () => {
    expect(recordDocId('docs/a.csv', { id: '1', pos: 'R1' }, false)).toBe('docs/a.csv#1');
    expect(recordDocId('docs/a.csv', { id: '1', pos: 'R1' }, true)).toBe('1');
    expect(recordDocId('docs/a.csv', { pos: 'R4' }, true)).toBe('docs/a.csv#R4');
    expect(docIdFor('/data/docs/a/b.md', '/data')).toBe('docs/a/b.md');
  });

  test('readers give scoped ids and the record\'s place', async () => {
    const j = corpus.write('kb/a.jsonl', '{"id":"x","text":"one"}\n{"text":"two"}\n');
    const c = corpus.write('kb/a.csv', 'id,text\n7,seven\n');
    const docs = [...(await collect(readJsonl(j, { invalidUtf8: 'reject', baseDir: corpus.dir }))), ...(await collect(readCsv(c, { invalidUtf8: 'reject', baseDir: corpus.dir })))];
    expect(docs).toMatchObject([
      { docId: 'kb/a.jsonl#x', record: { at: `${j}:1`, label: 'line 1', id: 'x', pos: 'L1' } },
      { docId: 'kb/a.jsonl#L2', record: { at: `${j}:2`, label: 'line 2', pos: 'L2' } },
      { docId: 'kb/a.csv#7', record: { at: `${c}:2`, label: 'row 1 (line 2)', id: '7', pos: 'R1' } },
    ]);
  });

  test('the ids an older embedq may have stored: path suffixes of the source, or the record id alone', () => {
    const text = { kind: 'doc', docId: 'docs/a.md', source: '/data/docs/a.md', text: 't' } as const;
    expect(legacyDocIds(text).sort()).toEqual(['/data/docs/a.md', 'a.md', 'data/docs/a.md']);
    const rec = { kind: 'doc', docId: 'docs/a.csv#R3', source: '/data/docs/a.csv', text: 't', record: { at: '/data/docs/a.csv:4', label: 'row 3 (line 4)', pos: 'R3' } } as const;
    expect(legacyDocIds(rec).sort()).toEqual(['/data/docs/a.csv#R3', 'a.csv#R3', 'data/docs/a.csv#R3']);
    expect(legacyDocIds({ ...rec, docId: 'docs/a.csv#9', record: { ...rec.record, id: '9' } })).toEqual(['9']);
  });

  test('a duplicate names both places and what to do', () => {
    const rec = { kind: 'doc', docId: '9', source: '/d/b.csv', text: 't', record: { at: '/d/b.csv:4', label: 'row 3 (line 4)', id: '9', pos: 'R3' } } as const;
    expect(duplicateId(rec, 'row 1 (line 2) of /d/a.csv', true)).toEqual({
      kind: 'rejected',
      path: '/d/b.csv:4',
      reason: 'row 3 (line 4): duplicate id "9": row 1 (line 2) of /d/a.csv has it, and keeps it (with --global-ids an id must be unique across all files)',
    });
  });
});
