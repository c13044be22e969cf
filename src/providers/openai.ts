/**
 * OpenAI (and OpenAI-compatible) embeddings through the official SDK. The SDK's own retries are
 * off (`maxRetries: 0`): we retry here so every attempt reaches the ledger (`onCall`) and the
 * server's Retry-After is honoured exactly.
 */
import OpenAI from 'openai';
import pLimit, { type LimitFunction } from 'p-limit';
import { NonRetryableError, ProviderError } from '../errors.ts';
import { beginAttempt, quietly, retryPause } from './attempts.ts';
import { toProviderError, type ErrorContext } from './openai-errors.ts';
import { estimateTokens, packRequests, sendSlices, type RequestSlice, type SliceResult } from './pack.ts';
import type { RateLimiter, RateLimitKey } from './rate-limiter.ts';
import { backoffDelay, parseRateLimitHeaders, type BackoffOptions, type HeaderSource, type RateLimitInfo } from './retry.ts';
import { adaptDims, decodeFloat32Base64 } from './vectors.ts';
import type { EmbedCall, EmbedOptions, EmbedResult, EmbeddingProvider, ResolvedModel } from './types.ts';

export interface OpenAIProviderOptions {
  apiKey: string;
  /** Any OpenAI-compatible server (Azure, vLLM, TEI, Ollama…). @default https://api.openai.com/v1 */
  baseUrl?: string;
  organization?: string;
  /**
   * Exact token count of one input (the corpus layer's tokenizer). Used to pack requests under
   * the token limit and to reject over-long inputs before sending them.
   * @default a conservative estimate, ceil(UTF-8 bytes / 3), which never rejects anything
   */
  countTokens?: (text: string) => number;
  /** Requests in flight at once, per provider instance. @default 4 */
  concurrency?: number;
  /** Attempts per request, the first included. @default 6 */
  maxAttempts?: number;
  /** @default { baseMs: 500, capMs: 30_000 } */
  backoff?: BackoffOptions;
  /**
   * A Retry-After longer than this is not slept through: the retryable ProviderError (with
   * `retryAfterMs`) goes up so the job queue can reschedule instead of holding a worker.
   * @default 60_000
   */
  maxRetryAfterMs?: number;
  /** Per attempt, until the whole body has arrived. @default 60_000 */
  timeoutMs?: number;
  /**
   * Wire encoding. base64 is about four times smaller; servers that ignore it and send JSON
   * floats are handled too. @default 'base64'
   */
  encodingFormat?: 'base64' | 'float';
  /** A custom fetch (proxies, tests). @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Called with the `x-ratelimit-*` headers of every response that carries them. */
  onRateLimit?: (info: RateLimitInfo) => void;
  /**
   * The rate limiter shared by every worker process: each attempt waits for its place, responses
   * feed it the provider's headers and billed tokens, and a 429 pauses the model for everyone.
   * @default none (every request is sent at once; only this provider's `concurrency` limits it)
   */
  limiter?: RateLimiter;
  /** Source of jitter, for tests. @default Math.random */
  random?: () => number;
}

export class OpenAIProvider implements EmbeddingProvider {
  readonly model: ResolvedModel;
  readonly #client: OpenAI;
  readonly #limit: LimitFunction;
  readonly #opts: OpenAIProviderOptions;
  readonly #errors: ErrorContext;

  constructor(model: ResolvedModel, opts: OpenAIProviderOptions) {
    if (model.spec.provider !== 'openai') throw new Error(`OpenAIProvider cannot serve ${model.key}`);
    this.model = model;
    this.#opts = opts;
    const baseUrl = opts.baseUrl ?? 'https://api.openai.com/v1';
    const timeoutMs = opts.timeoutMs ?? 60_000;
    // Everything explicit, so the SDK reads no environment variable of its own.
    this.#client = new OpenAI({
      apiKey: opts.apiKey,
      baseURL: baseUrl,
      organization: opts.organization ?? null,
      project: null,
      adminAPIKey: null,
      webhookSecret: null,
      maxRetries: 0,
      timeout: timeoutMs,
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
    });
    this.#limit = pLimit(opts.concurrency ?? 4);
    this.#errors = { name: `${model.spec.provider}/${model.spec.model}`, baseUrl, timeoutMs, apiKey: opts.apiKey };
  }

  async embed(inputs: string[], opts: EmbedOptions = {}): Promise<EmbedResult> {
    opts.signal?.throwIfAborted();
    if (inputs.length === 0) return { vectors: [], tokens: 0, requests: 0, retries: 0 };
    const tokenCounts = this.#countTokens(inputs, opts.tokenCounts);
    const { spec } = this.model;
    const slices = packRequests(tokenCounts, spec.maxInputsPerRequest, spec.maxTokensPerRequest);
    return sendSlices(slices, this.#limit, (slice, signal) => this.#send(inputs.slice(slice.start, slice.end), slice, signal, opts), opts.signal);
  }

  #countTokens(inputs: string[], known?: readonly number[]): number[] {
    const exact = this.#opts.countTokens;
    const { maxInputTokens } = this.model.spec;
    return inputs.map((text, i) => {
      if (text.length === 0) throw new NonRetryableError(`${this.model.key}: input #${i} is empty; OpenAI rejects empty strings`);
      // Counts the caller already has (from the same tokenizer) save a second tokenization.
      const n = known?.[i] ?? (exact ? exact(text) : estimateTokens(text));
      if (exact && n > maxInputTokens)
        throw new NonRetryableError(`${this.model.key}: input #${i} has ${n} tokens, more than the model's ${maxInputTokens}; truncate or split it first (setting "overlong")`);
      return n;
    });
  }

  /** One request with its retries. */
  async #send(inputs: string[], slice: RequestSlice, signal: AbortSignal, opts: EmbedOptions): Promise<SliceResult> {
    const maxAttempts = this.#opts.maxAttempts ?? 6;
    const maxRetryAfterMs = this.#opts.maxRetryAfterMs ?? 60_000;
    const { dims, dimAdapter, spec } = this.model;
    const limiter = this.#opts.limiter;
    const key: RateLimitKey = { provider: spec.provider, model: spec.model };
    const body = {
      model: spec.model,
      input: inputs,
      encoding_format: this.#opts.encodingFormat ?? 'base64',
      ...(dimAdapter === 'provider' ? { dimensions: dims } : {}),
    } as const;
    for (let attempt = 1; ; attempt++) {
      const sent = { request: slice.start, attempt, inputs: inputs.length, tokens: slice.tokens };
      // Outside the try: an abort, a drain or a limiter that cannot find room in time is not an attempt.
      const permit = await beginAttempt({ limiter, key, attempt: sent, signal, drain: opts.drain, onSend: opts.onSend });
      const started = performance.now();
      const report = (c: Omit<EmbedCall, keyof typeof sent | 'latencyMs'> & { tokens: number }) =>
        opts.onCall?.({ ...sent, latencyMs: Math.round(performance.now() - started), ...c });
      let httpStatus: number | undefined;
      try {
        const { data, response } = await this.#client.embeddings.create(body, { signal }).withResponse();
        httpStatus = response.status;
        const usage = (data as { usage?: { prompt_tokens?: unknown } } | null)?.usage;
        const billed = typeof usage?.prompt_tokens === 'number' ? usage.prompt_tokens : undefined;
        // Billed tokens first, so the headers are compared with a corrected window.
        if (permit && billed !== undefined) await this.#limiterSays(() => limiter!.reconcile(key, permit, billed));
        await this.#rateLimit(key, response.headers);
        const vectors = this.#decode(data, inputs.length);
        const tokens = billed ?? slice.tokens;
        report({ tokens, status: 'ok', httpStatus });
        return { vectors, tokens, retries: attempt - 1 };
      } catch (e) {
        if (signal.aborted) {
          // Aborted in flight: the provider may have answered, and billed, meanwhile.
          report({ tokens: slice.tokens, status: 'error', error: 'aborted', ...(httpStatus ? { httpStatus } : { outcomeUnknown: true }) });
          throw signal.reason;
        }
        const err = toProviderError(e, this.#errors);
        const status = err.status ?? httpStatus;
        const common = { tokens: slice.tokens, error: err.message, ...(status ? { httpStatus: status } : {}), ...(err.outcomeUnknown ? { outcomeUnknown: true } : {}) };
        // A 429's own word (Retry-After, else the reset of the budget that ran out), else backoff.
        const wait = err.retryAfterMs ?? backoffDelay(attempt, this.#opts.backoff, this.#opts.random);
        const refused = permit !== undefined && status === 429 && err.retryable;
        // The provider did not count the refused request: out of our count before its headers are compared with it.
        if (refused) await this.#limiterSays(() => limiter!.release(key, permit));
        if (err.cause && typeof err.cause === 'object' && 'headers' in err.cause) await this.#rateLimit(key, err.cause.headers as HeaderSource | undefined);
        // It asks everyone to hold off: every worker pauses this model, so a 429 storm does not turn into a retry storm.
        if (refused) await this.#limiterSays(() => limiter!.pause(key, wait));
        const tooLong = err.retryAfterMs !== undefined && err.retryAfterMs > maxRetryAfterMs;
        if (!err.retryable || attempt >= maxAttempts || tooLong) {
          report({ ...common, status: 'error' });
          if (!err.retryable) throw err;
          const why = tooLong ? `the server asks to wait ${err.retryAfterMs} ms, more than maxRetryAfterMs ${maxRetryAfterMs}` : `gave up after ${attempt} attempt${attempt === 1 ? '' : 's'}`;
          throw new ProviderError(`${err.message} (${why})`, {
            retryable: true,
            ...(err.status === undefined ? {} : { status: err.status }),
            ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }),
            cause: err,
          });
        }
        report({ ...common, status: 'retry' });
        await retryPause(wait, signal, opts.drain);
      }
    }
  }

  async #rateLimit(key: RateLimitKey, headers: HeaderSource | undefined): Promise<void> {
    const { onRateLimit, limiter } = this.#opts;
    if (!onRateLimit && !limiter) return;
    const info = parseRateLimitHeaders(headers);
    if (!info) return;
    onRateLimit?.(info);
    if (limiter) await this.#limiterSays(() => limiter.observe(key, info));
  }

  /**
   * Bookkeeping after a response must not cost the response: the vectors are paid for. A Redis
   * that fails here fails the next `acquire`, which does need it, and surfaces there.
   */
  async #limiterSays(fn: () => Promise<unknown>): Promise<void> {
    await quietly(fn);
  }

  /** Validates a 200 body and returns unit vectors of `model.dims`, in input order. */
  #decode(data: unknown, n: number): Float32Array[] {
    const { dims, dimAdapter, spec } = this.model;
    const name = this.#errors.name;
    const items = (data as { data?: unknown } | null)?.data;
    if (!Array.isArray(items))
      throw new ProviderError(`${name}: returned a malformed response body (no "data" array)`, { retryable: true });
    if (items.length !== n)
      throw new ProviderError(`${name}: returned ${items.length} embeddings for ${n} inputs`, { retryable: false });
    // With 'provider' or 'native' the server returns `dims`; otherwise its native size, adapted here.
    const expected = dimAdapter === 'truncate' || dimAdapter === 'pad' ? spec.nativeDims : dims;
    const out: Float32Array[] = new Array(n);
    for (const item of items as { index?: unknown; embedding?: unknown }[]) {
      const index = item?.index;
      if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= n || out[index])
        throw new ProviderError(`${name}: returned an embedding with a missing, duplicate or out-of-range index ${JSON.stringify(index)}`, { retryable: false });
      const raw = item.embedding;
      const vec = typeof raw === 'string' ? decodeFloat32Base64(raw) : Array.isArray(raw) ? Float32Array.from(raw as number[]) : undefined;
      if (!vec) throw new ProviderError(`${name}: returned an embedding that is neither a float array nor base64`, { retryable: false });
      if (vec.length !== expected)
        throw new ProviderError(`${name}: provider returned ${vec.length}-dim vectors, expected ${expected}`, { retryable: false });
      out[index] = adaptDims(vec, dims, dimAdapter, { inPlace: true });
    }
    return out;
  }
}
