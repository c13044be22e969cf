import { createRequire } from 'node:module';
import { describe, expect, test } from 'vitest';
import { UsageError } from '../../../src/errors.ts';
import { TOKENIZER_NAMES, tokenizerFor } from '../../../src/corpus/tokenizer.ts';

const samples = ['tiktoken is great!', 'naïve café — “quoted” text', '漢字とかなの文章です。', 'emoji 😀👍🏽 and flags 🇫🇷', 'x'.repeat(300), '  spaced\n\nlines\t\tand tabs  ', 'a'];

describe('BPE tokenizers', () => {
  const cl100k = tokenizerFor('cl100k_base');
  const o200k = tokenizerFor('o200k_base');

  test('count known strings like tiktoken does', () => {
    expect(cl100k.name).toBe('cl100k_base');
    expect(cl100k.count('tiktoken is great!')).toBe(6);
    expect(cl100k.count('hello world')).toBe(2);
    expect(cl100k.count('')).toBe(0);
    expect(cl100k.count('Привет мир')).toBe(5);
    expect(o200k.count('Привет мир')).toBe(3);
  });

  test('treat special-token text in a document as plain text instead of throwing', () => {
    expect(cl100k.count('<|endoftext|>')).toBe(7);
    expect(cl100k.truncate('before <|endoftext|> after', 100)).toBe('before <|endoftext|> after');
  });

  for (const tok of [cl100k, o200k]) {
    test(`${tok.name}: offsets mark every token end, ending at the text length`, () => {
      for (const s of samples) {
        const ends = tok.offsets!(s);
        expect(ends.length).toBe(tok.count(s));
        expect(ends.at(-1)).toBe(s.length);
        for (let k = 1; k < ends.length; k++) expect(ends[k]!).toBeGreaterThanOrEqual(ends[k - 1]!);
        // No offset splits a surrogate pair.
        for (const e of ends) expect(s.charCodeAt(e - 1) >= 0xd800 && s.charCodeAt(e - 1) <= 0xdbff).toBe(false);
      }
    });

    test(`${tok.name}: truncate returns the longest prefix within the limit`, () => {
      for (const s of samples) {
        const n = tok.count(s);
        expect(tok.truncate(s, n)).toBe(s);
        expect(tok.truncate(s, 0)).toBe('');
        for (const max of [1, 2, 3, 4, 5, Math.floor(n / 2)]) {
          if (max >= n || max < 1) continue;
          const head = tok.truncate(s, max);
          expect(s.startsWith(head)).toBe(true);
          expect(tok.count(head)).toBeLessThanOrEqual(max);
          // One character is at most 4 byte-level tokens, so 4 always fit one.
          if (max >= 4) expect(head.length).toBeGreaterThan(0);
        }
      }
    });
  }

  test('offsets survive a decode elsewhere that left gpt-tokenizer\'s shared decoder mid-character', () => {
    const enc = createRequire(import.meta.url)('gpt-tokenizer/encoding/cl100k_base') as { encode(s: string): number[]; decode(t: number[]): string };
    const emoji = enc.encode('😀');
    expect(emoji.length).toBeGreaterThan(1);
    enc.decode(emoji.slice(0, 1)); // leaves a partial UTF-8 sequence in the shared decoder
    const s = 'emoji 😀👍🏽 and flags';
    const ends = cl100k.offsets!(s);
    expect(ends.at(-1)).toBe(s.length);
    enc.decode(emoji.slice(0, 1));
    expect(cl100k.truncate(s, 4)).toBe(s.slice(0, ends[3]));
  });

  test('truncate of a huge input only reads what it keeps (stops encoding early)', () => {
    const huge = 'word '.repeat(2_000_000);
    const head = cl100k.truncate(huge, 10);
    expect(head).toBe('word '.repeat(10).trimEnd());
  });
});

describe('word tokenizer', () => {
  const word = tokenizerFor('word');

  test('counts words and punctuation runs', () => {
    expect(word.count('Hello, world!! It is 42.')).toBe(8);
    expect(word.count('snake_case and naïve')).toBe(3);
    expect(word.count('   ')).toBe(0);
  });

  test('counts each Han or kana character, and caps a run at 16 characters', () => {
    expect(word.count('漢字です')).toBe(4);
    expect(word.count('a'.repeat(16))).toBe(1);
    expect(word.count('a'.repeat(17))).toBe(2);
    expect(word.count('='.repeat(40))).toBe(3);
  });

  test('offsets and truncate agree with count', () => {
    const s = 'One, two; three... four 漢字 five';
    const ends = word.offsets!(s);
    expect(ends.length).toBe(word.count(s));
    expect(ends.at(-1)).toBe(s.length);
    expect(word.truncate(s, 3)).toBe('One, two');
    expect(word.truncate(s, 100)).toBe(s);
  });

  test('two tokenizers do not share regex state', () => {
    const a = tokenizerFor('word');
    const b = tokenizerFor('word');
    expect(a.count('one two three')).toBe(3);
    expect(b.count('four five')).toBe(2);
    expect(a.count('one two three')).toBe(3);
  });
});

test('an unknown tokenizer name is a usage error that lists the known ones', () => {
  expect(() => tokenizerFor('p50k_base')).toThrow(UsageError);
  expect(() => tokenizerFor('p50k_base')).toThrow(`unknown tokenizer "p50k_base": expected one of ${TOKENIZER_NAMES.join(', ')}`);
});
