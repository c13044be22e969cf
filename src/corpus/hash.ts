/**
 * Content hashes. {@link inputHash} is a persisted contract: it keys the embedding cache, so
 * changing its framing (or {@link normalizeText}) invalidates every cached vector.
 */
import { createHash } from 'node:crypto';

const INPUT_HASH_TAG = Buffer.from('embedq:input:v1\n', 'utf8');
/** The tag of a query's key, for models that embed queries differently from documents. */
const QUERY_HASH_TAG = Buffer.from('embedq:input:v1:query\n', 'utf8');
/** The tags of an input given as token ids that are not the encoding of any text (see inputHash). */
const TOKENS_HASH_TAG = Buffer.from('embedq:input:v1:tokens\n', 'utf8');
const QUERY_TOKENS_HASH_TAG = Buffer.from('embedq:input:v1:tokens:query\n', 'utf8');

/**
 * The input type that keys a vector: `query` only where the model embeds queries differently
 * (`ModelSpec.inputTypes`: Cohere, Voyage, Jina, Gemini); for any other model a query's vector is
 * the document's, so the two share one cache entry.
 */
export function hashedInputType(modelHasInputTypes: boolean, type: 'query' | 'document'): 'query' | 'document' {
  return modelHasInputTypes && type === 'query' ? 'query' : 'document';
}

/**
 * The cache key of one embedding input: sha256 over an unambiguous framing of the cache scope,
 * the model version key, the output dimensions and the (already normalized) text.
 *
 * Format (all integers unsigned 32-bit big-endian, strings UTF-8):
 * ```
 * "embedq:input:v1\n"
 * u32 byteLength(scope)    scope
 * u32 byteLength(modelKey) modelKey
 * u32 dims
 * u32 byteLength(text)     text
 * ```
 * Length prefixes make the framing unambiguous (`("ab","c")` and `("a","bc")` differ); the tag
 * versions it and keeps it apart from {@link textHash}.
 *
 * @param p.scope the cache scope: the tenant id, or `global` for a shared cache
 * @param p.modelKey the pinned model version key, e.g. `openai/text-embedding-3-small@1`
 * @param p.dims output dimensions, an integer from 1 to 2³²−1
 * @param p.text normalized text ({@link normalizeText}); or `p.tokens`, token ids that are not
 *   the encoding of any text, which a gateway request passes through to a model that takes ids
 * @param p.inputType `query` for a query's vector where it differs ({@link hashedInputType}): the
 *   framing then starts with "embedq:input:v1:query\n" instead, so a query never reads a
 *   document's vector; documents keep the v1 framing every stored key has. @default 'document'
 * @returns a 32-byte digest
 */
export function inputHash(p: { scope: string; modelKey: string; dims: number; inputType?: 'query' | 'document' } & ({ text: string } | { tokens: readonly number[] })): Buffer {
  if (!Number.isInteger(p.dims) || p.dims < 1 || p.dims > 0xffff_ffff) {
    throw new RangeError(`inputHash: dims must be a positive integer, got ${String(p.dims)}`);
  }
  const scope = Buffer.from(p.scope, 'utf8');
  const modelKey = Buffer.from(p.modelKey, 'utf8');
  const query = p.inputType === 'query';
  // Token ids that encode no text (a gateway input sent as they are): their own tag, then
  // u32 count and each id as u32, so they never share a key with any text.
  const body = 'tokens' in p ? tokenBytes(p.tokens) : undefined;
  const tag = body ? (query ? QUERY_TOKENS_HASH_TAG : TOKENS_HASH_TAG) : query ? QUERY_HASH_TAG : INPUT_HASH_TAG;
  const header = Buffer.allocUnsafe(tag.length + 4 + scope.length + 4 + modelKey.length + 4 + 4);
  let at = tag.copy(header, 0);
  at = header.writeUInt32BE(scope.length, at);
  at += scope.copy(header, at);
  at = header.writeUInt32BE(modelKey.length, at);
  at += modelKey.copy(header, at);
  at = header.writeUInt32BE(p.dims, at);
  if (body) {
    header.writeUInt32BE(body.length / 4, at);
    return createHash('sha256').update(header).update(body).digest();
  }
  const { text } = p as { text: string };
  header.writeUInt32BE(Buffer.byteLength(text, 'utf8'), at);
  return createHash('sha256').update(header).update(text, 'utf8').digest();
}

function tokenBytes(tokens: readonly number[]): Buffer {
  const b = Buffer.allocUnsafe(4 * tokens.length);
  tokens.forEach((t, i) => b.writeUInt32BE(t, 4 * i));
  return b;
}

/** sha256 of the UTF-8 text of one chunk, independent of any model (stored with the chunk). */
export function textHash(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * sha256 of a whole normalized document, used to skip unchanged documents on re-ingest. The same
 * digest as {@link textHash} today; a separate name so the two can diverge without a hunt.
 */
export function contentHash(text: string): Buffer {
  return textHash(text);
}
