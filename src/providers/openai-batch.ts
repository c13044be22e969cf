/**
 * OpenAI's Batch API for embeddings, through the official SDK: JSONL request files uploaded with
 * purpose `batch`, a batch per file on `/v1/embeddings` with the 24h window, polling, and the
 * output/error files read as streams of lines (never loaded whole).
 *
 * Limits (shared/reference/provider-apis.md): at most 50,000 requests and 50,000 embedding
 * inputs per batch, input file at most 200 MB.
 */
import { createReadStream } from 'node:fs';
import OpenAI from 'openai';
import type { BatchBackend, ProviderBatch } from './batch-backend.ts';
import type { ErrorContext } from './http-errors.ts';
import { toProviderError } from './openai-errors.ts';
import { streamLines } from './batch-files.ts';

export interface BatchClientOptions {
  apiKey: string;
  baseUrl?: string | undefined;
  organization?: string | undefined;
  /** Sent with every call (a configured provider's `headers`). */
  headers?: Readonly<Record<string, string>> | undefined;
  timeoutMs?: number;
  /** Names the API in errors. @default 'openai batch' */
  name?: string;
  /** Where the API is when `baseUrl` is not set (for errors). @default https://api.openai.com/v1 */
  defaultBaseUrl?: string;
}

export class OpenAIBatchClient implements BatchBackend {
  protected readonly client: OpenAI;
  readonly #errCtx: ErrorContext;

  constructor(opts: BatchClientOptions) {
    this.client = new OpenAI({ apiKey: opts.apiKey, baseURL: opts.baseUrl, organization: opts.organization, maxRetries: 2, timeout: opts.timeoutMs ?? 120_000, ...(opts.headers ? { defaultHeaders: { ...opts.headers } } : {}) });
    this.#errCtx = { name: opts.name ?? 'openai batch', baseUrl: opts.baseUrl ?? opts.defaultBaseUrl ?? 'https://api.openai.com/v1', timeoutMs: opts.timeoutMs ?? 120_000, apiKey: opts.apiKey };
  }

  /** Uploads a JSONL request file (streamed from disk). */
  async upload(path: string): Promise<string> {
    const file = await this.call(() => this.client.files.create({ file: createReadStream(path), purpose: 'batch' }));
    return file.id;
  }

  async create(inputFileId: string, metadata: Record<string, string>): Promise<ProviderBatch> {
    return this.call(() => this.client.batches.create({ input_file_id: inputFileId, endpoint: '/v1/embeddings', completion_window: '24h', metadata }));
  }

  /** A batch we created earlier, found by our metadata (after a crash between create and recording it). */
  async findByMetadata(key: string, value: string, maxPages = 5): Promise<ProviderBatch | undefined> {
    let pages = 0;
    for await (const b of this.client.batches.list({ limit: 100 })) {
      if (b.metadata?.[key] === value) return b;
      if (++pages > maxPages * 100) break;
    }
    return undefined;
  }

  retrieve(id: string): Promise<ProviderBatch> {
    return this.call(() => this.client.batches.retrieve(id));
  }

  cancel(id: string): Promise<ProviderBatch> {
    return this.call(() => this.client.batches.cancel(id));
  }

  /** The lines of a result file, streamed. */
  async *lines(fileId: string): AsyncGenerator<string> {
    const res = await this.call(() => this.client.files.content(fileId));
    if (res.body) yield* streamLines(res.body as unknown as AsyncIterable<Uint8Array>);
  }

  protected async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw toProviderError(e, this.#errCtx);
    }
  }
}
