/**
 * Cohere's Embed Jobs (its batch API), through the official SDK: a JSONL file of
 * `{text, custom_id}` uploaded as an `embed-input` dataset (with `keep_fields=custom_id`, so every
 * result names its input), validation polled, a job per dataset, and the `embed-result` dataset
 * read back part by part: each part's URL is fetched and its Avro records decoded as they
 * stream in, so at most one block of one part is in memory.
 *
 * Limits (shared/reference/provider-apis.md): datasets up to 1.5 GB, deleted after 30 days;
 * only the v3.0 models are documented for embed jobs; a cancelled job returns no results.
 */
import { openAsBlob } from 'node:fs';
import { basename } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { CohereClientV2, type Cohere } from 'cohere-ai';
import { NonRetryableError, ProviderError } from '../errors.ts';
import { readAvroContainer } from './avro.ts';
import { toCohereProviderError } from './cohere-errors.ts';
import { COHERE_BASE_URL } from './cohere.ts';
import type { ErrorContext } from './http-errors.ts';

const NO_RETRY = { maxRetries: 0 } as const;

export interface CohereEmbedJobsOptions {
  apiKey: string;
  /** @default https://api.cohere.com */
  baseUrl?: string | undefined;
  /** Per API call (uploads included). @default 120_000 */
  timeoutMs?: number;
  /** Between polls of a dataset's validation. @default 2_000 */
  pollIntervalMs?: number;
  /** Used for the API and for downloading result parts. @default globalThis.fetch */
  fetch?: typeof fetch;
}

export type EmbedJobStatus = Cohere.EmbedJobStatus;

export interface CohereEmbedJob {
  id: string;
  /** The name given at creation: how a job created but never recorded is found again. */
  name?: string;
  status: EmbedJobStatus;
  model: string;
  inputDatasetId: string;
  /** Set once the job is `complete`. */
  outputDatasetId?: string;
  billedTokens?: number;
  /** Why a `failed` or `cancelled` job has no results, as far as Cohere says. */
  error?: string;
}

/** One output record: its vector (as Cohere returned it, not normalized), or why there is none. */
export type EmbedJobResult = { customId: string; vector: Float32Array } | { customId: string; error: string };

export class CohereEmbedJobsClient {
  readonly #client: CohereClientV2;
  readonly #fetch: typeof fetch;
  readonly #pollMs: number;
  readonly #errors: ErrorContext;

  constructor(opts: CohereEmbedJobsOptions) {
    const baseUrl = opts.baseUrl ?? COHERE_BASE_URL;
    const timeoutMs = opts.timeoutMs ?? 120_000;
    // The SDK retries reads itself; the two creating calls opt out (a retried create could bill twice).
    this.#client = new CohereClientV2({ token: opts.apiKey, baseUrl, maxRetries: 2, timeoutInSeconds: timeoutMs / 1000, clientName: 'embedq', ...(opts.fetch ? { fetch: opts.fetch } : {}) });
    this.#fetch = opts.fetch ?? globalThis.fetch;
    this.#pollMs = opts.pollIntervalMs ?? 2_000;
    this.#errors = { name: 'cohere embed jobs', baseUrl, timeoutMs, apiKey: opts.apiKey };
  }

  /**
   * Uploads a JSONL file (streamed from disk) whose lines are `{"text": …, "custom_id": …}`.
   * @returns the dataset id; validation runs afterwards ({@link waitValidated})
   */
  async uploadDataset(path: string, name: string): Promise<string> {
    // Cohere reads the format from the file name.
    const filename = path.endsWith('.jsonl') ? basename(path) : `${basename(path)}.jsonl`;
    // A file-backed Blob: read from disk as it is sent. (cohere-ai 8.1 sends `{ path }` and Node
    // streams as the text "[object Object]"; Blobs it encodes properly.)
    const file = new File([await openAsBlob(path)], filename, { type: 'application/jsonl' });
    const { id } = await this.#call(() => this.#client.datasets.create(file, undefined, { name, type: 'embed-input', keepFields: 'custom_id' }, NO_RETRY));
    if (!id) throw new ProviderError(`${this.#errors.name}: the dataset upload of ${name} returned no id`, { retryable: true });
    return id;
  }

  /**
   * Polls a dataset until Cohere has validated it.
   * @returns the validation warnings (rows Cohere dropped, if any)
   * @throws NonRetryableError naming Cohere's validation error when validation fails
   * @throws ProviderError (retryable) when still not validated after `timeoutMs` (@default 1_800_000)
   */
  async waitValidated(datasetId: string, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<{ warnings: string[] }> {
    const deadline = Date.now() + (opts.timeoutMs ?? 1_800_000);
    for (;;) {
      const { dataset } = await this.#call(() => this.#client.datasets.get(datasetId, opts.signal ? { abortSignal: opts.signal } : {}));
      const status = dataset.validationStatus;
      if (status === 'validated') return { warnings: dataset.validationWarnings ?? [] };
      if (status === 'failed' || status === 'skipped')
        throw new NonRetryableError(`Cohere dataset ${datasetId} (${dataset.name}) failed validation: ${dataset.validationError ?? `status ${status}, no reason given`}. Fix the input file and upload it again`);
      if (Date.now() >= deadline)
        throw new ProviderError(`${this.#errors.name}: dataset ${datasetId} is still ${status} after ${opts.timeoutMs ?? 1_800_000} ms; poll again later`, { retryable: true });
      await delay(this.#pollMs, undefined, opts.signal ? { signal: opts.signal } : {});
    }
  }

  /**
   * Starts an embed job on a validated dataset, asking for float embeddings only.
   * @param model a Cohere model name, e.g. `embed-english-v3.0`
   * @param name stored with the job, for {@link findJobByName} after a crash
   * @returns the job id
   */
  async createJob(datasetId: string, model: string, inputType: 'document' | 'query', name: string): Promise<string> {
    const request: Cohere.CreateEmbedJobRequest = { datasetId, model, name, inputType: inputType === 'query' ? 'search_query' : 'search_document', embeddingTypes: ['float'] };
    const { jobId } = await this.#call(() => this.#client.embedJobs.create(request, NO_RETRY));
    return jobId;
  }

  /** The newest job with this name: one created before a crash kept us from recording its id. */
  async findJobByName(name: string): Promise<CohereEmbedJob | undefined> {
    const { embedJobs = [] } = await this.#call(() => this.#client.embedJobs.list());
    const newest = embedJobs.filter((j) => j.name === name).sort((a, b) => +new Date(b.createdAt) - +new Date(a.createdAt))[0];
    return newest && toJob(newest);
  }

  async retrieve(jobId: string): Promise<CohereEmbedJob> {
    return toJob(await this.#call(() => this.#client.embedJobs.get(jobId)));
  }

  /** Asks Cohere to stop a job; work done so far is billed and returns no results. */
  async cancel(jobId: string): Promise<void> {
    await this.#call(() => this.#client.embedJobs.cancel(jobId));
  }

  /**
   * The records of an `embed-result` dataset, part by part, in Cohere's order (input order). A
   * record without a `custom_id` (the input was uploaded without it) yields an error with an
   * empty `customId`.
   * @param opts.dims when set, a vector of another size yields an error instead of the vector
   */
  async *results(outputDatasetId: string, opts: { signal?: AbortSignal; dims?: number } = {}): AsyncGenerator<EmbedJobResult> {
    const { dataset } = await this.#call(() => this.#client.datasets.get(outputDatasetId, opts.signal ? { abortSignal: opts.signal } : {}));
    if (dataset.validationStatus !== 'validated')
      throw new ProviderError(`${this.#errors.name}: result dataset ${outputDatasetId} is ${dataset.validationStatus}, not validated yet`, { retryable: true });
    const parts = [...(dataset.datasetParts ?? [])].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    let n = 0;
    for (const part of parts) {
      if (!part.url) throw new ProviderError(`${this.#errors.name}: part ${part.name} of dataset ${outputDatasetId} has no download URL`, { retryable: true });
      // Part URLs are presigned storage links: no API key, and the signature stays out of messages.
      const where = `part ${part.name} of dataset ${outputDatasetId} (${redactUrl(part.url)})`;
      let res: Response;
      try {
        res = await this.#fetch(part.url, opts.signal ? { signal: opts.signal } : {});
      } catch (e) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        throw new ProviderError(`${this.#errors.name}: could not download ${where}: ${(e as Error).message}`, { retryable: true, cause: e });
      }
      if (!res.ok || !res.body) {
        await res.body?.cancel();
        // 403 is how an expired presigned URL answers: a retry reads the dataset, and fresh URLs, again.
        throw new ProviderError(`${this.#errors.name}: downloading ${where} failed with HTTP ${res.status}`, { retryable: res.status === 429 || res.status >= 500 || res.status === 403, status: res.status });
      }
      try {
        for await (const record of readAvroContainer(res.body)) yield toResult(record, ++n, opts.dims);
      } catch (e) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        // A download cut short is worth another try; a corrupt file is not.
        const truncated = e instanceof TypeError && /truncated/.test(e.message);
        throw e instanceof TypeError && !truncated ? new NonRetryableError(`${this.#errors.name}: ${where} is not readable: ${e.message}`) : new ProviderError(`${this.#errors.name}: reading ${where} failed: ${(e as Error).message}`, { retryable: true, cause: e });
      }
    }
  }

  async #call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw toCohereProviderError(e, this.#errors);
    }
  }
}

function toJob(j: Cohere.EmbedJob): CohereEmbedJob {
  const tokens = j.meta?.billedUnits?.inputTokens;
  const warnings = j.meta?.warnings?.length ? `: ${j.meta.warnings.join('; ')}` : '';
  const error =
    j.status === 'failed' ? `Cohere embed job ${j.jobId} (${j.model}, dataset ${j.inputDatasetId}) failed${warnings || ' without giving a reason'}`
    : j.status === 'cancelled' ? `Cohere embed job ${j.jobId} was cancelled; Cohere returns no partial results`
    : undefined;
  return {
    id: j.jobId,
    status: j.status,
    model: j.model,
    inputDatasetId: j.inputDatasetId,
    ...(j.name ? { name: j.name } : {}),
    ...(j.outputDatasetId ? { outputDatasetId: j.outputDatasetId } : {}),
    ...(typeof tokens === 'number' ? { billedTokens: tokens } : {}),
    ...(error ? { error } : {}),
  };
}

/** One Avro record (`{text, embeddings: {float, …}, custom_id}`) as a result. */
function toResult(record: unknown, n: number, dims: number | undefined): EmbedJobResult {
  const r = (record ?? {}) as { custom_id?: unknown; embeddings?: { float?: unknown } | null };
  // A kept field may come back as a string, a number or a boolean: ids are compared as text.
  const customId = r.custom_id === null || r.custom_id === undefined ? '' : String(r.custom_id);
  if (!customId) return { customId, error: `result record ${n} has no custom_id (was the dataset uploaded with keep_fields=custom_id?)` };
  const float = r.embeddings?.float;
  if (!Array.isArray(float) || float.length === 0 || float.some((x) => typeof x !== 'number')) return { customId, error: `result record ${n} has no float embedding` };
  if (dims !== undefined && float.length !== dims) return { customId, error: `provider returned a ${float.length}-dim vector, expected ${dims}` };
  return { customId, vector: Float32Array.from(float as number[]) };
}

/** A URL without its query (where presigned signatures live). */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}
