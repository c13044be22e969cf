/**
 * The simulator's `POST /v1/embeddings`, in OpenAI's wire format: request validation with
 * OpenAI's error envelope, deterministic vectors (local/hash-v1 features seeded by the model
 * name, so nearest-neighbour search still means something), `dimensions`, float or base64.
 */
import { tokenizerFor } from '../../../src/corpus/tokenizer.ts';
import { createLocalEmbedder, seedValue, type LocalEmbedding } from '../../../src/providers/local.ts';
import { adaptDims, encodeFloat32Base64, l2normalize } from '../../../src/providers/vectors.ts';
import type { SimReply, SimState } from './index.ts';

/** A served model: its native size and whether it accepts `dimensions`. */
export interface SimModel {
  dims: number;
  dimensions: boolean;
}

export const OPENAI_MODELS: Readonly<Record<string, SimModel>> = {
  'text-embedding-3-small': { dims: 1536, dimensions: true },
  'text-embedding-3-large': { dims: 3072, dimensions: true },
  'text-embedding-ada-002': { dims: 1536, dimensions: false },
};

const MAX_INPUTS = 2048;
/** cl100k_base's ids, the 100,256 merges and its special tokens. */
const CL100K_VOCABULARY = 100_277;
const cl100k = tokenizerFor('cl100k_base');
const MAX_INPUT_TOKENS = 8191;
const MAX_REQUEST_TOKENS = 300_000;

/** OpenAI's error envelope. */
export function apiError(status: number, message: string, type: string, code: string | null = null, param: string | null = null): SimReply {
  return { status, body: { error: { message, type, param, code } } };
}

const invalid = (message: string, param: string | null = null, code: string | null = null) => apiError(400, message, 'invalid_request_error', code, param);

/** A validated embeddings request. */
export interface EmbeddingsRequest {
  model: string;
  served: SimModel;
  /** What each input's vector is made from: its text, or for token ids that encode no text, the ids themselves. */
  inputs: string[];
  tokens: number[];
  /** Inputs sent as token ids. */
  tokenInputs: number;
  dimensions: number | undefined;
  encoding: 'float' | 'base64';
}

/** Validates the body as OpenAI does; returns the request or the error reply. */
export function parseEmbeddingsRequest(body: unknown, state: SimState): EmbeddingsRequest | SimReply {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return invalid('The request body must be a JSON object.');
  const b = body as Record<string, unknown>;
  if (typeof b.model !== 'string' || b.model === '') return invalid("you must provide a model parameter", 'model');
  const served = state.knobs.models?.[b.model] ?? (state.knobs.models ? undefined : (OPENAI_MODELS[b.model] ?? { dims: state.knobs.defaultDims, dimensions: true }));
  if (!served) return apiError(404, `The model \`${b.model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found');
  // OpenAI's four shapes: a string, strings, one token array, token arrays (never strings and ids mixed).
  const isId = (x: unknown) => Number.isInteger(x) && (x as number) >= 0;
  const raw = typeof b.input === 'string' ? [b.input] : Array.isArray(b.input) && b.input.length > 0 && b.input.every(isId) ? [b.input] : b.input;
  if (!Array.isArray(raw) || raw.length === 0) return invalid("'$.input' is invalid: expected a non-empty string, array of strings, or array of token arrays.", 'input');
  if (raw.length > MAX_INPUTS) return invalid(`'$.input' is invalid: at most ${MAX_INPUTS} inputs per request, got ${raw.length}.`, 'input');
  const asIds = Array.isArray(raw[0]);
  const inputs: string[] = [];
  const tokens: number[] = [];
  for (const [i, s] of raw.entries()) {
    if (asIds) {
      if (!Array.isArray(s) || s.length === 0 || !s.every(isId)) return invalid(`'$.input[${i}]' is invalid: every input must be a non-empty array of token ids like the first.`, 'input');
      if (s.some((t: number) => t >= CL100K_VOCABULARY)) return invalid(`'$.input[${i}]' is invalid: token ids must be below ${CL100K_VOCABULARY}.`, 'input');
      // Ids that are a text's own encoding embed as that text; any other sequence as itself.
      inputs.push(cl100k.decode!(s as number[]) ?? `\u0000token ids:${s.join(',')}`);
      tokens.push(s.length);
      continue;
    }
    if (typeof s !== 'string') return invalid(`'$.input[${i}]' is invalid: expected a string like the first.`, 'input');
    if (s === '') return invalid(`'$.input[${i}]' is invalid: an input must not be an empty string.`, 'input');
    inputs.push(s);
    tokens.push(state.countTokens(s));
  }
  const longest = Math.max(...tokens);
  if (longest > MAX_INPUT_TOKENS)
    return invalid(`This model's maximum context length is ${MAX_INPUT_TOKENS + 1} tokens, however you requested ${longest} tokens in input #${tokens.indexOf(longest)}.`, 'input');
  const total = tokens.reduce((a, t) => a + t, 0);
  if (total > MAX_REQUEST_TOKENS) return invalid(`Requested ${total} tokens, max ${MAX_REQUEST_TOKENS} tokens per request.`, 'input', 'max_tokens_per_request');
  const dimensions = b.dimensions;
  if (dimensions !== undefined && dimensions !== null) {
    if (!served.dimensions) return invalid('This model does not support specifying dimensions.', 'dimensions');
    if (typeof dimensions !== 'number' || !Number.isInteger(dimensions) || dimensions < 1 || dimensions > served.dims)
      return invalid(`Invalid value for 'dimensions' = ${JSON.stringify(dimensions)}. Must be an integer from 1 to ${served.dims}.`, 'dimensions');
  }
  const encoding = b.encoding_format ?? 'float';
  if (encoding !== 'float' && encoding !== 'base64') return invalid(`Invalid value for 'encoding_format' = ${JSON.stringify(encoding)}. Must be 'float' or 'base64'.`, 'encoding_format');
  return { model: b.model, served, inputs, tokens, tokenInputs: asIds ? inputs.length : 0, dimensions: typeof dimensions === 'number' ? dimensions : undefined, encoding };
}

/**
 * The vector for one input. Models whose name contains `random` get vectors that are
 * deterministic per input but meaningless (for quality-gate tests); the rest share local/hash-v1's
 * features in a space seeded by the model name.
 */
export function simulatedVector(state: SimState, model: string, nativeDims: number, text: string): Float32Array {
  if (model.includes('random')) {
    let s = seedValue(`${model}\u0000${text}`);
    const v = new Float32Array(nativeDims);
    for (let i = 0; i < nativeDims; i++) {
      // mulberry32: small, fast and good enough for noise.
      s = (s + 0x6d2b79f5) | 0;
      let t = Math.imul(s ^ (s >>> 15), 1 | s);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      v[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
    }
    return l2normalize(v);
  }
  const key = `${model}:${nativeDims}`;
  let embed: ((text: string) => LocalEmbedding) | undefined = state.embedders.get(key);
  if (!embed) {
    // Nested, so that `dimensions` (a truncation) keeps meaning, as with OpenAI's Matryoshka models.
    embed = createLocalEmbedder(nativeDims, model, { nested: true });
    state.embedders.set(key, embed);
  }
  return embed(text).vector;
}

/** The 200 body for a valid request; `dimsOverride` serves vectors of the wrong size on purpose. */
export function embeddingsResponse(state: SimState, req: EmbeddingsRequest, dimsOverride?: number): unknown {
  const dims = dimsOverride ?? req.dimensions ?? req.served.dims;
  const data = req.inputs.map((text, index) => {
    const native = simulatedVector(state, req.model, req.served.dims, text);
    const v = dims === native.length ? native : dims < native.length ? adaptDims(native, dims, 'truncate') : adaptDims(native, dims, 'pad');
    return { object: 'embedding', index, embedding: req.encoding === 'base64' ? encodeFloat32Base64(v) : Array.from(v) };
  });
  const tokens = req.tokens.reduce((a, t) => a + t, 0);
  return { object: 'list', data, model: req.model, usage: { prompt_tokens: tokens, total_tokens: tokens } };
}
