import { describe, expect, test } from 'vitest';
import { type Chunk, chunkText } from '../../../src/corpus/chunk.ts';
import { normalizeText } from '../../../src/corpus/normalize.ts';
import { type Tokenizer, tokenizerFor } from '../../../src/corpus/tokenizer.ts';
import { UsageError } from '../../../src/errors.ts';
import { seeded } from './support.ts';

const word = tokenizerFor('word');
const cl100k = tokenizerFor('cl100k_base');

/** The invariants every chunking must keep, whatever the input. */
function checkChunks(text: string, chunks: Chunk[], opts: { tokens: number; overlap: number; tokenizer: Tokenizer }): void {
  chunks.forEach((c, k) => {
    expect(c.ordinal).toBe(k);
    expect(c.text.length).toBeGreaterThan(0);
    expect(text.slice(c.charStart, c.charEnd)).toBe(c.text);
    expect(c.text).toBe(c.text.trim());
    expect(c.tokens).toBe(opts.tokenizer.count(c.text));
    expect(c.tokens).toBeLessThanOrEqual(opts.tokens);
    if (k === 0) {
      expect(text.slice(0, c.charStart).trim()).toBe('');
      return;
    }
    const prev = chunks[k - 1]!;
    expect(c.charStart).toBeGreaterThan(prev.charStart);
    expect(c.charEnd).toBeGreaterThan(prev.charEnd);
    // Nothing is lost between two chunks: a gap holds whitespace only.
    if (c.charStart > prev.charEnd) expect(text.slice(prev.charEnd, c.charStart).trim()).toBe('');
    if (opts.overlap === 0) expect(c.charStart).toBeGreaterThanOrEqual(prev.charEnd);
  });
  if (chunks.length > 0) expect(text.slice(chunks.at(-1)!.charEnd).trim()).toBe('');
  else expect(text.trim()).toBe('');
}

const VOCAB = 'the of and a to in is you that it he was for on are as with his they at be this have from or one had by word but not what all were we when your can said there use an each which she do how their if will up other about out many then them these so some her would make like him into time has look two more write go see number no way could people'.split(' ');

function prose(rnd: () => number, sentences: number): string {
  const out: string[] = [];
  for (let s = 0; s < sentences; s++) {
    const n = 4 + Math.floor(rnd() * 16);
    const words: string[] = [];
    for (let i = 0; i < n; i++) words.push(VOCAB[Math.floor(rnd() * VOCAB.length)]!);
    out.push(`${words.join(' ')}.`, rnd() < 0.15 ? '\n\n' : ' ');
  }
  return out.join('').trim();
}

describe('chunkText', () => {
  test('empty and whitespace-only input give no chunks', () => {
    expect(chunkText('', { tokens: 16, overlap: 0, tokenizer: word })).toEqual([]);
    expect(chunkText(' \n\n\t ', { tokens: 16, overlap: 0, tokenizer: word })).toEqual([]);
  });

  test('a short text is one chunk, trimmed, with exact offsets', () => {
    const text = '\n  Hello there. How are you?  \n';
    const chunks = chunkText(text, { tokens: 64, overlap: 8, tokenizer: cl100k });
    expect(chunks).toEqual([{ ordinal: 0, text: 'Hello there. How are you?', charStart: 3, charEnd: 28, tokens: cl100k.count('Hello there. How are you?') }]);
  });

  test('validates the chunk size and the overlap', () => {
    expect(() => chunkText('a', { tokens: 3, overlap: 0, tokenizer: word })).toThrow(UsageError);
    expect(() => chunkText('a', { tokens: 100, overlap: 100, tokenizer: word })).toThrow('chunk overlap must be an integer from 0 to 99 (less than the chunk size of 100 tokens), got 100');
    expect(() => chunkText('a', { tokens: 100, overlap: -1, tokenizer: word })).toThrow(UsageError);
    expect(() => chunkText('a', { tokens: 10.5, overlap: 0, tokenizer: word })).toThrow(UsageError);
  });

  test('prefers a paragraph break over later sentence ends', () => {
    // 12 + 6 words, then a long paragraph: the cut comes at the blank line, not mid-paragraph.
    const text = 'one two three four five six. seven eight nine ten eleven twelve.\n\nalpha beta gamma delta epsilon zeta.\n\n' + 'Long words here. '.repeat(20).trim();
    const chunks = chunkText(text, { tokens: 40, overlap: 0, tokenizer: word });
    checkChunks(text, chunks, { tokens: 40, overlap: 0, tokenizer: word });
    expect(chunks[0]!.text.endsWith('zeta.')).toBe(true);
  });

  test('prefers sentence ends over spaces inside a paragraph', () => {
    const text = prose(seeded(3), 60).replace(/\n\n/g, ' ');
    const chunks = chunkText(text, { tokens: 50, overlap: 0, tokenizer: word });
    checkChunks(text, chunks, { tokens: 50, overlap: 0, tokenizer: word });
    for (const c of chunks) expect(c.text.endsWith('.')).toBe(true);
  });

  test('with markdown, prefers a heading over a later paragraph break; without, it is just a paragraph', () => {
    const a = 'Intro words go here and here and here and here and here and here and here.'; // 16 tokens
    const b1 = 'Section text runs on for a while here.'; // 9 tokens
    const text = `${a}\n\n## Section B\n\n${b1}\n\n${'More section text follows on. '.repeat(10).trim()}`;
    const md = chunkText(text, { tokens: 30, overlap: 0, tokenizer: word, markdown: true });
    checkChunks(text, md, { tokens: 30, overlap: 0, tokenizer: word });
    expect(md[0]!.text).toBe(a);
    expect(md[1]!.text.startsWith('## Section B')).toBe(true);
    const plain = chunkText(text, { tokens: 30, overlap: 0, tokenizer: word });
    expect(plain[0]!.text).toBe(`${a}\n\n## Section B\n\n${b1}`);
  });

  test('a # line inside a code fence is not a heading', () => {
    const a = 'Intro words go here and here and here and here and here and here and here.';
    const code = '```\n# just a comment\nx = 1\n```';
    const text = `${a}\n${code}\n${'Then prose continues here. '.repeat(8).trim()}`;
    const chunks = chunkText(text, { tokens: 30, overlap: 0, tokenizer: word, markdown: true });
    checkChunks(text, chunks, { tokens: 30, overlap: 0, tokenizer: word });
    expect(chunks.some((c) => c.text.startsWith('# just a comment'))).toBe(false);
  });

  test('overlap repeats the end of the previous chunk, within the overlap budget', () => {
    const text = prose(seeded(11), 80);
    const opts = { tokens: 60, overlap: 12, tokenizer: word };
    const chunks = chunkText(text, opts);
    checkChunks(text, chunks, opts);
    let overlapped = 0;
    for (let k = 1; k < chunks.length; k++) {
      const prev = chunks[k - 1]!;
      const c = chunks[k]!;
      if (c.charStart < prev.charEnd) {
        overlapped++;
        expect(word.count(text.slice(c.charStart, prev.charEnd))).toBeLessThanOrEqual(12);
      }
    }
    expect(overlapped).toBeGreaterThan(chunks.length / 2);
  });

  test('no overlap across a cut at a markdown heading', () => {
    const section = (n: number) => `## Part ${n}\n\n${'Words in this part. '.repeat(5).trim()}`;
    const text = [1, 2, 3, 4].map(section).join('\n\n');
    const chunks = chunkText(text, { tokens: 30, overlap: 10, tokenizer: word, markdown: true });
    checkChunks(text, chunks, { tokens: 30, overlap: 10, tokenizer: word });
    expect(chunks.map((c) => c.text.split('\n')[0])).toEqual(['## Part 1', '## Part 2', '## Part 3', '## Part 4']);
  });

  test('cuts a giant unbroken run at token boundaries', () => {
    const blob = 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo'.repeat(400);
    const text = `Before the blob.\n\n${blob}\n\nAfter the blob.`;
    for (const tokenizer of [word, cl100k]) {
      const opts = { tokens: 64, overlap: 8, tokenizer };
      const chunks = chunkText(text, opts);
      checkChunks(text, chunks, opts);
      expect(chunks.length).toBeGreaterThan(10);
    }
  });

  test('cuts a giant run with a tokenizer that has no offsets (truncate only)', () => {
    const plain: Tokenizer = { name: 'plain', count: (t) => word.count(t), truncate: (t, n) => word.truncate(t, n) };
    const text = `Intro.\n\n${'abcdefghij'.repeat(500)} tail words here.`;
    const opts = { tokens: 20, overlap: 5, tokenizer: plain };
    const chunks = chunkText(text, opts);
    checkChunks(text, chunks, opts);
    expect(chunks.length).toBeGreaterThan(10);
  });

  test('cuts a word that fits only with its leading space (BPE counts " word" and "word" differently)', () => {
    const w = 'pneumonoultramicroscopic';
    expect(cl100k.count(` ${w}`)).toBe(6);
    expect(cl100k.count(w)).toBe(8);
    const text = `Hello world. ${w}`;
    const opts = { tokens: 6, overlap: 2, tokenizer: cl100k };
    const chunks = chunkText(text, opts);
    checkChunks(text, chunks, opts);
    expect(chunks[0]!.text).toBe('Hello world.');
    expect(chunks.slice(1).map((c) => c.text).join('')).toBe(w);
  });

  test('splits CJK text without spaces at its sentence ends', () => {
    const text = '今日は良い天気です。公園で散歩しました。友達と話しました。'.repeat(10);
    const opts = { tokens: 20, overlap: 0, tokenizer: word };
    const chunks = chunkText(text, opts);
    checkChunks(text, chunks, opts);
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) expect(c.text.endsWith('。')).toBe(true);
  });

  test('keeps every invariant on random mixed text, both tokenizers, many sizes', () => {
    const parts = ['word', 'Word.', 'end!', ' ', ' ', '\n', '\n\n', '# Head', '```', 'naïve', '漢字。', '😀', 'x'.repeat(90), '“quote.”', '\t', '...', 'e.g.', '3.14'];
    const rnd = seeded(42);
    for (let n = 0; n < 60; n++) {
      let raw = '';
      const len = Math.floor(rnd() * 400);
      for (let i = 0; i < len; i++) raw += parts[Math.floor(rnd() * parts.length)];
      const text = normalizeText(raw);
      const tokenizer = n % 2 === 0 ? word : cl100k;
      const tokens = 4 + Math.floor(rnd() * 60);
      const overlap = Math.floor(rnd() * tokens);
      const opts = { tokens, overlap, tokenizer, markdown: n % 3 === 0 };
      checkChunks(text, chunkText(text, opts), opts);
    }
  });

  test('chunks 2 MB of prose correctly (a linear pass, no re-tokenizing growing chunks)', () => {
    const text = prose(seeded(5), 45_000);
    expect(text.length).toBeGreaterThan(2_000_000);
    const opts = { tokens: 512, overlap: 64, tokenizer: cl100k, markdown: true };
    const chunks = chunkText(text, opts);
    checkChunks(text, chunks, opts);
    const total = cl100k.count(text);
    // Overlap repeats at most 64 tokens per chunk, and chunks are at least half full where cut.
    expect(chunks.length).toBeGreaterThan(total / 512);
    expect(chunks.length).toBeLessThan(total / (256 - 64) + 2);
  });
});
