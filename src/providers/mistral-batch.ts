/**
 * Mistral's batch jobs behind the pipeline's OpenAI-shaped {@link BatchBackend}, through the
 * official SDK (`@mistralai/mistralai`: files.upload, batch.jobs.create/get/list/cancel,
 * files.download, here as its standalone functions). What differs from OpenAI's Batch API:
 *   - a request line is `{custom_id, body: {input: [...], output_dimension?}}`; the model is
 *     named once, on the job;
 *   - a job takes a list of input files and a timeout in hours (24, the SDK's default);
 *   - statuses are QUEUED, RUNNING, SUCCESS, FAILED, TIMEOUT_EXCEEDED, CANCELLATION_REQUESTED and
 *     CANCELLED, mapped here onto OpenAI's; `output_file`/`error_file` are the result files;
 *   - the job list pages by number (`page`, `page_size`) and reports `total`.
 * Output lines are `{id, custom_id, response: {status_code, body}, error}`, the shape
 * batch-results.ts reads. Sources: docs/providers.md, "Batch APIs".
 */
import { openAsBlob } from 'node:fs';
import { basename } from 'node:path';
import type { MistralCore } from '@mistralai/mistralai/core.js';
import { batchJobsCancel } from '@mistralai/mistralai/funcs/batchJobsCancel.js';
import { batchJobsCreate } from '@mistralai/mistralai/funcs/batchJobsCreate.js';
import { batchJobsGet } from '@mistralai/mistralai/funcs/batchJobsGet.js';
import { batchJobsList } from '@mistralai/mistralai/funcs/batchJobsList.js';
import { filesDownload } from '@mistralai/mistralai/funcs/filesDownload.js';
import { filesUpload } from '@mistralai/mistralai/funcs/filesUpload.js';
import type { BatchJob } from '@mistralai/mistralai/models/components';
import { redactUrl } from '../config/redact.ts';
import type { BatchBackend, ProviderBatch } from './batch-backend.ts';
import { streamLines, withRewrittenRequests, type RequestLine } from './batch-files.ts';
import type { ErrorContext } from './http-errors.ts';
import { toMistralProviderError } from './mistral-errors.ts';
import { MISTRAL_BASE_URL, mistralCore } from './mistral.ts';
import type { ResolvedModel } from './types.ts';

const STATUS: Record<string, ProviderBatch['status']> = {
  QUEUED: 'validating',
  RUNNING: 'in_progress',
  SUCCESS: 'completed',
  FAILED: 'failed',
  TIMEOUT_EXCEEDED: 'expired',
  CANCELLATION_REQUESTED: 'cancelling',
  CANCELLED: 'cancelled',
};

const PAGE_SIZE = 100;

export class MistralBatchBackend implements BatchBackend {
  readonly #core: MistralCore;
  readonly #model: ResolvedModel;
  readonly #errors: ErrorContext;

  constructor(model: ResolvedModel, opts: { apiKey: string; baseUrl?: string | undefined; timeoutMs?: number }) {
    const serverURL = opts.baseUrl ?? MISTRAL_BASE_URL;
    const timeoutMs = opts.timeoutMs ?? 120_000;
    this.#core = mistralCore({ apiKey: opts.apiKey, serverURL, timeoutMs });
    this.#model = model;
    this.#errors = { name: `mistral batch (${model.spec.model})`, baseUrl: redactUrl(serverURL), timeoutMs, apiKey: opts.apiKey };
  }

  async upload(path: string): Promise<string> {
    const { dims, dimAdapter } = this.#model;
    const toRecords = (req: RequestLine) => [{ custom_id: req.custom_id, body: { input: req.body.input, ...(dimAdapter === 'provider' ? { output_dimension: dims } : {}) } }];
    return withRewrittenRequests(path, toRecords, async (rewritten) => {
      // A file-backed Blob, read from disk as the SDK builds the form.
      const file = new File([await openAsBlob(rewritten)], basename(rewritten), { type: 'application/jsonl' });
      const uploaded = await this.#call(() => filesUpload(this.#core, { file, purpose: 'batch' }));
      return uploaded.id;
    });
  }

  async create(inputFileId: string, metadata: Record<string, string>): Promise<ProviderBatch> {
    return toBatch(await this.#call(() => batchJobsCreate(this.#core, { inputFiles: [inputFileId], endpoint: '/v1/embeddings', model: this.#model.spec.model, metadata, timeoutHours: 24 })));
  }

  /** A job we created earlier, found by our metadata among the newest `maxPages` pages of jobs. */
  async findByMetadata(key: string, value: string, maxPages = 5): Promise<ProviderBatch | undefined> {
    for (let page = 0; page < maxPages; page++) {
      const list = await this.#call(() => batchJobsList(this.#core, { page, pageSize: PAGE_SIZE, orderBy: '-created' }));
      const hit = list.data?.find((j) => j.metadata?.[key] === value);
      if (hit) return toBatch(hit);
      if (!list.data?.length || (page + 1) * PAGE_SIZE >= list.total) return undefined;
    }
    return undefined;
  }

  async retrieve(id: string): Promise<ProviderBatch> {
    return toBatch(await this.#call(() => batchJobsGet(this.#core, { jobId: id })));
  }

  async cancel(id: string): Promise<ProviderBatch> {
    return toBatch(await this.#call(() => batchJobsCancel(this.#core, { jobId: id })));
  }

  async *lines(fileId: string): AsyncGenerator<string> {
    yield* streamLines(await this.#call(() => filesDownload(this.#core, { fileId })));
  }

  /** Runs one SDK call; a failed result becomes embedq's ProviderError. */
  async #call<T>(fn: () => Promise<{ ok: true; value: T } | { ok: false; error: unknown }>): Promise<T> {
    let r: Awaited<ReturnType<typeof fn>>;
    try {
      r = await fn();
    } catch (e) {
      throw toMistralProviderError(e, this.#errors);
    }
    if (!r.ok) throw toMistralProviderError(r.error, this.#errors);
    return r.value;
  }
}

function toBatch(job: BatchJob): ProviderBatch {
  return {
    id: job.id,
    status: STATUS[job.status] ?? 'in_progress',
    input_file_id: job.inputFiles[0] ?? '',
    output_file_id: job.outputFile ?? undefined,
    error_file_id: job.errorFile ?? undefined,
    request_counts: { total: job.totalRequests, completed: job.succeededRequests, failed: job.failedRequests },
    errors: job.errors.length ? { object: 'list', data: job.errors.map((e) => ({ code: 'batch_job_error', message: e.count > 1 ? `${e.message} (${e.count} times)` : e.message })) } : undefined,
    metadata: (job.metadata as Record<string, string> | null | undefined) ?? null,
  };
}
