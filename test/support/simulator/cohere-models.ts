/**
 * What the Cohere routes share: the models (size, context, which options they take), Cohere's
 * `{id, message}` error body, and one text's embedding (truncation, `output_dimension`, the
 * int8/uint8/binary/ubinary/base64 encodings of a float vector).
 */
import { randomUUID } from 'node:crypto';
import { adaptDims, encodeFloat32Base64 } from '../../../src/providers/vectors.ts';
import type { SimReply, SimState } from './route-types.ts';
import { simulatedVector } from './embeddings.ts';

export interface CohereModel {
  dims: number;
  /** Context length in tokens. */
  maxTokens: number;
  /** v3 and later reject requests without `input_type`. */
  needsInputType: boolean;
  /** `output_dimension` values (embed-v4.0 only). */
  outputDimensions?: readonly number[];
  /** Served by embed jobs (Cohere lists the v3.0 models). */
  embedJobs: boolean;
}

export const COHERE_MODELS: Readonly<Record<string, CohereModel>> = {
  'embed-v4.0': { dims: 1536, maxTokens: 128_000, needsInputType: true, outputDimensions: [256, 512, 1024, 1536], embedJobs: false },
  'embed-english-v3.0': { dims: 1024, maxTokens: 512, needsInputType: true, embedJobs: true },
  'embed-multilingual-v3.0': { dims: 1024, maxTokens: 512, needsInputType: true, embedJobs: true },
  'embed-english-light-v3.0': { dims: 384, maxTokens: 512, needsInputType: true, embedJobs: true },
  'embed-multilingual-light-v3.0': { dims: 384, maxTokens: 512, needsInputType: true, embedJobs: true },
  'embed-english-v2.0': { dims: 4096, maxTokens: 512, needsInputType: false, embedJobs: false },
  'embed-multilingual-v2.0': { dims: 768, maxTokens: 256, needsInputType: false, embedJobs: false },
};

export const INPUT_TYPES = ['search_document', 'search_query', 'classification', 'clustering', 'image'];
export const EMBEDDING_TYPES = ['float', 'int8', 'uint8', 'binary', 'ubinary', 'base64'] as const;
export type EmbeddingType = (typeof EMBEDDING_TYPES)[number];

/** Cohere's error body: `{ id, message }`. */
export function cohereError(status: number, message: string): SimReply {
  return { status, body: { id: randomUUID(), message } };
}
export const invalid = (message: string) => cohereError(400, `invalid request: ${message}`);

export function unknownModel(model: string): SimReply {
  return cohereError(404, `model '${model}' not found, make sure the correct model ID was used and that you have access to the model.`);
}

/** One embedding in each requested type (int8/uint8 scaled to the largest component, binary packed 8 dims a byte). */
export function embeddingByType(v: Float32Array, type: EmbeddingType): number[] | string {
  if (type === 'float') return Array.from(v);
  if (type === 'base64') return encodeFloat32Base64(v);
  if (type === 'int8' || type === 'uint8') {
    const max = v.reduce((m, x) => Math.max(m, Math.abs(x)), 0) || 1;
    return Array.from(v, (x) => Math.max(-128, Math.min(127, Math.round((x / max) * 127))) + (type === 'uint8' ? 128 : 0));
  }
  const packed: number[] = [];
  for (let i = 0; i < v.length; i += 8) {
    let byte = 0;
    for (let j = 0; j < 8; j++) byte = (byte << 1) | ((v[i + j] ?? 0) > 0 ? 1 : 0);
    packed.push(type === 'ubinary' ? byte : byte - 128);
  }
  return packed;
}

/**
 * Embeds one text as Cohere would: over-long text is cut to the model's limit (or `maxTokens`)
 * from the START or the END; returns the vector and the tokens billed.
 */
export function cohereVector(state: SimState, model: string, served: CohereModel, text: string, opts: { dims?: number; truncate: 'START' | 'END'; maxTokens?: number }): { vector: Float32Array; tokens: number } {
  const limit = Math.min(served.maxTokens, opts.maxTokens ?? Infinity);
  let tokens = state.countTokens(text);
  let kept = text;
  if (tokens > limit) {
    // The simulator's token count is ~4 bytes a token, so cutting characters in that ratio is close enough.
    kept = opts.truncate === 'START' ? text.slice(-limit * 4) : text.slice(0, limit * 4);
    tokens = limit;
  }
  const native = simulatedVector(state, model, served.dims, kept);
  return { vector: opts.dims && opts.dims !== served.dims ? adaptDims(native, opts.dims, 'truncate') : native, tokens };
}

/** Checks `embedding_types`; returns the list or the error. */
export function parseEmbeddingTypes(raw: unknown, allowed: readonly string[] = EMBEDDING_TYPES): EmbeddingType[] | SimReply {
  if (raw === undefined || raw === null) return ['float'];
  if (!Array.isArray(raw) || raw.length === 0 || raw.some((t) => !allowed.includes(t as string)))
    return invalid(`embedding_types must be a non-empty list of ${allowed.join(', ')}; got ${JSON.stringify(raw)}`);
  return [...new Set(raw as EmbeddingType[])];
}
