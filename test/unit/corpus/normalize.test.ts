import { describe, expect, test } from 'vitest';
import { normalizeText } from '../../../src/corpus/normalize.ts';
import { seeded } from './support.ts';

/** The definition, written the slow obvious way. */
function reference(s: string): string {
  return s
    .normalize('NFC')
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .trim();
}

describe('normalizeText', () => {
  test('composes to NFC', () => {
    expect(normalizeText('Cafe\u0301')).toBe('Caf\u00e9');
    expect(normalizeText('\u212b')).toBe('\u00c5'); // Angstrom sign → Å
  });

  test('turns CRLF and lone CR into LF', () => {
    expect(normalizeText('a\r\nb\rc\n\rd')).toBe('a\nb\nc\n\nd');
  });

  test('trims whitespace at the end of every line but keeps indentation', () => {
    expect(normalizeText('  a \t\n    b\u00a0\u3000\n\t c  ')).toBe('a\n    b\n\t c');
  });

  test('trims the whole text and keeps inner blank lines', () => {
    expect(normalizeText('\n\n  \n  hello\n\n\nworld \n \n')).toBe('hello\n\n\nworld');
    expect(normalizeText(' \r\n\t\u00a0 ')).toBe('');
  });

  test('handles a line holding 200k spaces (no quadratic backtracking)', () => {
    const s = `a${' '.repeat(200_000)}b${' '.repeat(200_000)}\nc`;
    expect(normalizeText(s)).toBe(`a${' '.repeat(200_000)}b\nc`);
  });

  test('agrees with the reference definition and is idempotent on random text', () => {
    const alphabet = ['a', 'b', ' ', ' ', '\t', '\n', '\n', '\r', '\r\n', 'e\u0301', '\u00e9', '\u0301', '\u00a0', '\u2028', '\u3000', '漢', '😀', '.', '\u212b'];
    const rnd = seeded(7);
    for (let n = 0; n < 2000; n++) {
      let s = '';
      const len = Math.floor(rnd() * 40);
      for (let i = 0; i < len; i++) s += alphabet[Math.floor(rnd() * alphabet.length)];
      const once = normalizeText(s);
      expect(once).toBe(reference(s));
      expect(normalizeText(once)).toBe(once);
    }
  });

  test('every code point below U+0300 is already NFC (the fast path relies on it)', () => {
    for (let c = 0; c < 0x300; c++) {
      const s = `${String.fromCharCode(c)}a${String.fromCharCode(c)}`;
      expect(s.normalize('NFC')).toBe(s);
    }
  });
});
