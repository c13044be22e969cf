/** Record readers resume at a reported position: the rest of the file, with the same ids and line numbers. */
import { describe, expect, test } from 'vitest';
import { readCsv } from '../../../src/corpus/readers/csv.ts';
import { readJsonl } from '../../../src/corpus/readers/jsonl.ts';
import type { ReadItem } from '../../../src/corpus/readers/types.ts';
import { tempCorpus } from '../../support/corpus.ts';
import { collect } from './support.ts';

const corpus = tempCorpus();
const opts = { invalidUtf8: 'reject', positions: true } as const;
const strip = (items: ReadItem[]) => items.map(({ next: _n, ...rest }) => rest);

describe('resuming a record file at every reported position', () => {
  test('JSONL: each `next` reads exactly the records after it, line numbers and #L ids unchanged', async () => {
    const lines = ['{"text":"one"}', '', '{"id":"b","text":"two"}', 'not json', '{"text":"three"}\r', '{"text":"four"}'];
    const p = corpus.write('r.jsonl', lines.join('\n'));
    const all = await collect(readJsonl(p, opts));
    expect(all.map((i) => i.next?.line)).toEqual([2, 4, 5, 6, 7]);
    for (let k = 0; k < all.length; k++) {
      const at = all[k]!.next!;
      const rest = await collect(readJsonl(p, { ...opts, start: at.offset, startLine: at.line }));
      expect(strip(rest)).toEqual(strip(all.slice(k + 1)));
    }
    // A resumed range still stops at its end: the record that starts past it belongs to the next range.
    const third = all[1]!.next!;
    const bounded = await collect(readJsonl(p, { ...opts, start: third.offset, startLine: third.line, end: all[2]!.next!.offset }));
    expect(bounded.map((i) => (i.kind === 'doc' ? i.text : i.reason))).toEqual(['line 4: not valid JSON (Unexpected token \'o\', "not json" is not valid JSON)']);
  });

  test('CSV: each `next` re-reads the header and goes on at the row after it, with the same row ids', async () => {
    const p = corpus.write('r.csv', '\ufefftext,topic\r\n"multi\nline",a\n\nsecond,b\nbad,row,extra\n"last ""one""",c');
    const all = await collect(readCsv(p, opts));
    expect(all.map((i) => (i.kind === 'doc' ? i.docId.replace(/^.*#/, '#') : 'rejected'))).toEqual(['#R1', '#R2', 'rejected', '#R4']);
    for (let k = 0; k < all.length; k++) {
      const rest = await collect(readCsv(p, { ...opts, from: all[k]!.next! }));
      expect(strip(rest)).toEqual(strip(all.slice(k + 1)));
    }
  });
});
