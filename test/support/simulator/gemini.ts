/**
 * The simulator's Gemini Developer API, under the `/gemini` prefix of the same server, so the
 * official SDK works unchanged with
 * `new GoogleGenAI({ apiKey, httpOptions: { baseUrl: sim.geminiUrl, apiVersion: 'v1beta' } })`.
 *
 * Serves `POST /v1beta/models/{model}:batchEmbedContents` (what @google/genai 3.3.0 sends for
 * `models.embedContent`) and `:embedContent` (one content, as in Google's curl examples):
 * the key in `x-goog-api-key` (or `?key=`), at most 100 requests a batch, `taskType`,
 * `outputDimensionality` cutting the vector without normalizing it (as Google's does),
 * `usageMetadata.promptTokenCount`, and Google's `{error:{code,message,status,details}}` body.
 * Vectors come from the same seeded function as the OpenAI route; all task types share one space.
 */
import type { Route, SimReply, SimState } from './route-types.ts';
import { simulatedVector } from './embeddings.ts';

export const GEMINI_PREFIX = '/gemini/';

interface GeminiModel {
  dims: number;
  /** Input limit in tokens. */
  maxTokens: number;
}

/** gemini-embedding-001: 3072 dims, 2,048 input tokens; gemini-embedding-2: 8,192. */
export const GEMINI_MODELS: Readonly<Record<string, GeminiModel>> = {
  'gemini-embedding-001': { dims: 3072, maxTokens: 2048 },
  'gemini-embedding-2': { dims: 3072, maxTokens: 8192 },
};

const MAX_BATCH = 100;
const TASK_TYPES = ['TASK_TYPE_UNSPECIFIED', 'RETRIEVAL_QUERY', 'RETRIEVAL_DOCUMENT', 'SEMANTIC_SIMILARITY', 'CLASSIFICATION', 'CLUSTERING', 'QUESTION_ANSWERING', 'FACT_VERIFICATION', 'CODE_RETRIEVAL_QUERY'];
const STATUS: Readonly<Record<number, string>> = { 400: 'INVALID_ARGUMENT', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };

/** Google's error body. */
export function googleError(code: number, message: string, details?: unknown[]): SimReply {
  return { status: code, body: { error: { code, message, status: STATUS[code] ?? 'UNKNOWN', ...(details ? { details } : {}) } } };
}
const invalid = (message: string) => googleError(400, message);

/** A 429 for a quota: per minute with the wait in RetryInfo, or per day (retrying will not help). */
function quotaExceeded(perDay: boolean, waitMs: number): SimReply {
  const quotaId = perDay ? 'EmbedContentRequestsPerDayPerProjectPerModel-FreeTier' : 'EmbedContentRequestsPerMinutePerProjectPerModel';
  const delay = `${(waitMs / 1000).toFixed(3).replace(/\.?0+$/, '')}s`;
  return googleError(429, 'You exceeded your current quota, please check your plan and billing details.', [
    { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaMetric: 'generativelanguage.googleapis.com/embed_content_requests', quotaId }] },
    ...(perDay ? [] : [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: delay }]),
  ]);
}

/** Missing key: 403; wrong key: 400 API_KEY_INVALID, echoing the key in DebugInfo as Google does. */
function checkKey(headers: Record<string, string | string[] | undefined>, query: URLSearchParams, apiKey: string | undefined): SimReply | undefined {
  if (apiKey === undefined) return undefined;
  const given = (headers['x-goog-api-key'] as string | undefined) ?? query.get('key') ?? undefined;
  if (given === apiKey) return undefined;
  if (given === undefined)
    return googleError(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.");
  return googleError(400, 'API key not valid. Please pass a valid API key.', [
    { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } },
    { '@type': 'type.googleapis.com/google.rpc.DebugInfo', detail: `Invalid API key: ${given}` },
  ]);
}

/** One validated request of a batch. */
interface Item {
  text: string;
  taskType: string;
  dims: number | undefined;
}

function parseItem(r: unknown, i: number, model: string, batch: boolean): Item | SimReply {
  const at = batch ? `requests[${i}].` : '';
  const b = (r ?? {}) as Record<string, unknown>;
  if (batch && b.model !== `models/${model}`) return invalid(`Model in request ${i} (${String(b.model)}) does not match the model in the URL (models/${model}).`);
  const parts = (b.content as { parts?: unknown } | undefined)?.parts;
  if (!Array.isArray(parts) || parts.length === 0) return invalid(`* ${at}content: contents must not be empty`);
  const text = parts.map((p: { text?: unknown }) => (typeof p?.text === 'string' ? p.text : '')).join(' ');
  const taskType = b.taskType ?? 'TASK_TYPE_UNSPECIFIED';
  if (typeof taskType !== 'string' || !TASK_TYPES.includes(taskType))
    return invalid(`Invalid value at '${at}task_type' (type.googleapis.com/google.ai.generativelanguage.v1beta.TaskType), ${JSON.stringify(taskType)}`);
  const dims = b.outputDimensionality;
  if (dims !== undefined && (typeof dims !== 'number' || !Number.isInteger(dims) || dims < 1)) return invalid(`* ${at}output_dimensionality: must be a positive integer`);
  return { text, taskType, dims: dims as number | undefined };
}

function embed(body: unknown, model: string, batch: boolean, state: SimState): SimReply {
  const served = GEMINI_MODELS[model];
  const method = batch ? 'batchEmbedContents' : 'embedContent';
  if (!served) return googleError(404, `models/${model} is not found for API version v1beta, or is not supported for ${method}. Call ListModels to see the list of available models and their supported methods.`);
  const list = batch ? (body as { requests?: unknown } | undefined)?.requests : [body];
  if (!Array.isArray(list) || list.length === 0) return invalid('* BatchEmbedContentsRequest.requests: must not be empty');
  if (list.length > MAX_BATCH) return invalid(`* BatchEmbedContentsRequest.requests: at most ${MAX_BATCH} requests can be in one batch`);
  const items: Item[] = [];
  for (const [i, r] of list.entries()) {
    const item = parseItem(r, i, model, batch);
    if ('status' in item) return item;
    if (item.dims !== undefined && item.dims > served.dims) return invalid(`* ${batch ? `requests[${i}].` : ''}output_dimensionality: must be at most ${served.dims}`);
    items.push(item);
  }
  const tokens = items.map((it) => state.countTokens(it.text));
  const longest = Math.max(...tokens);
  if (longest > served.maxTokens)
    return invalid(`The input token count (${longest}) exceeds the maximum number of tokens allowed (${served.maxTokens}) in request ${tokens.indexOf(longest)}.`);
  const total = tokens.reduce((a, t) => a + t, 0);
  const log = { model, inputs: items.length, ...(items[0]!.dims ? { dimensions: items[0]!.dims } : {}) };
  const fault = state.takeFault();
  if (fault === 'timeout') return { status: 0, hold: true, log: { ...log, fault } };
  if (fault === '500') return { ...googleError(500, 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting'), log: { ...log, fault } };
  if (fault === '429' || fault === 'quota') return { ...quotaExceeded(fault === 'quota', state.knobs.retryAfterMs), log: { ...log, fault } };
  if (fault === 'malformed') return { status: 200, raw: '{"embeddings":[{"values":[0.1,', log: { ...log, fault } };
  const limited = state.window.admit(total, model);
  if (limited) return { ...quotaExceeded(false, Number(limited.headers?.['retry-after-ms'] ?? state.knobs.retryAfterMs)), log };
  const embeddings = items.map((it) => {
    const native = simulatedVector(state, model, served.dims, it.text);
    // Google cuts the vector and does not normalize what is left.
    const size = fault === 'wrong-dims' ? Math.max(1, (it.dims ?? served.dims) >> 1) : (it.dims ?? served.dims);
    return { values: Array.from(native.subarray(0, size)) };
  });
  const usageMetadata = { promptTokenCount: total };
  return {
    status: 200,
    body: batch ? { embeddings, usageMetadata } : { embedding: embeddings[0], usageMetadata },
    log: { ...log, tokens: total, ...(fault ? { fault } : {}) },
  };
}

/** The Gemini routes (prefixed `/gemini`), each checking the key itself. */
export function createGeminiApi(apiKey: string | undefined): { routes: Record<string, Route> } {
  const route: Route = (req, state) => {
    const denied = checkKey(req.headers, req.query, apiKey);
    if (denied) return denied;
    const [model = '', method] = req.params.action!.split(':');
    if (method !== 'batchEmbedContents' && method !== 'embedContent') return googleError(404, `Method ${JSON.stringify(method)} is not served by the simulator.`);
    return embed(req.body, model, method === 'batchEmbedContents', state);
  };
  return { routes: { 'POST /gemini/v1beta/models/:action': route } };
}
