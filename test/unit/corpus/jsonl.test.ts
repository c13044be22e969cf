import { createWriteStream, statSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readJsonl } from '../../../src/corpus/readers/jsonl.ts';
import { splitLines } from '../../../src/corpus/readers/lines.ts';
import type { ReadItem, SourceDoc } from '../../../src/corpus/readers/types.ts';
import { tempCorpus } from '../../support/corpus.ts';
import { chunksOf, collectWithoutPlace as collect } from './support.ts';

const corpus = tempCorpus();
const reject = { invalidUtf8: 'reject', globalIds: true } as const;

describe('splitLines', () => {
  test('splits at LF across any chunking, with byte offsets, keeping empty lines and a last unterminated one', async () => {
    const text = 'first\n\nthird line\r\n\u00e9t\u00e9\nlast';
    const data = Buffer.from(text);
    for (const size of [1, 2, 3, 7, 1000]) {
      const lines = await collect(splitLines(chunksOf(data, size), { maxLineBytes: 100 }));
      expect(lines.map((l) => l.bytes?.toString())).toEqual(['first', '', 'third line\r', '\u00e9t\u00e9', 'last']);
      expect(lines.map((l) => l.offset)).toEqual([0, 6, 7, 19, 25]);
    }
  });

  test('a line over the limit is measured but its bytes are never kept', async () => {
    const data = Buffer.from(`short\n${'x'.repeat(5000)}\nafter\n`);
    const lines = await collect(splitLines(chunksOf(data, 64), { maxLineBytes: 100, startOffset: 1000 }));
    expect(lines.map((l) => [l.offset, l.length, l.bytes?.toString()])).toEqual([
      [1000, 5, 'short'],
      [1006, 5000, undefined],
      [6007, 5, 'after'],
    ]);
  });
});

describe('readJsonl', () => {
  const lines = [
    '{"id":"a","text":"Alpha text.","metadata":{"lang":"en"}}',
    '{"id":7,"text":"  Seven\\r\\n"}',
    '{"text":"no id here"}',
    '',
    '{"id":"bad json",',
    '[1,2]',
    '{"id":"x","body":"wrong field"}',
    '{"id":"y","text":42}',
    '{"id":"z","text":"nul \\u0000 inside"}',
    '{"id":true,"text":"bool id"}',
    '{"id":"m","text":"ok","metadata":"nope"}',
    '{"id":"w","text":"   "}',
    '   ',
    '{"id":"crlf","text":"windows line"}\r',
  ];
  const path = corpus.write('mixed.jsonl', `${lines.join('\n')}\n`);
  const base = corpus.dir;

  test('reads records and rejects bad lines with their line number, going on after each', async () => {
    const items = await collect(readJsonl(path, { ...reject, baseDir: base }));
    expect(items).toEqual([
      { kind: 'doc', docId: 'a', source: path, text: 'Alpha text.', metadata: { lang: 'en' } },
      { kind: 'doc', docId: '7', source: path, text: 'Seven' },
      { kind: 'doc', docId: 'mixed.jsonl#L3', source: path, text: 'no id here' },
      { kind: 'rejected', path: `${path}:5`, reason: expect.stringMatching(/^line 5: not valid JSON \(.+\)$/) },
      { kind: 'rejected', path: `${path}:6`, reason: 'line 6: expected a JSON object, got an array' },
      { kind: 'rejected', path: `${path}:7`, reason: 'line 7: missing string field "text"' },
      { kind: 'rejected', path: `${path}:8`, reason: 'line 8: field "text" must be a string, got a number (42)' },
      { kind: 'rejected', path: `${path}:9`, reason: 'line 9: text contains NUL bytes, which Postgres text cannot store' },
      { kind: 'rejected', path: `${path}:10`, reason: 'line 10: field "id" must be a non-empty string or a number, got a boolean (true)' },
      { kind: 'rejected', path: `${path}:11`, reason: 'line 11: field "metadata" must be an object, got a string ("nope")' },
      { kind: 'rejected', path: `${path}:12`, reason: 'line 12: no text' },
      { kind: 'doc', docId: 'crlf', source: path, text: 'windows line' },
    ]);
  });

  test('field names are configurable', async () => {
    const p = corpus.write('custom.jsonl', '{"key":"k1","body":"Body text","meta":{"a":1}}\n');
    expect(await collect(readJsonl(p, { ...reject, jsonl: { idField: 'key', textField: 'body', metadataField: 'meta' } }))).toEqual([
      { kind: 'doc', docId: 'k1', source: p, text: 'Body text', metadata: { a: 1 } },
    ]);
  });

  test('a record over maxRecordBytes is rejected with its size and the next ones still arrive', async () => {
    const p = corpus.write('big.jsonl', `{"id":"1","text":"before"}\n{"id":"2","text":"${'y'.repeat(3 * 1024 * 1024)}"}\n{"id":"3","text":"after"}\n`);
    const items = await collect(readJsonl(p, { ...reject, maxRecordBytes: 1024 * 1024 }));
    expect(items.map((i) => (i.kind === 'doc' ? i.docId : i.reason))).toEqual(['1', 'line 2: record is 3.0 MB, over the 1.0 MB limit (maxRecordBytes)', '3']);
  });

  test('invalid UTF-8 in a line: rejected with the byte offset in the file, or replaced', async () => {
    const good = Buffer.from('{"id":"1","text":"fine"}\n');
    const head = Buffer.from('{"id":"2","text":"caf');
    const bad = Buffer.concat([head, Buffer.from([0xe9]), Buffer.from('"}\n')]);
    const p = corpus.write('latin1.jsonl', Buffer.concat([good, bad]));
    expect(await collect(readJsonl(p, reject))).toEqual([
      { kind: 'doc', docId: '1', source: p, text: 'fine' },
      { kind: 'rejected', path: `${p}:2`, reason: `line 2: invalid UTF-8 at byte ${good.length + head.length}` },
    ]);
    expect((await collect(readJsonl(p, { invalidUtf8: 'replace', globalIds: true })))[1]).toEqual({ kind: 'doc', docId: '2', source: p, text: 'caf\ufffd' });
  });

  test('byte ranges cut anywhere yield every record exactly once, with the same line numbers as a whole read', async () => {
    const records: string[] = [];
    for (let k = 1; k <= 400; k++) {
      if (k % 37 === 0) records.push('not json');
      else if (k % 11 === 0) records.push('');
      else if (k % 5 === 0) records.push(JSON.stringify({ text: `record without id ${k} ${'é'.repeat(k % 13)}` }));
      else records.push(JSON.stringify({ id: `r${k}`, text: `record ${k} ${'word '.repeat(k % 17)}` }));
    }
    const p = corpus.write('ranges.jsonl', `${records.join('\n')}\n`);
    const size = statSync(p).size;
    const key = (i: ReadItem) => (i.kind === 'doc' ? `doc ${i.docId} ${i.text}` : `rejected ${i.path} ${i.reason}`);
    const whole = (await collect(readJsonl(p, reject))).map(key);
    expect(whole.length).toBe(400 - Math.floor(400 / 11) + Math.floor(400 / (11 * 37)));

    // Cut points at line starts, just after them, mid-line, and ranges of one byte.
    const starts = [0];
    for (let i = 0; i < records.length; i++) starts.push(starts[i]! + Buffer.byteLength(records[i]!) + 1);
    for (const cuts of [
      [1000, 2000, 5000],
      [starts[10]!, starts[11]! - 1, starts[200]! + 1],
      Array.from({ length: 97 }, (_, k) => Math.floor(((k + 1) * size) / 98)),
      Array.from({ length: 50 }, (_, k) => 3000 + k),
    ]) {
      const bounds = [0, ...cuts, size];
      const parts: string[] = [];
      for (let k = 0; k + 1 < bounds.length; k++) parts.push(...(await collect(readJsonl(p, { ...reject, start: bounds[k]!, end: bounds[k + 1]! }))).map(key));
      expect(parts).toEqual(whole);
    }
  });

  test('streams a 20 MB file with a 12 MB line inside: every other record arrives, in order', async () => {
    const p = join(corpus.dir, 'large.jsonl');
    const out = createWriteStream(p);
    const n = 60_000;
    const filler = 'lorem ipsum dolor sit amet '.repeat(12);
    for (let k = 0; k < n; k++) {
      if (k === n / 2) {
        // One record far over the 8 MiB default, without a newline for 12 MB.
        const giant = `{"id":"giant","text":"${'z'.repeat(12 * 1024 * 1024)}"}\n`;
        if (!out.write(giant)) await once(out, 'drain');
      }
      if (!out.write(`${JSON.stringify({ id: k, text: `${k} ${filler}` })}\n`)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'close');
    expect(statSync(p).size).toBeGreaterThan(20 * 1024 * 1024);

    let next = 0;
    const rejected: string[] = [];
    for await (const item of readJsonl(p, reject)) {
      if (item.kind === 'rejected') {
        rejected.push(item.reason);
        continue;
      }
      expect((item as SourceDoc).docId).toBe(String(next));
      next++;
    }
    expect(next).toBe(n);
    expect(rejected).toEqual([`line ${n / 2 + 1}: record is 12.0 MB, over the 8.0 MB limit (maxRecordBytes)`]);
  });

  test('a missing file is one rejection', async () => {
    const p = join(corpus.dir, 'absent.jsonl');
    expect(await collect(readJsonl(p, reject))).toEqual([{ kind: 'rejected', path: p, reason: 'not found' }]);
  });
});
