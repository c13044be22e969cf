/**
 * Token-aware chunking of one normalized document. Pieces ({@link splitPieces}) are counted once
 * and packed greedily; when a chunk is full it is cut at the strongest boundary in its second
 * half, and only the finished chunk is counted again (exactly, for `tokens` and the size check).
 * The whole pass is linear in the text: no piece is re-tokenized as a chunk grows.
 */
import { UsageError } from '../errors.ts';
import { isSpace } from './chars.ts';
import { BREAK, splitPieces, type Pieces } from './chunk-pieces.ts';
import type { Tokenizer } from './tokenizer.ts';

export type Chunk = {
  /** 0-based position of the chunk in its document. */
  ordinal: number;
  /** The chunk text: `input.slice(charStart, charEnd)`, never starting or ending with whitespace. */
  text: string;
  charStart: number;
  charEnd: number;
  /** Exact token count of `text` with the chunking tokenizer. */
  tokens: number;
};

export interface ChunkOptions {
  /** Largest chunk, in tokens of `tokenizer`; at least 4 (one character can take 4 byte-level tokens). */
  tokens: number;
  /**
   * Tokens from the end of one chunk that start the next, taken at word boundaries (so it may be
   * a little less). None after a cut at a Markdown heading, where a new topic starts.
   * Must be less than `tokens`.
   */
  overlap: number;
  tokenizer: Tokenizer;
  /** Treat lines starting with `#` (outside code fences) as the strongest boundaries. @default false */
  markdown?: boolean;
}

/**
 * Splits normalized text into chunks of at most `opts.tokens` tokens, preferring boundaries in
 * this order: Markdown headings (with `markdown`), blank-line paragraphs, sentence ends, line
 * breaks, whitespace, and finally a hard cut at a token boundary inside a giant unbroken run.
 *
 * Whitespace-only input gives `[]`.
 *
 * @throws UsageError when `tokens` or `overlap` is out of range
 * @example chunkText(normalizeText(doc), { tokens: 512, overlap: 64, tokenizer: tokenizerFor('cl100k_base'), markdown: true })
 */
export function chunkText(text: string, opts: ChunkOptions): Chunk[] {
  const limit = opts.tokens;
  const overlap = opts.overlap;
  if (!Number.isInteger(limit) || limit < 4) throw new UsageError(`chunk size must be an integer of at least 4 tokens, got ${String(limit)}`);
  if (!Number.isInteger(overlap) || overlap < 0 || overlap >= limit) {
    throw new UsageError(`chunk overlap must be an integer from 0 to ${limit - 1} (less than the chunk size of ${limit} tokens), got ${String(overlap)}`);
  }
  const tokenizer = opts.tokenizer;
  // Most records and short documents are one chunk: a single count of the whole text decides it,
  // instead of counting every piece and then the chunk again. (A token is rarely under 1.5
  // characters, so longer texts go straight to splitting.)
  if (text.length <= limit * 6) {
    const [cs, ce] = trimRange(text, 0, text.length);
    if (cs === ce) return [];
    const whole = cs === 0 && ce === text.length ? text : text.slice(cs, ce);
    const n = tokenizer.count(whole);
    if (n <= limit) return [{ ordinal: 0, text: whole, charStart: cs, charEnd: ce, tokens: n }];
  }
  const p = splitPieces(text, limit, tokenizer, opts.markdown ?? false);
  const n = p.start.length;
  const endOf = (k: number): number => (k + 1 < n ? p.start[k + 1]! : p.end);
  const chunks: Chunk[] = [];
  let i = 0;
  // Start of the previous chunk, or -1 when the next chunk takes no overlap.
  let prevStart = -1;

  while (i < n) {
    let ov = { start: p.start[i]!, tokens: 0 };
    if (prevStart >= 0 && overlap > 0 && p.strength[i] !== BREAK.heading) {
      ov = overlapTail(text, p, tokenizer, prevStart, i, Math.min(overlap, limit - p.tokens[i]!));
    }
    let sum = ov.tokens;
    let j = i;
    while (j < n && sum + p.tokens[j]! <= limit) sum += p.tokens[j++]!;
    // Only after a hard cut can a piece's remainder exceed the limit; the check below cuts it.
    if (j === i) j = i + 1;
    let cut = j < n ? bestCut(p, i, j, sum, limit) : n;

    for (;;) {
      const [cs, ce] = trimRange(text, ov.start, endOf(cut - 1));
      const body = text.slice(cs, ce);
      const actual = tokenizer.count(body);
      if (actual <= limit) {
        chunks.push({ ordinal: chunks.length, text: body, charStart: cs, charEnd: ce, tokens: actual });
        prevStart = cs;
        i = cut;
        break;
      }
      // The pieces' sum was an estimate: give up overlap first (it keeps the chosen boundary),
      // then whole pieces from the end.
      if (ov.tokens > 0) {
        const budget = ov.tokens - (actual - limit);
        ov = budget > 0 ? overlapTail(text, p, tokenizer, prevStart, i, budget) : { start: p.start[i]!, tokens: 0 };
        continue;
      }
      if (cut > i + 1) {
        cut--;
        continue;
      }
      // One piece that only exceeds the limit once trimmed (" word" can be fewer tokens than
      // "word"): emit its head and leave the rest of the piece in place for the next chunk.
      let head = tokenizer.truncate(body, limit);
      if (head.length === 0) head = String.fromCodePoint(body.codePointAt(0)!);
      const [hs, he] = trimRange(text, cs, cs + head.length);
      chunks.push({ ordinal: chunks.length, text: text.slice(hs, he), charStart: hs, charEnd: he, tokens: tokenizer.count(text.slice(hs, he)) });
      p.start[i] = cs + head.length;
      p.tokens[i] = tokenizer.count(text.slice(p.start[i], endOf(i)));
      p.strength[i] = BREAK.hard;
      prevStart = -1;
      break;
    }
  }
  return chunks;
}

/**
 * Where to end a full chunk: before piece `k` in `(i, j]` with the strongest boundary, among cuts
 * that keep the chunk at least half full (ties go to the later cut). `j` is the first piece that
 * did not fit and `sum` the tokens before it.
 */
function bestCut(p: Pieces, i: number, j: number, sum: number, limit: number): number {
  const minFill = limit / 2;
  let best = j;
  let bestStrength = p.strength[j]!;
  let filled = sum;
  for (let k = j - 1; k > i; k--) {
    filled -= p.tokens[k]!;
    if (filled < minFill) break;
    if (p.strength[k]! > bestStrength) {
      best = k;
      bestStrength = p.strength[k]!;
    }
  }
  return best;
}

/**
 * The overlap for the chunk starting at piece `i`: whole pieces from the end of the previous
 * chunk (which began at char `prevStart`), then words of the piece before them, within `budget`
 * tokens. Returns where the overlap starts and its estimated tokens.
 */
function overlapTail(text: string, p: Pieces, tokenizer: Tokenizer, prevStart: number, i: number, budget: number): { start: number; tokens: number } {
  let start = p.start[i]!;
  let tokens = 0;
  for (let k = i - 1; k >= 0 && budget > 0; k--) {
    // Never back to where the previous chunk starts: the next chunk would then contain it whole.
    if (p.start[k]! > prevStart && tokens + p.tokens[k]! <= budget) {
      tokens += p.tokens[k]!;
      start = p.start[k]!;
      continue;
    }
    // Part of this piece, word by word from its end (a word keeps its leading whitespace).
    const lo = Math.max(p.start[k]!, prevStart);
    let q = start;
    while (q > lo) {
      let w = q;
      while (w > lo && !isSpace(text.charCodeAt(w - 1))) w--;
      while (w > lo && isSpace(text.charCodeAt(w - 1))) w--;
      if (w <= prevStart) break;
      const n = tokenizer.count(text.slice(w, q));
      if (tokens + n > budget) break;
      tokens += n;
      q = w;
    }
    start = q;
    break;
  }
  return { start, tokens };
}

/** `[from, to)` without leading and trailing whitespace. */
function trimRange(text: string, from: number, to: number): [number, number] {
  let s = from;
  let e = to;
  while (s < e && isSpace(text.charCodeAt(s))) s++;
  while (e > s && isSpace(text.charCodeAt(e - 1))) e--;
  return [s, e];
}
