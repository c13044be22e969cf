/**
 * Text normalization: the one definition of "the same text" for hashing and for what is sent to
 * a provider. Changing it changes every input hash, so it is part of the cache contract.
 */
import { isSpace } from './chars.ts';

// Text made only of code points below U+0300 is already NFC: composition needs a combining mark
// (U+0300 and up) and no character below U+0300 decomposes. One scan, usually stopping early at
// the first accent, is cheaper than ICU on long ASCII text.
const MAYBE_NOT_NFC = /[^\u0000-\u02ff]/;
const CARRIAGE_RETURN = /\r\n?/g;
// The last whitespace character of a line. Matching whole runs (`[ \t]+\n`) instead backtracks
// over every long run of spaces, O(run²): 200k spaces in one line took two minutes.
const SPACE_BEFORE_NEWLINE = /[^\S\n]\n/g;

/**
 * The name of {@link normalizeText} as recorded on every model version: a vector's input hash
 * depends on it. Rename it whenever the normalization changes.
 */
export const NORMALIZATION = 'nfc-lf-trim-v1';

/**
 * Normalizes text before it is chunked, hashed and embedded: Unicode NFC, CRLF and lone CR
 * become LF, whitespace at the end of every line is removed, and the whole text is trimmed.
 * Idempotent: `normalizeText(normalizeText(s)) === normalizeText(s)`.
 *
 * @example normalizeText('Cafe\u0301  \r\nbar\r') // 'Café\nbar'
 */
export function normalizeText(s: string): string {
  let t = MAYBE_NOT_NFC.test(s) ? s.normalize('NFC') : s;
  if (t.includes('\r')) t = t.replace(CARRIAGE_RETURN, '\n');
  return stripLineEnds(t).trim();
}

/** Removes whitespace before each `\n` (the end of the text is left to `trim`). */
function stripLineEnds(t: string): string {
  // One-line texts (most JSONL records) skip the regex: its scan for a whitespace class costs more than a memchr for \n.
  if (!t.includes('\n')) return t;
  let parts: string[] | undefined;
  let last = 0;
  for (const m of t.matchAll(SPACE_BEFORE_NEWLINE)) {
    let s = m.index;
    while (s > last && t.charCodeAt(s - 1) !== 10 && isSpace(t.charCodeAt(s - 1))) s--;
    (parts ??= []).push(t.slice(last, s));
    last = m.index + 1;
  }
  if (parts === undefined) return t;
  parts.push(t.slice(last));
  return parts.join('');
}
