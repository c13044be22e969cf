/**
 * Cuts a normalized text into counted pieces for the chunker: the smallest units a chunk boundary
 * may fall between, each no larger than the chunk size. Each piece carries the strength of the
 * boundary before it, so the packer can prefer cutting at a heading over a paragraph, a paragraph
 * over a sentence, and so on.
 *
 * Pieces tile the text with no gaps: piece k spans `[start[k], start[k+1])` (the last one ends at
 * `end`), and the whitespace between two units belongs to the later one. Counting a piece with
 * its leading whitespace keeps the sum of piece counts close to the count of the joined text,
 * since BPE pre-tokenizers attach a space to the word after it.
 */
import { isSpace } from './chars.ts';
import type { Tokenizer } from './tokenizer.ts';

/** Boundary strengths, weakest first. A single line break ranks between a space and a sentence end. */
export const BREAK = { hard: 0, space: 1, line: 2, sentence: 3, paragraph: 4, heading: 5 } as const;

export interface Pieces {
  /** Char offset where each piece starts (its leading whitespace included). */
  start: number[];
  /** Tokens of each piece, counted on its own. */
  tokens: number[];
  /** Strength of the boundary before each piece ({@link BREAK}). */
  strength: number[];
  /** Char offset where the last piece (the text's last non-space character) ends. */
  end: number;
}

// Closing quotes and brackets that may follow a sentence end: `He said "no." Then…`
const CLOSERS = new Set([...'"\')]}\u201d\u2019\u00bb\u300d\u300f\uff09'].map((ch) => ch.charCodeAt(0)));
const TERMINATORS = new Set([...'.!?\u2026'].map((ch) => ch.charCodeAt(0)));
// Full-width sentence ends: CJK text puts no space after them.
const CJK_TERMINATORS = new Set([...'\u3002\uff01\uff1f'].map((ch) => ch.charCodeAt(0)));

/**
 * Splits `text` into pieces of at most `limit` tokens: first at sentence ends, line breaks,
 * paragraphs and (with `markdown`) headings; a unit still over the limit at whitespace; a word
 * still over it at token boundaries. Only oversized units are counted twice, so the cost stays
 * close to one tokenizer pass over the text.
 */
export function splitPieces(text: string, limit: number, tokenizer: Tokenizer, markdown: boolean): Pieces {
  const out: Pieces = { start: [], tokens: [], strength: [], end: 0 };
  let from = 0;
  while (from < text.length && isSpace(text.charCodeAt(from))) from++;
  let to = text.length;
  while (to > from && isSpace(text.charCodeAt(to - 1))) to--;
  out.end = to;
  if (from === to) return out;

  const units = unitBoundaries(text, from, to, markdown);
  for (let u = 0; u < units.start.length; u++) {
    const s = units.start[u]!;
    const e = u + 1 < units.start.length ? units.start[u + 1]! : to;
    const n = countUnlessHuge(text, s, e, limit, tokenizer);
    if (n <= limit) push(out, s, n, units.strength[u]!);
    else splitWords(out, text, s, e, units.strength[u]!, limit, tokenizer);
  }
  return out;
}

// Tokens average 3-5 characters; a span this many times the limit is split without counting it
// first (counting a 2 MB base64 run with cl100k alone takes seconds). Only a speed-up: splitting
// a span that would have fitted is harmless, its pieces are packed back together.
const HUGE_CHARS_PER_TOKEN = 64;

function countUnlessHuge(text: string, s: number, e: number, limit: number, tokenizer: Tokenizer): number {
  return e - s > limit * HUGE_CHARS_PER_TOKEN ? Number.POSITIVE_INFINITY : tokenizer.count(text.slice(s, e));
}

function push(p: Pieces, start: number, tokens: number, strength: number): void {
  p.start.push(start);
  p.tokens.push(tokens);
  p.strength.push(strength);
}

// Where a unit boundary can be: a line break or a sentence-ending character. A native regex scan
// for these is ~20x faster than visiting every character in JS.
const CANDIDATE = /[\n.!?\u2026\u3002\uff01\uff1f]/g;

/** Sentence, line, paragraph and heading boundaries in `[from, to)`, which has no outer whitespace. */
function unitBoundaries(text: string, from: number, to: number, markdown: boolean): { start: number[]; strength: number[] } {
  const start = [from];
  const strength: number[] = [BREAK.heading];
  let inFence = markdown && isFence(text, from, to);
  const candidate = new RegExp(CANDIDATE);
  candidate.lastIndex = from;
  for (let m = candidate.exec(text); m !== null && m.index < to; m = candidate.exec(text)) {
    const at = m.index;
    const c = text.charCodeAt(at);
    let runStart: number;
    if (c === 10) {
      runStart = at;
      while (runStart > from && isSpace(text.charCodeAt(runStart - 1))) runStart--;
    } else {
      runStart = at + 1;
      while (runStart < to && CLOSERS.has(text.charCodeAt(runStart))) runStart++;
      if (runStart >= to) break;
      const d = text.charCodeAt(runStart);
      if (!isSpace(d)) {
        // CJK text puts no space after a sentence end; "3.14", "e.g.x" and "?!" are not ends.
        if (CJK_TERMINATORS.has(c) && !TERMINATORS.has(d) && !CJK_TERMINATORS.has(d)) {
          start.push(runStart);
          strength.push(BREAK.sentence);
        }
        candidate.lastIndex = runStart;
        continue;
      }
    }
    // A whitespace run [runStart, runEnd): a line break, a paragraph, a heading, or a sentence end.
    let runEnd = runStart;
    let newlines = 0;
    let lastNewline = -1;
    for (; runEnd < to; runEnd++) {
      const d = text.charCodeAt(runEnd);
      if (!isSpace(d)) break;
      if (d === 10) {
        newlines++;
        lastNewline = runEnd;
      }
    }
    let s: number = BREAK.sentence;
    if (newlines > 0) {
      s = newlines >= 2 ? BREAK.paragraph : BREAK.line;
      // The run ends where the next line's content begins; indentation past 3 is a code block.
      if (markdown && runEnd - lastNewline - 1 <= 3) {
        if (isFence(text, runEnd, to)) inFence = !inFence;
        else if (!inFence && isHeading(text, runEnd, to)) s = BREAK.heading;
      }
    }
    start.push(runStart);
    strength.push(s);
    candidate.lastIndex = runEnd;
  }
  return { start, strength };
}

/** ATX heading: 1–6 `#` then a space, a tab or the end of the line. */
function isHeading(text: string, at: number, to: number): boolean {
  let k = at;
  while (k < to && k - at < 7 && text.charCodeAt(k) === 35) k++;
  const hashes = k - at;
  if (hashes === 0 || hashes > 6) return false;
  if (k === to) return true;
  const d = text.charCodeAt(k);
  return d === 32 || d === 9 || d === 10;
}

/** A code fence line: three backticks or tildes. */
function isFence(text: string, at: number, to: number): boolean {
  return at + 3 <= to && (text.startsWith('```', at) || text.startsWith('~~~', at));
}

/** Splits an oversized unit at whitespace; words still over the limit are cut at token boundaries. */
function splitWords(out: Pieces, text: string, s: number, e: number, strength: number, limit: number, tokenizer: Tokenizer): void {
  let wordStart = s;
  let wordStrength = strength;
  let i = s;
  // Skip the unit's leading whitespace: it belongs to the first word.
  while (i < e && isSpace(text.charCodeAt(i))) i++;
  while (i <= e) {
    // Advance over the word, then find the next whitespace run (the next word starts there).
    while (i < e && !isSpace(text.charCodeAt(i))) i++;
    const n = countUnlessHuge(text, wordStart, i, limit, tokenizer);
    if (n <= limit) push(out, wordStart, n, wordStrength);
    else hardSplit(out, text, wordStart, i, wordStrength, limit, tokenizer);
    if (i >= e) break;
    wordStart = i;
    wordStrength = BREAK.space;
    while (i < e && isSpace(text.charCodeAt(i))) i++;
  }
}

/**
 * Cuts `[s, e)` (one whitespace-free run, maybe after some whitespace) every `limit` tokens.
 * Windows of the run are tokenized once each, never the rest of the run, so a 50 MB base64 blob
 * stays linear. A piece's count is its tokens in the run, which can differ by a token from the
 * piece alone; the packer counts every chunk exactly and fixes that. No piece is whitespace only:
 * the first one keeps the leading whitespace.
 */
function hardSplit(out: Pieces, text: string, s: number, e: number, strength: number, limit: number, tokenizer: Tokenizer): void {
  let pos = s;
  while (pos < e && isSpace(text.charCodeAt(pos))) pos++;
  let pieceStart = s;
  let pieceStrength = strength;
  const cut = (at: number, tokens: number): void => {
    push(out, pieceStart, tokens, pieceStrength);
    pieceStart = at;
    pieceStrength = BREAK.hard;
  };
  while (pos < e) {
    let wEnd = Math.min(e, pos + limit * 32);
    if (wEnd < e && isHighSurrogate(text.charCodeAt(wEnd - 1))) wEnd--;
    const window = text.slice(pos, wEnd);
    if (tokenizer.offsets === undefined) {
      let head = tokenizer.truncate(window, limit);
      if (head.length === 0) head = String.fromCodePoint(window.codePointAt(0)!);
      pos += head.length;
      cut(pos, tokenizer.count(head));
      continue;
    }
    const ends = tokenizer.offsets(window);
    // The window's last token may go on past its end: only cut there at the end of the run.
    const trusted = wEnd === e ? ends.length : Math.max(1, ends.length - 1);
    let taken = 0;
    let at = pos;
    while (taken < trusted) {
      const next = Math.min(taken + limit, trusted);
      if (next - taken < limit && wEnd < e && taken > 0) break;
      const end = pos + ends[next - 1]!;
      // Tokens ending inside a character share its start offset: join them to the next piece.
      if (end > at) {
        cut(end, next - taken);
        at = end;
      }
      taken = next;
    }
    // Not even one whole character in the window's trusted tokens: take one code point.
    if (at === pos) {
      at = pos + String.fromCodePoint(text.codePointAt(pos)!).length;
      cut(at, tokenizer.count(text.slice(pos, at)));
    }
    pos = at;
  }
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
