/**
 * Token counting for chunking, request packing and cost estimates. BPE encodings come from
 * `gpt-tokenizer` (pure JS, exact for OpenAI models) and are loaded on first use: cl100k alone is
 * ~120 ms and several MB, which a `local`-model run never needs.
 */
import { createRequire } from 'node:module';
import type { GptEncoding } from 'gpt-tokenizer/GptEncoding';
import { UsageError } from '../errors.ts';

export interface Tokenizer {
  /** The encoding name, e.g. `cl100k_base`. */
  readonly name: string;
  /** Number of tokens in `text`. */
  count(text: string): number;
  /**
   * Token boundaries as char offsets: returns the char offset after each token (one entry per
   * token, non-decreasing, the last equal to `text.length`). A token that ends inside a
   * character (byte-level BPE can split one) gets the offset of that character's start.
   */
  offsets?(text: string): number[];
  /** The longest prefix of `text`, cut at a token boundary, that has at most `maxTokens` tokens. */
  truncate(text: string, maxTokens: number): string;
  /**
   * The text whose encoding `tokens` is (BPE encodings only), or undefined when they are not
   * one: an id outside the vocabulary, or ids that are not what encoding their text gives (a cut
   * inside a character, a non-canonical split).
   */
  decode?(tokens: readonly number[]): string | undefined;
  /** The token ids of `text` (BPE encodings only). */
  encode?(text: string): number[];
}

/** The tokenizer names {@link tokenizerFor} accepts. */
export const TOKENIZER_NAMES = ['cl100k_base', 'o200k_base', 'word'] as const;
export type TokenizerName = (typeof TOKENIZER_NAMES)[number];

type Encoding = Pick<GptEncoding, 'countTokens' | 'encodeGenerator' | 'decodeGenerator' | 'setMergeCacheSize'>;

// gpt-tokenizer caches BPE merges in a Map of 100,000 entries by default and evicts with
// `keys().next()`, which walks the holes left by earlier deletes: once a corpus has more distinct
// words than that (identifiers, hashes, base64), each eviction scans ~100k holes. Measured with
// cl100k: 2 MB of base64 counted in 24 s at the default and 5 s at 5,000 entries, while 10 MB of
// Zipf-distributed words ran as fast (0.9 s vs 1.1 s). The setting is the encoding module's, so
// it applies to every user of gpt-tokenizer's CJS build in the process.
const MERGE_CACHE_ENTRIES = 5000;

/**
 * The tokenizer for an encoding name: `cl100k_base` (OpenAI text-embedding-3-*, ada-002),
 * `o200k_base`, or `word` (words and punctuation runs, for the offline `local` model).
 *
 * @throws UsageError for an unknown name, listing the known ones
 */
export function tokenizerFor(name: string): Tokenizer {
  switch (name) {
    case 'cl100k_base':
    case 'o200k_base':
      return bpeTokenizer(name);
    case 'word':
      return wordTokenizer();
    default:
      throw new UsageError(`unknown tokenizer ${JSON.stringify(name)}: expected one of ${TOKENIZER_NAMES.join(', ')}`);
  }
}

function bpeTokenizer(name: 'cl100k_base' | 'o200k_base'): Tokenizer {
  let encoding: Encoding | undefined;
  // Synchronous lazy load (the CJS build), so that tokenizerFor() stays synchronous.
  const load = (): Encoding => {
    if (encoding === undefined) {
      encoding = createRequire(import.meta.url)(`gpt-tokenizer/encoding/${name}`) as Encoding;
      encoding.setMergeCacheSize(MERGE_CACHE_ENTRIES);
    }
    return encoding;
  };
  // Special-token strings such as "<|endoftext|>" in a document are plain text to an embedding
  // endpoint; by default gpt-tokenizer would throw on them.
  const asText = { disallowedSpecial: new Set<string>() };

  /** Char offset after each token of `tokens`, which must encode a prefix of `text` ending on a character boundary. */
  const offsetsOf = (text: string, tokens: number[]): number[] => {
    // gpt-tokenizer decodes through one module-wide streaming TextDecoder, so a decode that ends
    // inside a character leaves bytes behind that garble the next decode anywhere in the process.
    // Callers here only pass whole pre-token groups (which end on character boundaries), and a
    // result that does not match the text (left-overs from someone else) is decoded once more.
    for (let attempt = 0; attempt < 2; attempt++) {
      const { ends, decoded } = decodeOffsets(tokens);
      if (text.startsWith(decoded)) return ends;
    }
    throw new Error(`${name}: token offsets do not match the text (gpt-tokenizer decoder state)`);
  };

  const decodeOffsets = (tokens: number[]): { ends: number[]; decoded: string } => {
    const ends = new Array<number>(tokens.length);
    const pieces: string[] = [];
    // decodeGenerator pulls tokens lazily and yields only whole characters, so after each yield
    // the last token pulled ends where the decoded text ends; earlier tokens of the same yield
    // ended inside a character and get the offset of its start.
    let pulled = -1;
    function* feed(): Generator<number> {
      for (let k = 0; k < tokens.length; k++) {
        pulled = k;
        yield tokens[k]!;
      }
    }
    let pos = 0;
    let filled = 0;
    for (const piece of load().decodeGenerator(feed())) {
      for (; filled < pulled; filled++) ends[filled] = pos;
      pieces.push(piece);
      pos += piece.length;
      ends[pulled] = pos;
      filled = pulled + 1;
    }
    for (; filled < tokens.length; filled++) ends[filled] = pos;
    return { ends, decoded: pieces.join('') };
  };

  /**
   * The tokens of `text` up to the first whole pre-token group that goes past `limit` (encoding
   * stops early: truncate runs on huge inputs). Whole groups end on character boundaries.
   */
  const headTokens = (text: string, limit: number): number[] => {
    const tokens: number[] = [];
    for (const group of load().encodeGenerator(text, asText)) {
      for (const t of group) tokens.push(t);
      if (tokens.length > limit) break;
    }
    return tokens;
  };

  return {
    name,
    count: (text) => (text.length === 0 ? 0 : load().countTokens(text, asText)),
    decode(tokens) {
      let text: string;
      try {
        text = decodeOffsets([...tokens]).decoded;
      } catch {
        return undefined; // an id outside the vocabulary
      }
      const again = headTokens(text, Infinity);
      return again.length === tokens.length && again.every((t, i) => t === tokens[i]) ? text : undefined;
    },
    encode: (text) => headTokens(text, Infinity),
    offsets: (text) => offsetsOf(text, headTokens(text, Infinity)),
    truncate(text, maxTokens) {
      if (maxTokens <= 0) return '';
      const tokens = headTokens(text, maxTokens);
      if (tokens.length <= maxTokens) return text;
      const ends = offsetsOf(text, tokens);
      // Re-encoding a prefix can merge differently at the cut; step back until it fits.
      for (let k = maxTokens - 1; k >= 0; k--) {
        const head = text.slice(0, ends[k]);
        if (load().countTokens(head, asText) <= maxTokens) return head;
      }
      return '';
    },
  };
}

// Words (letters, digits, marks, underscore) and runs of other non-space characters, each capped
// at 16 characters so that a giant unbroken run (base64, a minified line) cannot hide in one
// token; Han and kana characters count one each, since those scripts do not separate words.
const CJK = String.raw`\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}`;
const WORD_TOKEN = new RegExp(String.raw`[[\p{L}\p{N}\p{M}_]--[${CJK}]]{1,16}|[${CJK}]|[^\s\p{L}\p{N}\p{M}_]{1,16}`, 'gv');

function wordTokenizer(): Tokenizer {
  // A fresh regex per tokenizer: a shared global regex carries lastIndex between callers.
  const re = new RegExp(WORD_TOKEN);
  const offsets = (text: string, limit = Infinity): number[] => {
    const out: number[] = [];
    re.lastIndex = 0;
    while (out.length < limit) {
      const m = re.exec(text);
      if (m === null) break;
      out.push(m.index + m[0].length);
    }
    return out;
  };
  return {
    name: 'word',
    count(text) {
      let n = 0;
      re.lastIndex = 0;
      while (re.exec(text) !== null) n++;
      return n;
    },
    offsets: (text) => offsets(text),
    truncate(text, maxTokens) {
      if (maxTokens <= 0) return '';
      const ends = offsets(text, maxTokens + 1);
      return ends.length <= maxTokens ? text : text.slice(0, ends[maxTokens - 1]);
    },
  };
}
