import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { csvRecords } from '../../../src/corpus/readers/csv-records.ts';
import { readCsv } from '../../../src/corpus/readers/csv.ts';
import type { ReadItem } from '../../../src/corpus/readers/types.ts';
import { tempCorpus } from '../../support/corpus.ts';
import { chunksOf, collectWithoutPlace as collect } from './support.ts';

const corpus = tempCorpus();
const reject = { invalidUtf8: 'reject', globalIds: true } as const;

const summary = (items: ReadItem[]) => items.map((i) => (i.kind === 'doc' ? `${i.docId}: ${i.text}` : `! ${i.reason}`));

describe('csvRecords', () => {
  const data = Buffer.from('\ufeffid,text\r\n1,"quoted, with comma"\r\n\r\n2,"multi\nline ""quote"""\n3,plain "inch" mark\n4,"bad"x,y\n5,last');

  test('parses RFC 4180 quoting, CRLF, blank lines and a BOM, the same across any chunking', async () => {
    const expected = [
      { line: 1, fields: ['id', 'text'] },
      { line: 2, fields: ['1', 'quoted, with comma'] },
      { line: 4, fields: ['2', 'multi\nline "quote"'] },
      { line: 6, fields: ['3', 'plain "inch" mark'] },
      { line: 7, reason: 'unexpected "x" after a closing quote (a quote inside a quoted field must be doubled: "")' },
      { line: 8, fields: ['5', 'last'] },
    ];
    for (const size of [1, 2, 5, 4096]) {
      const recs = await collect(csvRecords(chunksOf(data, size), { maxRecordBytes: 1000, invalidUtf8: 'reject' }));
      expect(recs.map((r) => (r.fields ? { line: r.line, fields: r.fields } : { line: r.line, reason: r.reason }))).toEqual(expected);
    }
  });

  test('an unclosed quote is reported on the record that opened it', async () => {
    const recs = await collect(csvRecords(chunksOf(Buffer.from('a,b\n1,"never closed\n2,x\n'), 3), { maxRecordBytes: 1000, invalidUtf8: 'reject' }));
    expect(recs.map((r) => r.reason ?? r.fields)).toEqual([['a', 'b'], 'a quoted field is never closed: the rest of the file was read as part of this record']);
    expect(recs[1]!.line).toBe(2);
  });
});

describe('readCsv', () => {
  test('reads rows: text and id columns, the other columns as metadata', async () => {
    const p = corpus.write('rows.csv', 'id,title,text,lang\nr1,First,"Hello, world.",en\nr2,Second,"Line one\r\nline two  ",fr\n');
    expect(await collect(readCsv(p, reject))).toEqual([
      { kind: 'doc', docId: 'r1', source: p, text: 'Hello, world.', metadata: { title: 'First', lang: 'en' } },
      { kind: 'doc', docId: 'r2', source: p, text: 'Line one\nline two', metadata: { title: 'Second', lang: 'fr' } },
    ]);
  });

  test('without an id column (or with an empty id) the id is <file>#R<row>', async () => {
    const p = corpus.write('sub/noid.csv', 'text\nfirst\n\nsecond\n');
    expect(summary(await collect(readCsv(p, { ...reject, baseDir: corpus.dir })))).toEqual(['sub/noid.csv#R1: first', 'sub/noid.csv#R2: second']);
    const q = corpus.write('emptyid.csv', 'id,text\n,anonymous\n');
    expect(summary(await collect(readCsv(q, { ...reject, baseDir: corpus.dir })))).toEqual(['emptyid.csv#R1: anonymous']);
  });

  test('a header without the text column rejects the file, naming the columns it has', async () => {
    const p = corpus.write('nocol.csv', 'id,body\n1,hello\n');
    expect(await collect(readCsv(p, reject))).toEqual([{ kind: 'rejected', path: p, reason: 'no "text" column: the header has "id", "body" (set csv.textColumn)' }]);
    expect(summary(await collect(readCsv(p, { ...reject, csv: { textColumn: 'body' } })))).toEqual(['1: hello']);
  });

  test('bad rows are rejected with row and line, and reading goes on', async () => {
    const p = corpus.write('bad.csv', 'id,text\n1,ok\n2,too,many\n3\n"4","multi\nline"\n5,\n6,"bad"x\n7,"nul \u0000 here"\n8,fine\n');
    const items = await collect(readCsv(p, reject));
    expect(summary(items)).toEqual([
      '1: ok',
      '! row 2 (line 3): has 3 fields, the header has 2',
      '! row 3 (line 4): has 1 fields, the header has 2',
      '4: multi\nline',
      '! row 5 (line 7): no text in column "text"',
      '! row 6 (line 8): unexpected "x" after a closing quote (a quote inside a quoted field must be doubled: "")',
      '! row 7 (line 9): contains NUL bytes, which Postgres cannot store',
      '8: fine',
    ]);
    expect(items[1]).toMatchObject({ path: `${p}:3` });
  });

  test('a record over maxRecordBytes is rejected and the rows after it still arrive (even a quoted one spanning lines)', async () => {
    const giant = `"${'big line\n'.repeat(300_000)}"`;
    const p = corpus.write('giant.csv', `id,text\n1,before\n2,${giant}\n3,after\n4,${'x'.repeat(2 * 1024 * 1024)}\n5,end\n`);
    expect(summary(await collect(readCsv(p, { ...reject, maxRecordBytes: 1024 * 1024 })))).toEqual([
      '1: before',
      '! row 2 (line 3): record is 2.6 MB, over the 1.0 MB limit (maxRecordBytes)',
      '3: after',
      '! row 4 (line 300005): record is 2.0 MB, over the 1.0 MB limit (maxRecordBytes)',
      '5: end',
    ]);
  });

  test('invalid UTF-8 in a row: rejected with its byte offset, or replaced', async () => {
    const head = Buffer.from('id,text\n1,ok\n2,caf');
    const p = corpus.write('latin1.csv', Buffer.concat([head, Buffer.from([0xe9]), Buffer.from('\n3,next\n')]));
    expect(summary(await collect(readCsv(p, reject)))).toEqual(['1: ok', `! row 2 (line 3): invalid UTF-8 at byte ${head.length}`, '3: next']);
    expect(summary(await collect(readCsv(p, { invalidUtf8: 'replace', globalIds: true })))).toEqual(['1: ok', '2: caf\ufffd', '3: next']);
  });

  test('an empty file and a missing file are rejections', async () => {
    const p = corpus.write('empty.csv', '');
    expect(await collect(readCsv(p, reject))).toEqual([{ kind: 'rejected', path: p, reason: 'empty file (no header row)' }]);
    const q = join(corpus.dir, 'missing.csv');
    expect(await collect(readCsv(q, reject))).toEqual([{ kind: 'rejected', path: q, reason: 'not found' }]);
  });
});
