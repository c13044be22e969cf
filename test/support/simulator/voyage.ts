/**
 * The simulator's Voyage AI API, under the `/voyage` prefix of the same server, so the official
 * SDK works unchanged with `new VoyageAIClient({ apiKey, baseUrl: sim.voyageUrl })` (the SDK
 * joins `embeddings` onto that base). It serves `POST /v1/embeddings` as Voyage documents it:
 * `input` (a string or up to 1,000 texts), `input_type` null / query / document, `truncation`
 * (default true), `output_dimension` on the models that take it, `encoding_format` base64
 * (little-endian float32), `usage.total_tokens`, errors as `{"detail": …}`, and each model's
 * token cap per request, counted after truncation, refused with Voyage's own 400 text.
 *
 * Vectors come from the same seeded function as the OpenAI route (same model name and size,
 * same vector); query and document share one space. Not confirmed from Voyage's docs, so
 * chosen here: the wording of 400s other than the token cap, 400 for an unknown model, and a
 * `retry-after` header on 429s (Voyage documents no rate-limit headers; none are sent).
 */
import { adaptDims, encodeFloat32Base64 } from '../../../src/providers/vectors.ts';
import { simulatedVector } from './embeddings.ts';
import type { Route, SimReply, SimState } from './route-types.ts';

export const VOYAGE_PREFIX = '/voyage';

interface VoyageModel {
  /** Output size without `output_dimension`. */
  dims: number;
  /** Context length in tokens. */
  context: number;
  /** Tokens summed over a request's inputs, after truncation. */
  requestTokens: number;
  /** `output_dimension` values, on the models that take it. */
  outputDimensions?: readonly number[];
}

const FLEXIBLE = [256, 512, 1024, 2048] as const;
const MODELS: Readonly<Record<string, VoyageModel>> = {
  'voyage-4-large': { dims: 1024, context: 32_000, requestTokens: 120_000, outputDimensions: FLEXIBLE },
  'voyage-4': { dims: 1024, context: 32_000, requestTokens: 320_000, outputDimensions: FLEXIBLE },
  'voyage-4-lite': { dims: 1024, context: 32_000, requestTokens: 1_000_000, outputDimensions: FLEXIBLE },
  'voyage-3-large': { dims: 1024, context: 32_000, requestTokens: 120_000, outputDimensions: FLEXIBLE },
  'voyage-3.5': { dims: 1024, context: 32_000, requestTokens: 320_000, outputDimensions: FLEXIBLE },
  'voyage-3.5-lite': { dims: 1024, context: 32_000, requestTokens: 1_000_000, outputDimensions: FLEXIBLE },
  'voyage-code-3': { dims: 1024, context: 32_000, requestTokens: 120_000, outputDimensions: FLEXIBLE },
  'voyage-finance-2': { dims: 1024, context: 32_000, requestTokens: 120_000 },
  'voyage-law-2': { dims: 1024, context: 16_000, requestTokens: 120_000 },
};
const MAX_INPUTS = 1000;

/** Voyage's error body. */
export function voyageError(status: number, detail: string): SimReply {
  return { status, body: { detail } };
}
const invalid = (detail: string) => voyageError(400, detail);

/** Faults from `failNext` / `faultRate`, in Voyage's envelope. */
function fault(kind: string, state: SimState): SimReply | undefined {
  if (kind === 'timeout') return { status: 0, hold: true };
  if (kind === '500') return voyageError(500, 'Internal server error. Please retry after a brief wait.');
  if (kind === '429' || kind === 'quota')
    return { ...voyageError(429, 'Rate limit exceeded. Please pace your requests.'), headers: { 'retry-after': String(Math.ceil(state.knobs.retryAfterMs / 1000)) } };
  if (kind === 'malformed') return { status: 200, raw: '{"object":"list","data":[{"object":"embedding","embedding":"AAAA' };
  return undefined;
}

/** A request the embeddings endpoint accepted. */
export interface VoyageRequest {
  model: string;
  served: VoyageModel;
  texts: string[];
  /** Tokens per input before truncation. */
  counted: number[];
  /** Tokens of the request after truncation. */
  total: number;
  dims: number | undefined;
  base64: boolean;
}

/** Validates an embeddings body as Voyage does: the request, or Voyage's 400. */
export function readVoyageRequest(body: unknown, state: SimState): VoyageRequest | SimReply {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof b.model !== 'string' || b.model === '') return invalid('model is required');
  const served = MODELS[b.model];
  if (!served) return invalid(`Model ${b.model} is not supported. Supported models: ${Object.keys(MODELS).join(', ')}.`);
  const list = typeof b.input === 'string' ? [b.input] : b.input;
  if (!Array.isArray(list) || list.length === 0 || list.some((t) => typeof t !== 'string' || t === ''))
    return invalid('input must be a non-empty string or a non-empty list of non-empty strings');
  if (list.length > MAX_INPUTS) return invalid(`The input list has ${list.length} items; the maximum length of the list is ${MAX_INPUTS}.`);
  const texts = list as string[];
  if (b.input_type != null && b.input_type !== 'query' && b.input_type !== 'document') return invalid(`input_type must be null, "query" or "document"; got ${JSON.stringify(b.input_type)}`);
  const truncation = b.truncation ?? true;
  if (typeof truncation !== 'boolean') return invalid('truncation must be a boolean');
  const dims = b.output_dimension;
  if (dims != null) {
    if (!served.outputDimensions) return invalid(`Model ${b.model} does not support output_dimension.`);
    if (!served.outputDimensions.includes(dims as number)) return invalid(`output_dimension must be one of ${served.outputDimensions.join(', ')} for ${b.model}; got ${JSON.stringify(dims)}`);
  }
  if (b.output_dtype != null && b.output_dtype !== 'float') return invalid('the simulator serves output_dtype "float" only');
  if (b.encoding_format != null && b.encoding_format !== 'base64') return invalid(`encoding_format must be null or "base64"; got ${JSON.stringify(b.encoding_format)}`);
  const counted = texts.map(state.countTokens);
  const tooLong = counted.findIndex((t) => t > served.context);
  if (!truncation && tooLong >= 0)
    return invalid(`Input at index ${tooLong} has ${counted[tooLong]} tokens, more than the context length of ${b.model} (${served.context}). Set truncation to true to cut it.`);
  const total = counted.reduce((a, t) => a + Math.min(t, served.context), 0);
  if (total > served.requestTokens)
    return invalid(`Request to model '${b.model}' failed. The max allowed tokens per submitted batch is ${served.requestTokens}. Your batch has ${total} tokens after truncation. Please lower the number of tokens in the batch.`);
  return { model: b.model, served, texts, counted, total, dims: dims as number | undefined, base64: b.encoding_format === 'base64' };
}

/** The 200 body for an accepted request; `wrongDims` halves every vector. */
export function voyageResponse(state: SimState, r: VoyageRequest, wrongDims = false): Record<string, unknown> {
  const size = r.dims ?? r.served.dims;
  const data = r.texts.map((text, index) => {
    // The simulator's token count is ~4 bytes a token, so cutting characters in that ratio is close enough.
    const kept = r.counted[index]! > r.served.context ? text.slice(0, r.served.context * 4) : text;
    // Nested features: a 2048-dim vector's first 1024 are the 1024-dim one, as with Matryoshka models.
    const native = simulatedVector(state, r.model, Math.max(size, r.served.dims), kept);
    let v = size === native.length ? native : adaptDims(native, size, 'truncate');
    if (wrongDims) v = v.subarray(0, Math.max(1, v.length >> 1));
    return { object: 'embedding', embedding: r.base64 ? encodeFloat32Base64(v) : Array.from(v), index };
  });
  return { object: 'list', data, model: r.model, usage: { total_tokens: r.total } };
}

const embeddings: Route = (req, state) => {
  const r = readVoyageRequest(req.body, state);
  if ('status' in r) return r;
  const log = { model: r.model, inputs: r.texts.length, tokens: r.total, ...(r.dims !== undefined ? { dimensions: r.dims } : {}), ...(r.base64 ? { encoding: 'base64' } : {}) };
  const kind = state.takeFault();
  const failed = kind && fault(kind, state);
  if (failed) return { ...failed, log: { ...log, fault: kind } };
  const limited = state.window.admit(r.total, r.model);
  if (limited) return { ...voyageError(429, (limited.body as { error: { message: string } }).error.message), headers: { 'retry-after': limited.headers!['retry-after']! }, log };
  return { status: 200, body: voyageResponse(state, r, kind === 'wrong-dims'), log: kind ? { ...log, fault: kind } : log };
};

/** The Voyage routes, prefixed `/voyage`. */
export function createVoyageApi(): { routes: Record<string, Route> } {
  return { routes: { [`POST ${VOYAGE_PREFIX}/v1/embeddings`]: embeddings } };
}
