/**
 * The simulator's Mistral API, under the `/mistral` prefix of the same server, so the official SDK
 * works unchanged with `new Mistral({ apiKey, serverURL: sim.mistralUrl })` (it joins
 * `/v1/embeddings` onto that URL). It serves `POST /v1/embeddings` in Mistral's wire format:
 * `input` (a string or a list), `output_dimension` for codestral-embed only, `usage` with
 * `prompt_tokens`/`total_tokens`, errors in the `{object: "error", message, type, param, code}`
 * envelope, per-request limits, and the per-minute `x-ratelimit-*` headers when `rpm`/`tpm` are
 * set. Vectors come from the same seeded function as the OpenAI route, so the same text and model
 * name give the same vector there. The limits marked unverified in docs/providers-mistral.md are
 * the simulator's guesses, not Mistral's documented numbers. The key check and the envelope of
 * what the router itself answers (404, bad JSON, 401) are the router's (index.ts).
 */
import { randomUUID } from 'node:crypto';
import { adaptDims } from '../../../src/providers/vectors.ts';
import { simulatedVector } from './embeddings.ts';
import type { Route, SimReply, SimState } from './route-types.ts';

export const MISTRAL_PREFIX = '/mistral';

interface MistralModel {
  /** Output size without `output_dimension`. */
  dims: number;
  /** Largest `output_dimension`; absent: the model takes none. */
  maxDims?: number;
}

const MODELS: Readonly<Record<string, MistralModel>> = {
  'mistral-embed': { dims: 1024 },
  'codestral-embed': { dims: 1536, maxDims: 3072 },
};

/** Context of both models (8k in Mistral's model cards). */
const MAX_INPUT_TOKENS = 8192;
/** Unverified: 512 per integrators' reports of "Too many inputs in request". */
export const MISTRAL_MAX_INPUTS = 512;
/** Unverified: "Too many tokens in batch. Max is 16384" in a 2024 error message. */
export const MISTRAL_MAX_REQUEST_TOKENS = 16_384;

/** Mistral's error envelope. */
export function mistralError(status: number, message: string, type = 'invalid_request_error', code: string | null = null, param: string | null = null): SimReply {
  return { status, body: { object: 'error', message, type, param, code } };
}
const invalid = (message: string, param: string | null = null) => mistralError(400, message, 'invalid_request_error', null, param);
const tooBig = (message: string) => mistralError(400, message, 'invalid_request_prompt', '3210');

/** The simulator's OpenAI-named window headers under Mistral's per-minute names, plus the request's cost. */
function rateHeaders(state: SimState, tokens: number): Record<string, string> {
  const h = state.window.headers();
  const out: Record<string, string> = {};
  const copy = (from: string, to: string) => h[from] !== undefined && (out[`x-ratelimit-${to}`] = h[from]!);
  copy('x-ratelimit-limit-requests', 'limit-req-minute');
  copy('x-ratelimit-remaining-requests', 'remaining-req-minute');
  copy('x-ratelimit-limit-tokens', 'limit-tokens-minute');
  copy('x-ratelimit-remaining-tokens', 'remaining-tokens-minute');
  if (state.knobs.tpm > 0) out['x-ratelimit-tokens-query-cost'] = String(tokens);
  return out;
}

function vector(state: SimState, model: string, served: MistralModel, text: string, dims: number): Float32Array {
  // Sizes above the default come from a larger space whose prefix is kept, as codestral-embed's are.
  const native = simulatedVector(state, model, dims > served.dims ? served.maxDims! : served.dims, text);
  return native.length === dims ? native : adaptDims(native, dims, 'truncate');
}

/** A request the embeddings endpoint accepted. */
export interface MistralRequest {
  model: string;
  served: MistralModel;
  inputs: string[];
  total: number;
  dims: number;
  /** `output_dimension` was given. */
  sized: boolean;
}

/** Validates an embeddings body as Mistral does: the request, or Mistral's error. */
export function readMistralRequest(body: unknown, state: SimState): MistralRequest | SimReply {
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b.model !== 'string' || b.model === '') return mistralError(422, 'model: Field required', 'invalid_request_error', null, 'model');
  const served = MODELS[b.model];
  if (!served) return mistralError(400, `Invalid model: ${b.model}`, 'invalid_model', '1500', 'model');
  const inputs = typeof b.input === 'string' ? [b.input] : b.input;
  if (!Array.isArray(inputs) || inputs.length === 0 || inputs.some((t) => typeof t !== 'string')) return invalid('input must be a string or a non-empty list of strings', 'input');
  if (inputs.length > MISTRAL_MAX_INPUTS) return tooBig('Too many inputs in request, split into more batches.');
  const tokens = (inputs as string[]).map(state.countTokens);
  const longest = tokens.indexOf(Math.max(...tokens));
  if (tokens[longest]! > MAX_INPUT_TOKENS) return invalid(`Input id ${longest} has ${tokens[longest]} tokens, exceeding max ${MAX_INPUT_TOKENS} tokens.`, 'input');
  const total = tokens.reduce((a, t) => a + t, 0);
  if (total > MISTRAL_MAX_REQUEST_TOKENS) return tooBig('Too many tokens overall, split into more batches.');
  const dims = b.output_dimension ?? served.dims;
  if (b.output_dimension != null && !served.maxDims) return invalid(`output_dimension is not supported for model ${b.model}`, 'output_dimension');
  if (typeof dims !== 'number' || !Number.isInteger(dims) || dims < 1 || dims > (served.maxDims ?? served.dims))
    return invalid(`output_dimension must be an integer from 1 to ${served.maxDims}`, 'output_dimension');
  return { model: b.model, served, inputs: inputs as string[], total, dims, sized: b.output_dimension != null };
}

/** The 200 body for an accepted request; `wrongDims` halves every vector. */
export function mistralResponse(state: SimState, r: MistralRequest, wrongDims = false): Record<string, unknown> {
  const size = wrongDims ? Math.max(1, r.dims >> 1) : r.dims;
  const data = r.inputs.map((text, index) => ({ object: 'embedding', embedding: Array.from(vector(state, r.model, r.served, text, r.dims).subarray(0, size)), index }));
  return { id: randomUUID().replaceAll('-', ''), object: 'list', data, model: r.model, usage: { prompt_tokens: r.total, total_tokens: r.total, completion_tokens: 0, request_count: null, prompt_audio_seconds: null } };
}

const embeddings: Route = async (req, state) => {
  const r = readMistralRequest(req.body, state);
  if ('status' in r) return r;
  const fault = state.takeFault();
  const logged = { model: r.model, inputs: r.inputs.length, tokens: r.total, ...(r.sized ? { dimensions: r.dims } : {}), ...(fault ? { fault } : {}) };
  if (fault === 'timeout') return { status: 0, hold: true, log: logged };
  if (fault === '500') return { ...mistralError(500, 'Internal server error', 'server_error'), log: logged };
  if (fault === '429' || fault === 'quota')
    return { ...mistralError(429, 'Requests rate limit exceeded', 'rate_limit_error'), headers: { 'retry-after': String(state.knobs.retryAfterMs / 1000) }, log: logged };
  if (fault === 'malformed') return { status: 200, raw: '{"id":"x","object":"list","data":[{"object":"embedding","embedding":[0.1,', log: logged };
  const limited = state.window.admit(r.total, r.model);
  if (limited) return { ...mistralError(429, 'Requests rate limit exceeded', 'rate_limit_error'), headers: { 'retry-after': limited.headers!['retry-after']!, ...rateHeaders(state, r.total) }, log: logged };
  return { status: 200, body: mistralResponse(state, r, fault === 'wrong-dims'), headers: rateHeaders(state, r.total), log: logged };
};

/** The Mistral routes (prefixed `/mistral`). */
export function createMistralApi(): { routes: Record<string, Route> } {
  return { routes: { [`POST ${MISTRAL_PREFIX}/v1/embeddings`]: embeddings } };
}
