/**
 * `local/hash-v1`: the offline default embedder. No network, no weights, deterministic, and
 * lexically meaningful: texts that share words (or word pieces) land close together.
 *
 * Features, all hashed into `dims` buckets with a signed hash (FNV-1a, finished with murmur3's
 * fmix32), so collisions cancel on average instead of piling up:
 * - lower-cased word unigrams and word bigrams;
 * - character 3- and 4-grams inside each word, with begin/end markers (so "index" and
 *   "indexing" share `<in`, `ind`, `nde`, …).
 * Each feature is weighted by 1 + ln(tf) (sublinear, so a repeated word does not swamp the
 * rest), and the vector is L2-normalized.
 *
 * It embeds ~100k chunks of ~800 characters in benchmarks, so the hot loop hashes char codes
 * incrementally and counts features in a reusable open-addressing table: no string is allocated
 * per n-gram.
 */
import { adaptDims, l2normalize } from './vectors.ts';
import type { EmbedOptions, EmbedResult, EmbeddingProvider, ResolvedModel } from './types.ts';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
// Namespaces keep a word and a char n-gram with the same letters apart.
const NS_WORD = 0x5bd1e995;
const NS_BIGRAM = 0x27d4eb2f;
const NS_GRAM3 = 0x165667b1;
const NS_GRAM4 = 0x7feb352d;
// Char n-grams outnumber words about six to one; a smaller weight keeps words in charge.
const W_WORD = 1;
const W_BIGRAM = 0.7;
const W_GRAM = 0.3;
// Boundary markers: code units that never occur inside a word.
const BEGIN = 1;
const END = 2;

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A seed (number or name, e.g. a model name) as a 32-bit value. */
export function seedValue(seed: number | string): number {
  if (typeof seed === 'number') return fmix32(seed >>> 0);
  let h = FNV_OFFSET;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), FNV_PRIME);
  return fmix32(h);
}

/** Letters and digits (after lower-casing); any non-ASCII code unit except common punctuation blocks. */
function isWordChar(c: number): boolean {
  if (c < 0x80) return (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
  if (c < 0xc0) return false; // Latin-1 punctuation and symbols
  if (c === 0xd7 || c === 0xf7) return false; // × ÷
  return !((c >= 0x2000 && c <= 0x206f) || (c >= 0x3000 && c <= 0x303f) || (c >= 0xfe30 && c <= 0xfe4f) || c === 0xfeff);
}

/** Words as the local model counts them (its "tokens"). */
export function countWords(text: string): number {
  const s = text.toLowerCase();
  let words = 0;
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const w = isWordChar(s.charCodeAt(i));
    if (w && !inWord) words++;
    inWord = w;
  }
  return words;
}

export interface LocalEmbedding {
  vector: Float32Array;
  words: number;
}

/**
 * Returns an embedding function for one size and seed. It reuses its scratch table between
 * calls, so make one per worker and call it many times (it is not re-entrant across threads,
 * which JavaScript never shares anyway).
 * @param seed derives a different but deterministic space, e.g. per simulated model name. @default 0
 * @param opts.nested hash every feature once into each block [0,8), [8,16), [16,32), … so that
 *   any prefix of the vector is itself a hashed embedding, like a Matryoshka model's (the
 *   simulator uses it to serve `dimensions`). @default false
 */
export function createLocalEmbedder(dims: number, seed: number | string = 0, opts: { nested?: boolean } = {}): (text: string) => LocalEmbedding {
  const nested = opts.nested ?? false;
  if (!Number.isInteger(dims) || dims < 1) throw new RangeError(`dims must be a positive integer, got ${dims}`);
  const base = (FNV_OFFSET ^ seedValue(seed)) >>> 0;
  let mask = 0;
  let keys = new Uint32Array(0);
  let counts = new Uint32Array(0);
  let weights = new Float32Array(0);
  let used = new Int32Array(0);
  let nUsed = 0;

  function reserve(textLength: number): void {
    // A word of L chars gives at most 2L + 2 features; keep the table at most half full.
    const need = textLength * 4 + 16;
    if (keys.length >= need) return;
    let cap = 1024;
    while (cap < need) cap *= 2;
    keys = new Uint32Array(cap);
    counts = new Uint32Array(cap);
    weights = new Float32Array(cap);
    used = new Int32Array(cap);
    mask = cap - 1;
  }

  function add(h: number, w: number): void {
    const key = fmix32(h) || 1;
    let i = key & mask;
    while (keys[i] !== 0 && keys[i] !== key) i = (i + 1) & mask;
    if (keys[i] === 0) {
      keys[i] = key;
      counts[i] = 1;
      weights[i] = w;
      used[nUsed++] = i;
    } else counts[i]!++;
  }

  return function embed(text: string): LocalEmbedding {
    const s = text.toLowerCase();
    reserve(s.length);
    nUsed = 0;
    let words = 0;
    let prev = 0;
    let i = 0;
    while (i < s.length) {
      if (!isWordChar(s.charCodeAt(i))) {
        i++;
        continue;
      }
      // One pass over BEGIN, the word's chars, END: the word hash and the 3/4-grams ending at
      // each position, hashed from the last four codes kept in locals.
      let h = base;
      let c1 = BEGIN;
      let c2 = 0;
      let c3 = 0;
      for (let done = false; !done; i++) {
        let c = i < s.length ? s.charCodeAt(i) : END;
        if (c !== END && isWordChar(c)) h = Math.imul(h ^ c, FNV_PRIME);
        else {
          c = END;
          done = true;
        }
        if (c2 !== 0) add(Math.imul(Math.imul(Math.imul(base ^ NS_GRAM3 ^ c2, FNV_PRIME) ^ c1, FNV_PRIME) ^ c, FNV_PRIME), W_GRAM);
        if (c3 !== 0) add(Math.imul(Math.imul(Math.imul(Math.imul(base ^ NS_GRAM4 ^ c3, FNV_PRIME) ^ c2, FNV_PRIME) ^ c1, FNV_PRIME) ^ c, FNV_PRIME), W_GRAM);
        c3 = c2;
        c2 = c1;
        c1 = c;
      }
      add(h ^ NS_WORD, W_WORD);
      if (words > 0) add(Math.imul(prev, 0x9e3779b1) ^ h ^ NS_BIGRAM, W_BIGRAM);
      prev = h;
      words++;
    }
    if (nUsed === 0) {
      // No word at all ("", "!!!"): still a unit vector, chosen by the raw characters.
      let h = base;
      for (let k = 0; k < s.length; k++) h = Math.imul(h ^ s.charCodeAt(k), FNV_PRIME);
      add(h, 1);
    }
    const out = new Float32Array(dims);
    for (let u = 0; u < nUsed; u++) {
      const slot = used[u]!;
      const key = keys[slot]!;
      const value = weights[slot]! * (1 + Math.log(counts[slot]!));
      const signed = key >>> 31 ? -value : value;
      const low = key & 0x7fffffff;
      if (!nested) out[low % dims]! += signed;
      else
        for (let start = 0, size = 8; start < dims; start += size, size = start) {
          const end = Math.min(dims, start + size);
          out[start + (low % (end - start))]! += signed;
        }
      keys[slot] = 0;
    }
    return { vector: l2normalize(out), words };
  };
}

/** One-off convenience over {@link createLocalEmbedder}: an L2-normalized `dims`-long vector. */
export function localEmbed(text: string, dims: number, seed: number | string = 0): Float32Array {
  return createLocalEmbedder(dims, seed)(text).vector;
}

/** The local provider. Tokens are words; one `embed` call is ledgered as one call. */
export class LocalProvider implements EmbeddingProvider {
  readonly model: ResolvedModel;
  readonly #embed: (text: string) => LocalEmbedding;

  /** @param opts.seed @default 0 (the space of `local/hash-v1`) */
  constructor(model: ResolvedModel, opts: { seed?: number | string } = {}) {
    if (model.spec.provider !== 'local') throw new Error(`LocalProvider cannot serve ${model.key}`);
    this.model = model;
    // Sizes beyond the native range are computed at the largest native size, then padded.
    const computeDims = model.dimAdapter === 'native' ? model.dims : (model.spec.nativeDimsRange?.[1] ?? model.spec.nativeDims);
    this.#embed = createLocalEmbedder(computeDims, opts.seed ?? 0);
  }

  async embed(inputs: string[], opts: EmbedOptions = {}): Promise<EmbedResult> {
    opts.signal?.throwIfAborted();
    if (inputs.length === 0) return { vectors: [], tokens: 0, requests: 0, retries: 0 };
    const started = performance.now();
    const { dims, dimAdapter } = this.model;
    let tokens = 0;
    const vectors = inputs.map((text) => {
      const { vector, words } = this.#embed(text);
      tokens += words;
      return dimAdapter === 'native' ? vector : adaptDims(vector, dims, dimAdapter);
    });
    // Counts the caller made with the index's tokenizer win, so cache savings and spend agree.
    if (opts.tokenCounts?.length === inputs.length) tokens = opts.tokenCounts.reduce((a, b) => a + b, 0);
    opts.onCall?.({ request: 0, inputs: inputs.length, tokens, latencyMs: performance.now() - started, status: 'ok', attempt: 1 });
    return { vectors, tokens, requests: 1, retries: 0 };
  }
}
