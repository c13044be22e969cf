import { openSync, closeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { binaryReason, docIdFor, readTextFile } from '../../../src/corpus/readers/text.ts';
import { firstInvalidUtf8 } from '../../../src/corpus/readers/utf8.ts';
import { tempCorpus } from '../../support/corpus.ts';

const corpus = tempCorpus();
const reject = { invalidUtf8: 'reject' } as const;

describe('readTextFile', () => {
  test('reads a file as one normalized document, id relative to baseDir', async () => {
    const path = corpus.write('docs/guide/intro.md', '\ufeff# Intro\r\n\r\nCafe\u0301 text.   \r\n');
    expect(await readTextFile(path, { ...reject, baseDir: join(corpus.dir, 'docs') })).toEqual({ kind: 'doc', docId: 'guide/intro.md', source: path, text: '# Intro\n\nCaf\u00e9 text.' });
    expect(await readTextFile(path, reject)).toMatchObject({ kind: 'doc', docId: path });
  });

  test('docIdFor falls back to the absolute path outside baseDir', () => {
    expect(docIdFor('/data/docs/a/b.md', '/data/docs')).toBe('a/b.md');
    expect(docIdFor('/data/other/c.md', '/data/docs')).toBe('/data/other/c.md');
    expect(docIdFor('/data/docs', '/data/docs')).toBe('/data/docs');
  });

  test('rejects a file over maxFileBytes from its size alone (a sparse 200 MB file is never read)', async () => {
    const path = join(corpus.dir, 'huge.txt');
    const fd = openSync(path, 'w');
    ftruncateSync(fd, 200 * 1024 * 1024);
    closeSync(fd);
    expect(await readTextFile(path, reject)).toEqual({ kind: 'rejected', path, reason: 'file is 200.0 MB, over the 50.0 MB limit for one document (maxFileBytes)' });
    const small = corpus.write('small.txt', 'x'.repeat(3000));
    expect(await readTextFile(small, { ...reject, maxFileBytes: 2048 })).toMatchObject({ reason: 'file is 2.9 KB, over the 2.0 KB limit for one document (maxFileBytes)' });
  });

  test('rejects empty, whitespace-only, binary and UTF-16 files with their reason', async () => {
    const cases: [string, string | Uint8Array, string][] = [
      ['empty.txt', '', 'empty file'],
      ['blank.txt', ' \r\n\t\n  ', 'no text'],
      ['nul.txt', Buffer.from('PNG\u0000\u0001data'), 'binary file (NUL bytes)'],
      ['ctl.txt', Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 65, 66, 67]), 'binary file (control bytes)'],
      ['utf16.txt', Buffer.from('\ufeffhello', 'utf16le'), 'UTF-16 text (convert it to UTF-8)'],
      ['late-nul.txt', Buffer.concat([Buffer.from('a'.repeat(10_000)), Buffer.from([0]), Buffer.from('b')]), 'contains NUL bytes (first at byte 10000), which Postgres text cannot store'],
    ];
    for (const [name, data, reason] of cases) {
      const path = corpus.write(name, data);
      expect(await readTextFile(path, reject)).toEqual({ kind: 'rejected', path, reason });
    }
  });

  test('invalid UTF-8: rejected naming the first bad byte, or replaced with U+FFFD', async () => {
    const path = corpus.write('latin1.txt', Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from(' au lait')]));
    expect(await readTextFile(path, reject)).toEqual({ kind: 'rejected', path, reason: "invalid UTF-8 at byte 3 (invalidUtf8 'replace' would substitute U+FFFD)" });
    expect(await readTextFile(path, { invalidUtf8: 'replace' })).toMatchObject({ kind: 'doc', text: 'caf\ufffd au lait' });
  });

  test('a missing file is a rejection, not a throw', async () => {
    const path = join(corpus.dir, 'gone.md');
    expect(await readTextFile(path, reject)).toEqual({ kind: 'rejected', path, reason: 'not found' });
  });
});

describe('binary sniffing and UTF-8 checks', () => {
  test('text with tabs, form feeds and ANSI colours is text', () => {
    expect(binaryReason(Buffer.from('\u001b[31mred\u001b[0m\tcol\fpage\r\n'))).toBeUndefined();
  });

  test('firstInvalidUtf8 finds overlongs, surrogates, out-of-range and cut-off sequences', () => {
    const at = (...bytes: number[]) => firstInvalidUtf8(Uint8Array.from(bytes));
    expect(at(0x61, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80)).toBe(-1);
    expect(at(0x61, 0xc0, 0x80)).toBe(1); // overlong NUL
    expect(at(0x61, 0x62, 0xe0, 0x80, 0x80)).toBe(2); // overlong 3-byte
    expect(at(0xed, 0xa0, 0x80)).toBe(0); // UTF-16 surrogate
    expect(at(0x61, 0xf4, 0x90, 0x80, 0x80)).toBe(1); // above U+10FFFF
    expect(at(0x61, 0x80)).toBe(1); // stray continuation byte
    expect(at(0x61, 0x62, 0xe2, 0x82)).toBe(2); // cut off at the end
    expect(at(0xc3, 0x28)).toBe(0); // bad continuation
  });
});
