/**
 * The simulator's OpenAI Batch API for `/v1/embeddings`: create, retrieve, list (newest first,
 * cursor `after`), cancel. A batch moves through its statuses by the clock, not by being polled
 * a certain number of times: `validating` for `batchValidatingMs`, then `failed` (with
 * `errors.data`) or `in_progress` for `batchInProgressMs` (request_counts grow), `finalizing` for
 * `batchFinalizingMs`, then `completed` with its output and error files. Time is evaluated when
 * a batch is read, so no timers run and nothing outlives `close()`; the knobs in force when a
 * batch is created decide its whole life.
 *
 *   sim.set({ batchFailFraction: 0.1 });   // 10% of lines fail with a 500 (in the error file)
 *   sim.set({ batchExpire: true });        // half the lines done, the rest `batch_expired`
 */
import type { Route, SimState } from './route-types.ts';
import { validateBatchInput, type BatchError } from './batch-input.ts';
import { advance as advanceBatch, batchObject, processedAt, type BatchStatus, type SimBatch } from './batch-lifecycle.ts';
import { decideOutcomes, processingOrder, renderResults } from './batch-output.ts';
import { apiError } from './embeddings.ts';
import { createFileApi, type FileStats } from './files.ts';
import { intParam, newId } from './http.ts';

export { BATCH_STATUSES, type BatchStatus } from './batch-lifecycle.ts';

/** Settable with the other knobs; read when a batch is created. */
export interface BatchKnobs {
  /** @default 50 */
  batchValidatingMs: number;
  /** @default 200 */
  batchInProgressMs: number;
  /** @default 50 */
  batchFinalizingMs: number;
  /** From `cancelling` to `cancelled`. @default 50 */
  batchCancellingMs: number;
  /** Fraction of the otherwise valid request lines that fail with a 500 (exact, rounded). @default 0 */
  batchFailFraction: number;
  /** The batch stops halfway and goes `expired`: partial output, the rest `batch_expired` in the error file. @default false */
  batchExpire: boolean;
  /** The batch never leaves `finalizing` (until cancelled). @default false */
  batchStuckFinalizing: boolean;
  /** Fail validation whatever the file: `true` for a generic error, or the error entry to report. @default false */
  batchValidationError: boolean | BatchError;
  /** Output vectors half the requested size. @default false */
  batchWrongDims: boolean;
  /** One output line cut in half. @default false */
  batchMalformedLine: boolean;
  /** This many output lines silently left out (request_counts still count them). @default 0 */
  batchMissingCustomIds: number;
  /** POST /v1/batches answers 403, like a restricted key without batch permission. @default false */
  noBatchPermission: boolean;
  /** @default 50_000 */
  batchMaxRequests: number;
  /** Embedding inputs summed over all lines. @default 50_000 */
  batchMaxInputs: number;
  /** Tokens of all batches validating or running at once (OpenAI's per-model enqueued limit); 0 = unlimited. @default 0 */
  batchEnqueuedTokenLimit: number;
}

export const DEFAULT_BATCH_KNOBS: BatchKnobs = {
  batchValidatingMs: 50,
  batchInProgressMs: 200,
  batchFinalizingMs: 50,
  batchCancellingMs: 50,
  batchFailFraction: 0,
  batchExpire: false,
  batchStuckFinalizing: false,
  batchValidationError: false,
  batchWrongDims: false,
  batchMalformedLine: false,
  batchMissingCustomIds: 0,
  noBatchPermission: false,
  batchMaxRequests: 50_000,
  batchMaxInputs: 50_000,
  batchEnqueuedTokenLimit: 0,
};

export interface BatchStats extends FileStats {
  batchesCreated: number;
  /** Batches now in each status. */
  byStatus: Partial<Record<BatchStatus, number>>;
  /** Request lines, embedding inputs and tokens answered in output files. */
  requests: number;
  inputs: number;
  tokens: number;
}

const ENDPOINTS = ['/v1/responses', '/v1/chat/completions', '/v1/embeddings', '/v1/completions', '/v1/moderations', '/v1/images/generations', '/v1/images/edits', '/v1/videos'];
const invalid = (message: string, param: string | null = null) => apiError(400, message, 'invalid_request_error', null, param);
const noSuchBatch = (id: string) => apiError(404, `No such Batch object: ${id}`, 'invalid_request_error', null, 'id');

function metadataError(m: unknown): string | undefined {
  if (m === undefined || m === null) return undefined;
  if (typeof m !== 'object' || Array.isArray(m)) return "Invalid 'metadata': expected an object of string values.";
  const entries = Object.entries(m);
  if (entries.length > 16) return `Invalid 'metadata': at most 16 pairs, got ${entries.length}.`;
  const bad = entries.find(([k, v]) => k.length > 64 || typeof v !== 'string' || v.length > 512);
  return bad ? `Invalid 'metadata.${bad[0]}': keys are at most 64 characters and values strings of at most 512.` : undefined;
}

/** Files and batches, their routes and their counters. */
export function createBatchApi(state: SimState): { routes: Record<string, Route>; stats(now?: number): BatchStats; clear(): void } {
  const files = createFileApi();
  const batches = new Map<string, SimBatch>();
  let seq = 0;
  let served = { batchesCreated: 0, requests: 0, inputs: 0, tokens: 0 };

  /** Writes the output and error files for the first `processed` lines. */
  const finish = (b: SimBatch, processed: number, expireRest: boolean) => {
    const r = renderResults(state, b.input.lines, b.outcomes, b.order, processed, expireRest, b.faults);
    const write = (lines: string[], kind: string) => (lines.length ? files.store.add(Buffer.from(`${lines.join('\n')}\n`), `${b.id}_${kind}.jsonl`, 'batch_output').id : undefined);
    b.outputFileId = write(r.output, 'output');
    b.errorFileId = write(r.errors, 'error');
    served.requests += r.output.length;
    served.inputs += r.inputs;
    served.tokens += r.tokens;
  };
  const advance = (b: SimBatch, now: number) => advanceBatch(b, now, finish);

  /** Tokens of the batches that hold enqueued capacity now. */
  const enqueuedTokens = (now: number, model: string | undefined) => {
    let sum = 0;
    for (const b of batches.values()) {
      advance(b, now);
      if ((b.status === 'validating' || b.status === 'in_progress' || b.status === 'finalizing') && b.input.model === model) sum += b.input.tokens;
    }
    return sum;
  };

  const create: Route = (req) => {
    const k = state.knobs;
    if (k.noBatchPermission)
      return apiError(
        403,
        "You have insufficient permissions for this operation. Missing scopes: api.batch.write. Check that you have the correct role in your organization (Reader, Writer, Owner) and project (Member, Owner), and if you're using a restricted API key, that it has the necessary scopes.",
        'invalid_request_error',
      );
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body)) return invalid('The request body must be a JSON object.');
    if (typeof body.input_file_id !== 'string') return invalid("Missing required parameter: 'input_file_id'.", 'input_file_id');
    if (typeof body.endpoint !== 'string' || !ENDPOINTS.includes(body.endpoint)) return invalid(`Invalid value for 'endpoint': expected one of ${ENDPOINTS.join(', ')}.`, 'endpoint');
    if (body.endpoint !== '/v1/embeddings') return invalid(`The simulator runs '/v1/embeddings' batches only, not '${body.endpoint}'.`, 'endpoint');
    if (body.completion_window !== '24h') return invalid(`Invalid value for 'completion_window': expected '24h', got ${JSON.stringify(body.completion_window ?? null)}.`, 'completion_window');
    const metaProblem = metadataError(body.metadata);
    if (metaProblem) return invalid(metaProblem, 'metadata');
    const file = files.store.get(body.input_file_id);
    if (!file) return invalid(`Invalid 'input_file_id': no file with id '${body.input_file_id}'.`, 'input_file_id');
    if (file.purpose !== 'batch') return invalid(`The input file must have purpose 'batch'; ${file.id} has purpose '${file.purpose}'.`, 'input_file_id');
    const now = state.now();
    const input = validateBatchInput(file.data.toString('utf8'), body.endpoint, { maxRequests: k.batchMaxRequests, maxInputs: k.batchMaxInputs }, state.countTokens);
    if (input.errors.length === 0 && k.batchValidationError)
      input.errors.push(k.batchValidationError === true ? { code: 'invalid_request', line: null, message: 'The batch input file could not be validated (simulated: batchValidationError).', param: null } : k.batchValidationError);
    if (input.errors.length === 0 && k.batchEnqueuedTokenLimit > 0 && enqueuedTokens(now, input.model) + input.tokens > k.batchEnqueuedTokenLimit)
      input.errors.push({
        code: 'token_limit_exceeded',
        line: null,
        message: `Enqueued token limit reached for ${input.model} in organization org-simulator. Limit: ${k.batchEnqueuedTokenLimit.toLocaleString('en-US')} enqueued tokens. Please try again once some in_progress batches have been completed.`,
        param: null,
      });
    const id = newId('batch_', 32);
    const b: SimBatch = {
      seq: seq++,
      id,
      endpoint: body.endpoint,
      inputFileId: file.id,
      metadata: (body.metadata as Record<string, string> | undefined) ?? null,
      createdMs: now,
      plan: { batchValidatingMs: k.batchValidatingMs, batchInProgressMs: k.batchInProgressMs, batchFinalizingMs: k.batchFinalizingMs, batchCancellingMs: k.batchCancellingMs, batchExpire: k.batchExpire, batchStuckFinalizing: k.batchStuckFinalizing },
      faults: { wrongDims: k.batchWrongDims, malformedLine: k.batchMalformedLine, missingCustomIds: k.batchMissingCustomIds },
      input,
      outcomes: input.errors.length ? [] : decideOutcomes(input.lines, state, k.batchFailFraction),
      order: processingOrder(input.lines),
      status: 'validating',
      at: {},
    };
    batches.set(id, b);
    served.batchesCreated++;
    return { status: 200, body: batchObject(b, now), ...(input.model ? { log: { model: input.model } } : {}) };
  };

  const routes: Record<string, Route> = {
    ...files.routes,
    'POST /v1/batches': create,
    'GET /v1/batches/:id': (req) => {
      const b = batches.get(req.params.id!);
      if (!b) return noSuchBatch(req.params.id!);
      const now = state.now();
      advance(b, now);
      return { status: 200, body: batchObject(b, now) };
    },
    'GET /v1/batches': (req) => {
      const limit = intParam(req.query, 'limit', 20, 1, 100);
      if (limit === undefined) return invalid("Invalid 'limit': expected an integer from 1 to 100.", 'limit');
      const now = state.now();
      let list = [...batches.values()].sort((a, b) => b.seq - a.seq);
      const after = req.query.get('after');
      if (after) list = list.slice(list.findIndex((b) => b.id === after) + 1);
      const page = list.slice(0, limit);
      for (const b of page) advance(b, now);
      return { status: 200, body: { object: 'list', data: page.map((b) => batchObject(b, now)), first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null, has_more: list.length > limit } };
    },
    'POST /v1/batches/:id/cancel': (req) => {
      const b = batches.get(req.params.id!);
      if (!b) return noSuchBatch(req.params.id!);
      const now = state.now();
      advance(b, now);
      if (b.status === 'validating' || b.status === 'in_progress' || b.status === 'finalizing') {
        b.stoppedAfter = processedAt(b, now);
        b.status = 'cancelling';
        b.at.cancelling = now;
      } else if (b.status !== 'cancelling') return invalid(`Cannot cancel a batch with status '${b.status}'.`);
      return { status: 200, body: batchObject(b, now) };
    },
  };

  return {
    routes,
    stats(now = state.now()) {
      const byStatus: Partial<Record<BatchStatus, number>> = {};
      for (const b of batches.values()) {
        advance(b, now);
        byStatus[b.status] = (byStatus[b.status] ?? 0) + 1;
      }
      return { ...files.store.stats(), ...served, byStatus };
    },
    clear() {
      files.store.clear();
      batches.clear();
      served = { batchesCreated: 0, requests: 0, inputs: 0, tokens: 0 };
    },
  };
}
