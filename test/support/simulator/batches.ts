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
import type { SimRequest } from './index.ts';
import type { Route, SimReply, SimState } from './route-types.ts';
import { validateBatchInput, type BatchError, type LineFormat } from './batch-input.ts';
import { advance as advanceBatch, batchObject, processedAt, type BatchStatus, type SimBatch } from './batch-lifecycle.ts';
import { decideOutcomes, openaiLine, processingOrder, renderResults, SERVER_ERROR, type LineAnswer } from './batch-output.ts';
import { apiError } from './embeddings.ts';
import { createFileApi, openaiFileObject, type FileStats, type SimFile } from './files.ts';
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

/** What a create request asks for, once the provider's own checks passed. */
export interface CreateParts {
  endpoint: string;
  inputFileId: string;
  metadata: Record<string, string> | null;
  /** Where the lines get their model and batch-wide parameters. */
  format: LineFormat;
}

/**
 * One provider's batch API on the shared machinery (files, validation, lifecycle by the clock,
 * outcomes, output files): its routes, its create body, how a line is answered, and how a batch
 * and a list of them look on the wire. OpenAI's is {@link OPENAI_BATCHES}; Voyage's and Mistral's
 * sit beside their sync routes (voyage-batches.ts, mistral-batches.ts).
 */
export interface BatchDialect {
  /** Route prefix on the simulator: '' for OpenAI, '/voyage', '/mistral'. */
  prefix: string;
  /** The batches collection under the prefix: `/v1/batches`, or Mistral's `/v1/batch/jobs`. */
  collection: string;
  /** The provider's error reply. */
  error(status: number, message: string, param?: string | null): SimReply;
  /** Checks a create body; the batch's parts, or the provider's refusal. */
  readCreate(body: Record<string, unknown>): CreateParts | SimReply;
  /** Answers a line as the provider's sync endpoint would. */
  answer: LineAnswer;
  /** The body of a line failed on purpose (`batchFailFraction`). */
  serverError: unknown;
  /** A batch as the API returns it. */
  render(b: SimBatch, now: number): Record<string, unknown>;
  /** `GET collection`: a page of the batches (newest first), rendered. */
  list(all: SimBatch[], req: SimRequest, now: number, advance: (b: SimBatch) => void): SimReply;
  /** A stored file as the Files API returns it. */
  fileObject(f: SimFile): Record<string, unknown>;
  /** `cancel` on a batch that already stopped. */
  notCancellable(status: string): SimReply;
}

const ENDPOINTS = ['/v1/responses', '/v1/chat/completions', '/v1/embeddings', '/v1/completions', '/v1/moderations', '/v1/images/generations', '/v1/images/edits', '/v1/videos'];
const invalid = (message: string, param: string | null = null) => apiError(400, message, 'invalid_request_error', null, param);

export function metadataError(m: unknown): string | undefined {
  if (m === undefined || m === null) return undefined;
  if (typeof m !== 'object' || Array.isArray(m)) return "Invalid 'metadata': expected an object of string values.";
  const entries = Object.entries(m);
  if (entries.length > 16) return `Invalid 'metadata': at most 16 pairs, got ${entries.length}.`;
  const bad = entries.find(([k, v]) => k.length > 64 || typeof v !== 'string' || v.length > 512);
  return bad ? `Invalid 'metadata.${bad[0]}': keys are at most 64 characters and values strings of at most 512.` : undefined;
}

/** A page of `GET /v1/batches` as OpenAI lists it: `limit` (1 to 100, 20 by default) after the cursor `after`. */
export function cursorPage(all: SimBatch[], req: SimRequest, advance: (b: SimBatch) => void, render: (b: SimBatch) => unknown, invalid: (message: string, param: string) => SimReply): SimReply {
  const limit = intParam(req.query, 'limit', 20, 1, 100);
  if (limit === undefined) return invalid("Invalid 'limit': expected an integer from 1 to 100.", 'limit');
  let list = all;
  const after = req.query.get('after');
  if (after) list = list.slice(list.findIndex((b) => b.id === after) + 1);
  const page = list.slice(0, limit);
  for (const b of page) advance(b);
  return { status: 200, body: { object: 'list', data: page.map(render), first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null, has_more: list.length > limit } };
}

/** OpenAI's Batch API. */
export const OPENAI_BATCHES: BatchDialect = {
  prefix: '',
  collection: '/v1/batches',
  error: (status, message, param = null) => apiError(status, message, 'invalid_request_error', null, param),
  readCreate(body) {
    if (typeof body.input_file_id !== 'string') return invalid("Missing required parameter: 'input_file_id'.", 'input_file_id');
    if (typeof body.endpoint !== 'string' || !ENDPOINTS.includes(body.endpoint)) return invalid(`Invalid value for 'endpoint': expected one of ${ENDPOINTS.join(', ')}.`, 'endpoint');
    if (body.endpoint !== '/v1/embeddings') return invalid(`The simulator runs '/v1/embeddings' batches only, not '${body.endpoint}'.`, 'endpoint');
    if (body.completion_window !== '24h') return invalid(`Invalid value for 'completion_window': expected '24h', got ${JSON.stringify(body.completion_window ?? null)}.`, 'completion_window');
    const metaProblem = metadataError(body.metadata);
    if (metaProblem) return invalid(metaProblem, 'metadata');
    return { endpoint: body.endpoint, inputFileId: body.input_file_id, metadata: (body.metadata as Record<string, string> | undefined) ?? null, format: { kind: 'openai' } };
  },
  answer: openaiLine,
  serverError: SERVER_ERROR,
  render: (b, now) => batchObject(b, now),
  list: (all, req, now, advance) => cursorPage(all, req, advance, (b) => batchObject(b, now), invalid),
  fileObject: openaiFileObject,
  notCancellable: (status) => invalid(`Cannot cancel a batch with status '${status}'.`),
};

/** Files and batches of one provider (OpenAI's unless told), their routes and their counters. */
export function createBatchApi(state: SimState, dialect: BatchDialect = OPENAI_BATCHES): { routes: Record<string, Route>; stats(now?: number): BatchStats; clear(): void } {
  const d = dialect;
  const files = createFileApi({ prefix: d.prefix, object: d.fileObject, error: d.error });
  const batches = new Map<string, SimBatch>();
  let seq = 0;
  let served = { batchesCreated: 0, requests: 0, inputs: 0, tokens: 0 };

  /** Writes the output and error files for the first `processed` lines. */
  const finish = (b: SimBatch, processed: number, expireRest: boolean) => {
    const r = renderResults(b.input.lines, b.outcomes, b.order, processed, expireRest, b.faults);
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
      return d.error(
        403,
        "You have insufficient permissions for this operation. Missing scopes: api.batch.write. Check that you have the correct role in your organization (Reader, Writer, Owner) and project (Member, Owner), and if you're using a restricted API key, that it has the necessary scopes.",
      );
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body)) return d.error(400, 'The request body must be a JSON object.');
    const parts = d.readCreate(body);
    if ('status' in parts) return parts;
    const file = files.store.get(parts.inputFileId);
    if (!file) return d.error(400, `Invalid 'input_file_id': no file with id '${parts.inputFileId}'.`, 'input_file_id');
    if (file.purpose !== 'batch') return d.error(400, `The input file must have purpose 'batch'; ${file.id} has purpose '${file.purpose}'.`, 'input_file_id');
    const now = state.now();
    const input = validateBatchInput(file.data.toString('utf8'), parts.endpoint, { maxRequests: k.batchMaxRequests, maxInputs: k.batchMaxInputs }, state.countTokens, parts.format);
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
      endpoint: parts.endpoint,
      inputFileId: file.id,
      metadata: parts.metadata,
      createdMs: now,
      plan: { batchValidatingMs: k.batchValidatingMs, batchInProgressMs: k.batchInProgressMs, batchFinalizingMs: k.batchFinalizingMs, batchCancellingMs: k.batchCancellingMs, batchExpire: k.batchExpire, batchStuckFinalizing: k.batchStuckFinalizing },
      faults: { wrongDims: k.batchWrongDims, malformedLine: k.batchMalformedLine, missingCustomIds: k.batchMissingCustomIds },
      input,
      outcomes: input.errors.length ? [] : decideOutcomes(input.lines, state, k.batchFailFraction, d.answer, d.serverError),
      order: processingOrder(input.lines),
      status: 'validating',
      at: {},
    };
    batches.set(id, b);
    served.batchesCreated++;
    return { status: 200, body: d.render(b, now), ...(input.model ? { log: { model: input.model } } : {}) };
  };

  const c = `${d.prefix}${d.collection}`;
  const noSuchBatch = (id: string) => d.error(404, `No such Batch object: ${id}`, 'id');
  const routes: Record<string, Route> = {
    ...files.routes,
    [`POST ${c}`]: create,
    [`GET ${c}/:id`]: (req) => {
      const b = batches.get(req.params.id!);
      if (!b) return noSuchBatch(req.params.id!);
      const now = state.now();
      advance(b, now);
      return { status: 200, body: d.render(b, now) };
    },
    [`GET ${c}`]: (req) => {
      const now = state.now();
      return d.list([...batches.values()].sort((a, b) => b.seq - a.seq), req, now, (b) => advance(b, now));
    },
    [`POST ${c}/:id/cancel`]: (req) => {
      const b = batches.get(req.params.id!);
      if (!b) return noSuchBatch(req.params.id!);
      const now = state.now();
      advance(b, now);
      if (b.status === 'validating' || b.status === 'in_progress' || b.status === 'finalizing') {
        b.stoppedAfter = processedAt(b, now);
        b.status = 'cancelling';
        b.at.cancelling = now;
      } else if (b.status !== 'cancelling') return d.notCancellable(b.status);
      return { status: 200, body: d.render(b, now) };
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
