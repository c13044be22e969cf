/**
 * The simulator's Voyage Batch API, under `/voyage` beside its embeddings route. Voyage's Files
 * and Batches APIs follow OpenAI's specification (so the `openai` SDK drives them with Voyage's
 * base URL), with these differences, as MongoDB's Voyage Batch API guide shows them
 * (mongodb-developer/GenAI-Showcase, tools/voyageai_batch_api, run 2025-12-01):
 *   - a line is `{custom_id, body: {input: [...]}}`, with no `method`, `url` or model;
 *   - the model and its parameters (`input_type`, `output_dimension`, `output_dtype`) come once,
 *     as `request_params` of the create call, and `completion_window` is `12h`;
 *   - timestamps are ISO 8601 strings, and the batch carries `expected_completion_at`;
 *   - an output line is `{custom_id, response: {status_code, body}}` with the embeddings body as
 *     the sync endpoint returns it (`usage.total_tokens`).
 * The lifecycle, outcomes and fault knobs are the OpenAI batch simulator's (batches.ts). Errors
 * are Voyage's `{detail}`; their wording is the simulator's.
 */
import { createBatchApi, cursorPage, metadataError, type BatchDialect } from './batches.ts';
import { batchObject } from './batch-lifecycle.ts';
import { openaiFileObject } from './files.ts';
import type { SimState } from './route-types.ts';
import { readVoyageRequest, VOYAGE_PREFIX, voyageError, voyageResponse } from './voyage.ts';

const HOUR_MS = 3_600_000;
const iso = (seconds: unknown) => (typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : seconds);
const invalid = (message: string) => voyageError(400, message);

function render(b: Parameters<BatchDialect['render']>[0], now: number): Record<string, unknown> {
  const o = batchObject(b, now);
  const due = (o.created_at as number) + (12 * HOUR_MS) / 1000;
  for (const k of Object.keys(o)) if (k.endsWith('_at')) o[k] = iso(o[k]);
  return { ...o, completion_window: '12h', expires_at: iso(due), expected_completion_at: iso(due) };
}

export const VOYAGE_BATCHES: BatchDialect = {
  prefix: VOYAGE_PREFIX,
  collection: '/v1/batches',
  error: (status, message) => voyageError(status, message),
  readCreate(body) {
    if (typeof body.input_file_id !== 'string') return invalid('input_file_id is required');
    if (body.endpoint !== '/v1/embeddings') return invalid(`The simulator runs '/v1/embeddings' batches only, not ${JSON.stringify(body.endpoint ?? null)}.`);
    if (body.completion_window !== '12h') return invalid(`completion_window must be "12h"; got ${JSON.stringify(body.completion_window ?? null)}`);
    const params = body.request_params;
    if (typeof params !== 'object' || params === null || Array.isArray(params) || typeof (params as { model?: unknown }).model !== 'string')
      return invalid('request_params.model is required: a batch names its model once, for every line');
    const metaProblem = metadataError(body.metadata);
    if (metaProblem) return invalid(metaProblem);
    return { endpoint: body.endpoint, inputFileId: body.input_file_id, metadata: (body.metadata as Record<string, string> | undefined) ?? null, format: { kind: 'body-only', params: params as Record<string, unknown> } };
  },
  answer(body, state: SimState) {
    const r = readVoyageRequest(body, state);
    if ('status' in r) return { ok: false, status: r.status, body: r.body };
    return { ok: true, inputs: r.texts.length, tokens: r.total, body: (wrong) => voyageResponse(state, r, wrong) };
  },
  serverError: { detail: 'Internal server error. Please retry after a brief wait.' },
  render,
  list: (all, req, now, advance) => cursorPage(all, req, advance, (b) => render(b, now), (m) => invalid(m)),
  fileObject: (f) => {
    const o = openaiFileObject(f);
    return { ...o, created_at: iso(o.created_at), expires_at: iso((o.created_at as number) + (30 * 24 * HOUR_MS) / 1000) };
  },
  notCancellable: (status) => invalid(`Cannot cancel a batch with status '${status}'.`),
};

/** Voyage's files and batches on the simulator. */
export const createVoyageBatchApi = (state: SimState) => createBatchApi(state, VOYAGE_BATCHES);
