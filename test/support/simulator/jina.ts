/**
 * The simulator's Jina AI API, under `/jina` on the same server: `POST /jina/v1/embeddings`
 * (so `sim.jinaUrl`, ending in `/jina/v1`, stands for https://api.jina.ai/v1). Jina's request
 * fields (`task`, `dimensions`, `embedding_type`, `truncate`), its `{detail, code}` errors, the
 * input-list caps gateways have seen (2,048 for v3, 512 for v4), context lengths (a too-long
 * input is refused unless `truncate`), `usage.total_tokens`, and only the rate-limit headers
 * Jina documents (`X-RateLimit-Remaining-Requests|Tokens`). Vectors come from the same seeded
 * function as the OpenAI route; query and passage share one space. Faults: failNext/faultRate.
 * What is confirmed and what is not: docs/providers-jina.md.
 */
import { adaptDims, encodeFloat32Base64 } from '../../../src/providers/vectors.ts';
import { simulatedVector } from './embeddings.ts';
import type { Route, SimReply } from './route-types.ts';

interface JinaModel {
  dims: number;
  /** Context length in tokens. */
  maxTokens: number;
  /** Items in one `input` list. */
  maxInputs: number;
  tasks: readonly string[];
}

const V3_TASKS = ['retrieval.query', 'retrieval.passage', 'text-matching', 'classification', 'separation'];
export const JINA_MODELS: Readonly<Record<string, JinaModel>> = {
  'jina-embeddings-v3': { dims: 1024, maxTokens: 8192, maxInputs: 2048, tasks: V3_TASKS },
  'jina-embeddings-v4': { dims: 2048, maxTokens: 32_768, maxInputs: 512, tasks: ['text-matching', 'retrieval.query', 'retrieval.passage', 'code.query', 'code.passage'] },
};

/** Jina's error body (its OpenAPI `ErrorResponse`). */
export function jinaError(status: number, detail: string, code?: string): SimReply {
  return { status, body: { detail, ...(code ? { code } : {}), request_id: 'sim' } };
}

/** What the router answers under `/jina` (unknown path, bad JSON, a wrong key: Jina's 401 does not echo it). */
export function jinaRouterError(status: number, message: string): SimReply {
  return status === 401 ? jinaError(401, 'Invalid API key. Verify your API key at https://jina.ai/api-dashboard/key-manager or generate a new one.', 'AUTH_INVALID_API_KEY') : jinaError(status, message);
}

/** A 422 in Jina's `HTTPValidationError` shape. */
function invalid(field: string, message: string, input?: unknown): SimReply {
  return { status: 422, body: { detail: `Validation error: 'body -> ${field}' ${message}`, errors: [{ field, message, type: 'value_error', input }] } };
}

const RATE_HEADERS = ['x-ratelimit-remaining-requests', 'x-ratelimit-remaining-tokens'];
const only = (headers: Record<string, string> = {}, names: string[]) => Object.fromEntries(Object.entries(headers).filter(([k]) => names.includes(k)));

const embeddings: Route = (req, state) => {
  const b = (req.body ?? {}) as Record<string, unknown>;
  if (typeof b.model !== 'string' || b.model === '') return invalid('model', 'Field required');
  const served = JINA_MODELS[b.model];
  if (!served) return jinaError(400, `Model '${b.model}' not found. Available models: ${Object.keys(JINA_MODELS).join(', ')}`, 'INPUT_MODEL_NOT_FOUND');
  const raw = typeof b.input === 'string' ? [b.input] : b.input;
  if (!Array.isArray(raw) || raw.length === 0) return invalid('input', 'Input should be a string or a non-empty list');
  // The v3 text is Jina's (seen by Elasticsearch and refly); the v4 one is from Dify's report.
  if (raw.length > served.maxInputs)
    return served.maxInputs === 2048 ? jinaError(400, `"input" length ${raw.length} is larger than the largest allowed size 2048`) : invalid(b.model, `Each input list can contain at most ${served.maxInputs} items.`);
  const texts = raw.map((x: unknown) => (typeof x === 'string' ? x : typeof (x as { text?: unknown } | null)?.text === 'string' ? (x as { text: string }).text : undefined));
  const bad = texts.findIndex((t) => t === undefined);
  if (bad >= 0) return invalid(`input.${bad}`, 'Input should be a string or a TextDoc (the simulator takes text only)');
  if (b.task != null && !served.tasks.includes(b.task as string)) return invalid('task', `Input should be ${served.tasks.map((t) => `'${t}'`).join(', ')}`, b.task);
  const dims = b.dimensions;
  if (dims != null && (typeof dims !== 'number' || !Number.isInteger(dims) || dims < 1 || dims > served.dims)) return invalid('dimensions', `Input should be an integer from 1 to ${served.dims}`, dims);
  const type = b.embedding_type ?? 'float';
  if (type !== 'float' && type !== 'base64') return invalid('embedding_type', "the simulator serves 'float' and 'base64' only", type);
  const tokens = texts.map((t) => state.countTokens(t!));
  const long = tokens.findIndex((t) => t > served.maxTokens);
  // Jina's wording for this is not known; the status and envelope are.
  if (long >= 0 && b.truncate !== true) return jinaError(400, `Input at index ${long} has ${tokens[long]} tokens, longer than the maximum context of ${served.maxTokens} tokens; set truncate to true to cut it`);
  const billed = tokens.reduce((a, t) => a + Math.min(t, served.maxTokens), 0);
  const log = { model: b.model, inputs: texts.length, tokens: billed, encoding: type as string, ...(typeof dims === 'number' ? { dimensions: dims } : {}) };
  const fault = state.takeFault();
  if (fault === 'timeout') return { status: 0, hold: true, log: { ...log, fault } };
  if (fault === '500') return { ...jinaError(500, 'An unexpected error occurred. If this persists, contact support with the request_id from this response.', 'INTERNAL_ERROR'), log: { ...log, fault } };
  if (fault === '429') {
    const ms = state.knobs.retryAfterMs;
    return { ...jinaError(429, 'Request rate limit exceeded: 61/60 requests per minute.', 'RATE_REQUEST_LIMIT_EXCEEDED'), headers: { 'retry-after': String(Math.ceil(ms / 1000)), 'retry-after-ms': String(ms) }, log: { ...log, fault } };
  }
  if (fault === 'quota') return { ...jinaError(403, 'Insufficient account balance. Top up your account at https://jina.ai/api-dashboard/key-manager.', 'AUTHZ_INSUFFICIENT_BALANCE'), log: { ...log, fault } };
  if (fault === 'malformed') return { status: 200, raw: '{"model":"x","object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,', log: { ...log, fault } };
  const limited = state.window.admit(billed, b.model);
  if (limited) {
    const tokens = (limited.body as { error: { type: string } }).error.type === 'tokens';
    const [detail, code] = tokens ? ['Token rate limit exceeded: tokens per minute.', 'RATE_TOKEN_LIMIT_EXCEEDED'] : ['Request rate limit exceeded: requests per minute.', 'RATE_REQUEST_LIMIT_EXCEEDED'];
    return { ...jinaError(429, detail, code), headers: only(limited.headers, ['retry-after', 'retry-after-ms', ...RATE_HEADERS]), log };
  }
  const size = fault === 'wrong-dims' ? Math.max(1, ((dims as number | undefined) ?? served.dims) >> 1) : ((dims as number | undefined) ?? served.dims);
  const data = texts.map((t, index) => {
    const native = simulatedVector(state, b.model as string, served.dims, t!);
    const v = size === native.length ? native : adaptDims(native, size, 'truncate');
    return { object: 'embedding', index, embedding: type === 'base64' ? encodeFloat32Base64(v) : Array.from(v) };
  });
  return {
    status: 200,
    body: { model: b.model, object: 'list', usage: { total_tokens: billed, prompt_tokens: billed }, data },
    headers: only(state.window.headers(), RATE_HEADERS),
    log: fault ? { ...log, fault } : log,
  };
};

/** The Jina routes (prefixed `/jina`). */
export function createJinaApi(): { routes: Record<string, Route> } {
  return { routes: { 'POST /jina/v1/embeddings': embeddings } };
}
