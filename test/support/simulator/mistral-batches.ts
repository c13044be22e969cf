/**
 * The simulator's Mistral batch jobs for `/v1/embeddings`, under `/mistral` beside its embeddings
 * route, in the wire format the official SDK (`@mistralai/mistralai` 2.x) validates: files
 * uploaded with purpose `batch` (the file object with `sample_type` and `source`), jobs created
 * from `input_files` with the model on the job, `GET /v1/batch/jobs` paged by number, cancel, and
 * results read from `GET /v1/files/{id}/content`. A job's statuses are the OpenAI simulator's
 * lifecycle under Mistral's names (QUEUED, RUNNING, SUCCESS, FAILED, TIMEOUT_EXCEEDED,
 * CANCELLATION_REQUESTED, CANCELLED), with `total/succeeded/failed_requests`. Request lines are
 * `{custom_id, body: {input, output_dimension?}}`; output lines `{id, custom_id, response:
 * {status_code, body}, error}`. The simulator takes one input file per job (embedq sends one).
 */
import { createBatchApi, metadataError, type BatchDialect } from './batches.ts';
import { batchObject, type BatchStatus, type SimBatch } from './batch-lifecycle.ts';
import { openaiFileObject } from './files.ts';
import { intParam } from './http.ts';
import { MISTRAL_PREFIX, mistralError, mistralResponse, readMistralRequest } from './mistral.ts';
import type { SimState } from './route-types.ts';

const STATUS: Record<BatchStatus, string> = {
  validating: 'QUEUED',
  in_progress: 'RUNNING',
  finalizing: 'RUNNING',
  completed: 'SUCCESS',
  failed: 'FAILED',
  expired: 'TIMEOUT_EXCEEDED',
  cancelling: 'CANCELLATION_REQUESTED',
  cancelled: 'CANCELLED',
};

const seconds = (v: unknown) => (typeof v === 'number' ? v : null);
const invalid = (message: string, param: string | null = null) => mistralError(400, message, 'invalid_request_error', null, param);

function render(b: SimBatch, now: number): Record<string, unknown> {
  const o = batchObject(b, now);
  const counts = o.request_counts as { total: number; completed: number; failed: number };
  const errors = (o.errors as { data: { message: string }[] } | null)?.data ?? [];
  return {
    id: b.id,
    object: 'batch',
    input_files: [b.inputFileId],
    metadata: b.metadata,
    endpoint: b.endpoint,
    model: b.input.model ?? null,
    output_file: o.output_file_id,
    error_file: o.error_file_id,
    errors: errors.map((e) => ({ message: e.message, count: 1 })),
    status: STATUS[b.status],
    created_at: o.created_at,
    total_requests: counts.total,
    completed_requests: counts.completed + counts.failed,
    succeeded_requests: counts.completed,
    failed_requests: counts.failed,
    started_at: seconds(o.in_progress_at),
    completed_at: seconds(o.completed_at ?? o.failed_at ?? o.expired_at ?? o.cancelled_at),
  };
}

export const MISTRAL_BATCHES: BatchDialect = {
  prefix: MISTRAL_PREFIX,
  collection: '/v1/batch/jobs',
  error: (status, message, param = null) => mistralError(status, message, status === 404 ? 'not_found_error' : 'invalid_request_error', null, param),
  readCreate(body) {
    const files = body.input_files;
    if (!Array.isArray(files) || files.length === 0 || files.some((f) => typeof f !== 'string')) return invalid('input_files: a non-empty list of file ids is required', 'input_files');
    if (files.length > 1) return invalid('The simulator takes one input file per job.', 'input_files');
    if (body.endpoint !== '/v1/embeddings') return invalid(`The simulator runs '/v1/embeddings' jobs only, not ${JSON.stringify(body.endpoint ?? null)}.`, 'endpoint');
    if (typeof body.model !== 'string' || body.model === '') return invalid('model is required for a batch job on /v1/embeddings', 'model');
    if (body.timeout_hours !== undefined && (!Number.isInteger(body.timeout_hours) || (body.timeout_hours as number) < 1)) return invalid('timeout_hours must be a positive integer', 'timeout_hours');
    const metaProblem = metadataError(body.metadata);
    if (metaProblem) return invalid(metaProblem, 'metadata');
    return { endpoint: body.endpoint, inputFileId: files[0] as string, metadata: (body.metadata as Record<string, string> | undefined) ?? null, format: { kind: 'body-only', params: { model: body.model } } };
  },
  answer(body, state: SimState) {
    const r = readMistralRequest(body, state);
    if ('status' in r) return { ok: false, status: r.status, body: r.body };
    return { ok: true, inputs: r.inputs.length, tokens: r.total, body: (wrong) => mistralResponse(state, r, wrong) };
  },
  serverError: { object: 'error', message: 'Internal server error', type: 'server_error', param: null, code: null },
  render,
  list(all, req, now, advance) {
    const page = intParam(req.query, 'page', 0, 0, 1_000_000);
    const size = intParam(req.query, 'page_size', 100, 1, 1000);
    if (page === undefined || size === undefined) return invalid('page and page_size must be integers (page from 0, page_size from 1 to 1000)');
    const asc = req.query.get('order_by') === 'created';
    const sorted = asc ? [...all].reverse() : all;
    const slice = sorted.slice(page * size, (page + 1) * size);
    for (const b of slice) advance(b);
    return { status: 200, body: { object: 'list', data: slice.map((b) => render(b, now)), total: all.length } };
  },
  fileObject(f) {
    const { id, bytes, created_at, filename, purpose } = openaiFileObject(f);
    const sampleType = purpose === 'batch' ? 'batch_request' : filename && String(filename).endsWith('_error.jsonl') ? 'batch_error' : 'batch_result';
    return { id, object: 'file', bytes, created_at, filename, purpose: purpose === 'batch_output' ? 'batch' : purpose, sample_type: sampleType, num_lines: f.data.toString('utf8').split('\n').filter((l) => l.trim()).length, mimetype: 'application/jsonl', source: purpose === 'batch' ? 'upload' : 'mistral' };
  },
  notCancellable: (status) => invalid(`Cannot cancel a job with status ${STATUS[status as BatchStatus] ?? status}.`),
};

/** Mistral's files and batch jobs on the simulator. */
export const createMistralBatchApi = (state: SimState) => createBatchApi(state, MISTRAL_BATCHES);
