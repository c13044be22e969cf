/**
 * Decoding of the `data: [{index, embedding}]` answer that OpenAI's /v1/embeddings and the servers
 * shaped like it (Jina) send: the count, each index once, float arrays or base64 float32, the
 * size, and the model's dimension adapter.
 */
import { ProviderError } from '../errors.ts';
import { adaptDims, decodeFloat32Base64 } from './vectors.ts';
import type { ResolvedModel } from './types.ts';

/** A vector of another size than the model's; `vector` is what arrived (probe.ts learns a server's size from it). */
export class DimsMismatchError extends ProviderError {
  override name = 'DimsMismatchError';
  readonly vector: Float32Array;
  constructor(message: string, vector: Float32Array) {
    super(message, { retryable: false });
    this.vector = vector;
  }
}

/** Validates a 200 body and returns unit vectors of `model.dims`, in input order; `name` prefixes every message. */
export function decodeIndexedEmbeddings(data: unknown, n: number, model: ResolvedModel, name: string): Float32Array[] {
  const { dims, dimAdapter, spec } = model;
  const items = (data as { data?: unknown } | null)?.data;
  if (!Array.isArray(items))
    throw new ProviderError(`${name}: returned a malformed response body (no "data" array)`, { retryable: true });
  if (items.length !== n)
    throw new ProviderError(`${name}: returned ${items.length} embeddings for ${n} inputs`, { retryable: false });
  // With 'provider' or 'native' the server returns `dims`; otherwise its native size, adapted here.
  const expected = dimAdapter === 'truncate' || dimAdapter === 'pad' ? spec.nativeDims : dims;
  const out: Float32Array[] = new Array(n);
  for (const item of items as { index?: unknown; embedding?: unknown }[]) {
    const index = item?.index;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= n || out[index])
      throw new ProviderError(`${name}: returned an embedding with a missing, duplicate or out-of-range index ${JSON.stringify(index)}`, { retryable: false });
    const raw = item.embedding;
    const vec = typeof raw === 'string' ? decodeFloat32Base64(raw) : Array.isArray(raw) ? Float32Array.from(raw as number[]) : undefined;
    if (!vec) throw new ProviderError(`${name}: returned an embedding that is neither a float array nor base64`, { retryable: false });
    if (vec.length !== expected)
      throw new DimsMismatchError(`${name}: provider returned ${vec.length}-dim vectors, expected ${expected}`, vec);
    out[index] = adaptDims(vec, dims, dimAdapter, { inPlace: true });
  }
  return out;
}
