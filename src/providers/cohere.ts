/**
 * Cohere embeddings through the official SDK (`CohereClientV2.embed`, POST /v2/embed). As with
 * OpenAI, the SDK's own retries are off (`maxRetries: 0`): we retry here so every attempt
 * reaches the ledger (`onCall`) and the shared rate limiter.
 *
 * Cohere embeds documents and queries differently (`input_type` search_document / search_query),
 * takes at most 96 texts per call, and sizes embed-v4.0 output with `output_dimension`; other
 * sizes are padded here. Over-long texts are cut at the end by Cohere (its default `truncate`).
 */
import { CohereClientV2, CohereError, CohereTimeoutError } from 'cohere-ai';
import pLimit, { type LimitFunction } from 'p-limit';
import { ProviderError } from '../errors.ts';
import { beginAttempt, quietly, retryPause } from './attempts.ts';
import { droppedConnection, redactSecrets, type ErrorContext } from './openai-errors.ts';
import { estimateTokens, packRequests, sendSlices, type RequestSlice, type SliceResult } from './pack.ts';
import type { OpenAIProviderOptions } from './openai.ts';
import type { RateLimitKey } from './rate-limiter.ts';
import { backoffDelay, retryAfterMs, type HeaderSource } from './retry.ts';
import { adaptDims } from './vectors.ts';
import type { EmbedCall, EmbedOptions, EmbedResult, EmbeddingProvider, ResolvedModel } from './types.ts';

export const COHERE_BASE_URL = 'https://api.cohere.com';

/**
 * The retry, timeout, concurrency and rate-limit knobs are the OpenAI provider's, with the same
 * defaults (see {@link OpenAIProviderOptions}).
 */
export interface CohereProviderOptions extends Pick<OpenAIProviderOptions, 'concurrency' | 'maxAttempts' | 'backoff' | 'maxRetryAfterMs' | 'timeoutMs' | 'fetch' | 'limiter' | 'random'> {
  apiKey: string;
  /** The SDK's base URL (a proxy, the simulator). @default https://api.cohere.com */
  baseUrl?: string;
  /**
   * Token count of one input, for packing and for the rate limiter's estimate. Cohere's
   * tokenizer is not available offline, so this is only ever an estimate and never rejects input.
   * @default ceil(UTF-8 bytes / 3)
   */
  countTokens?: (text: string) => number;
}

const HINTS: Readonly<Record<number, string>> = {
  401: 'check COHERE_API_KEY (config cohere.apiKey)',
  498: 'the API key is invalid: check COHERE_API_KEY (config cohere.apiKey)',
  403: 'the key has no access to this model or endpoint',
};

/**
 * Classifies a failed Cohere call: 408, 429, 5xx, timeouts, dropped connections (also mid-body)
 * and malformed bodies are retryable; other 4xx are not. The key is removed from every message.
 */
export function toCohereProviderError(e: unknown, ctx: ErrorContext): ProviderError {
  if (e instanceof ProviderError) return e;
  const say = (msg: string) => redactSecrets(`${ctx.name}: ${msg}`, ctx.apiKey);
  if (e instanceof CohereTimeoutError) return new ProviderError(say(`request timed out after ${ctx.timeoutMs} ms (${ctx.baseUrl})`), { retryable: true, outcomeUnknown: true, cause: e });
  // A body cut off mid-response (undici's "terminated"): the SDK wraps it like a failed connection.
  const dropped = droppedConnection(e);
  if (dropped !== undefined) return new ProviderError(say(`the connection closed before the whole response arrived (${dropped})`), { retryable: true, outcomeUnknown: true, cause: e });
  if (e instanceof CohereError && typeof e.statusCode === 'number') {
    const status = e.statusCode;
    const body = e.body as { message?: unknown } | string | undefined;
    const text = typeof body === 'object' && typeof body?.message === 'string' ? body.message : typeof body === 'string' ? body.slice(0, 300) : 'no message';
    const retryable = status === 408 || status === 429 || status >= 500;
    const hint = status === 404 ? `is the model served at ${ctx.baseUrl}?` : HINTS[status];
    const after = retryable ? retryAfterMs(e.rawResponse?.headers as HeaderSource | undefined) : undefined;
    // No `cause`: the SDK error's own message is the raw body, which loggers that print causes
    // would show unredacted; everything useful in it is here.
    return new ProviderError(say(`HTTP ${status}: ${text}${hint ? ` (${hint})` : ''}`), { retryable, status, ...(after === undefined ? {} : { retryAfterMs: after }) });
  }
  // The SDK reports a failed connection as a CohereError without a status, the cause inside.
  if (e instanceof CohereError) {
    const cause = e.cause instanceof Error ? (e.cause.cause instanceof Error ? e.cause.cause.message : e.cause.message) : e.message;
    return new ProviderError(say(`could not reach ${ctx.baseUrl}: ${cause}`), { retryable: true, cause: e });
  }
  const err = e instanceof Error ? e : new Error(String(e));
  return new ProviderError(say(err.message), { retryable: false, cause: err });
}

export class CohereProvider implements EmbeddingProvider {
  readonly model: ResolvedModel;
  readonly #client: CohereClientV2;
  readonly #limit: LimitFunction;
  readonly #opts: CohereProviderOptions;
  readonly #errors: ErrorContext;

  constructor(model: ResolvedModel, opts: CohereProviderOptions) {
    if (model.spec.provider !== 'cohere') throw new Error(`CohereProvider cannot serve ${model.key}`);
    this.model = model;
    this.#opts = opts;
    const baseUrl = opts.baseUrl ?? COHERE_BASE_URL;
    const timeoutMs = opts.timeoutMs ?? 60_000;
    // A token always given, so the SDK never falls back to CO_API_KEY from the environment.
    this.#client = new CohereClientV2({ token: opts.apiKey, baseUrl, maxRetries: 0, timeoutInSeconds: timeoutMs / 1000, clientName: 'embedq', ...(opts.fetch ? { fetch: opts.fetch } : {}) });
    this.#limit = pLimit(opts.concurrency ?? 4);
    this.#errors = { name: `cohere/${model.spec.model}`, baseUrl, timeoutMs, apiKey: opts.apiKey };
  }

  async embed(inputs: string[], opts: EmbedOptions = {}): Promise<EmbedResult> {
    opts.signal?.throwIfAborted();
    if (inputs.length === 0) return { vectors: [], tokens: 0, requests: 0, retries: 0 };
    const count = this.#opts.countTokens ?? estimateTokens;
    const tokenCounts = inputs.map((t, i) => opts.tokenCounts?.[i] ?? count(t));
    const { spec } = this.model;
    const slices = packRequests(tokenCounts, spec.maxInputsPerRequest, spec.maxTokensPerRequest);
    const inputType = opts.inputType === 'query' ? 'search_query' : 'search_document';
    return sendSlices(slices, this.#limit, (slice, signal) => this.#send(inputs.slice(slice.start, slice.end), slice, inputType, signal, opts), opts.signal);
  }

  /** One request with its retries. */
  async #send(texts: string[], slice: RequestSlice, inputType: 'search_document' | 'search_query', signal: AbortSignal, opts: EmbedOptions): Promise<SliceResult> {
    const { maxAttempts = 6, maxRetryAfterMs = 60_000, limiter } = this.#opts;
    const { dims, dimAdapter, spec } = this.model;
    const key: RateLimitKey = { provider: spec.provider, model: spec.model };
    const request = { model: spec.model, texts, inputType, embeddingTypes: ['float' as const], ...(dimAdapter === 'provider' ? { outputDimension: dims } : {}) };
    for (let attempt = 1; ; attempt++) {
      const sent = { request: slice.start, attempt, inputs: texts.length, tokens: slice.tokens };
      // Outside the try: an abort, a drain or a limiter that cannot find room in time is not an attempt.
      const permit = await beginAttempt({ limiter, key, attempt: sent, signal, drain: opts.drain, onSend: opts.onSend });
      const started = performance.now();
      const report = (c: Omit<EmbedCall, keyof typeof sent | 'latencyMs'> & { tokens: number }) => opts.onCall?.({ ...sent, latencyMs: Math.round(performance.now() - started), ...c });
      // The SDK's own timeout stops at the headers; this one covers the body too.
      const timeout = AbortSignal.timeout(this.#errors.timeoutMs);
      let httpStatus: number | undefined;
      try {
        const { data, rawResponse } = await this.#client.embed(request, { abortSignal: AbortSignal.any([signal, timeout]) }).withRawResponse();
        httpStatus = rawResponse.status;
        const billed = data?.meta?.billedUnits?.inputTokens;
        if (permit && typeof billed === 'number') await quietly(() => limiter!.reconcile(key, permit, billed));
        const vectors = this.#decode(data, texts.length);
        const tokens = typeof billed === 'number' ? billed : slice.tokens;
        report({ tokens, status: 'ok', httpStatus });
        return { vectors, tokens, retries: attempt - 1 };
      } catch (e) {
        if (signal.aborted) {
          // Aborted in flight: the provider may have answered, and billed, meanwhile.
          report({ tokens: slice.tokens, status: 'error', error: 'aborted', ...(httpStatus ? { httpStatus } : { outcomeUnknown: true }) });
          throw signal.reason;
        }
        const err = timeout.aborted && !(e instanceof ProviderError) ? toCohereProviderError(new CohereTimeoutError('timeout', { cause: e }), this.#errors) : toCohereProviderError(e, this.#errors);
        const status = err.status ?? httpStatus;
        const common = { tokens: slice.tokens, error: err.message, ...(status ? { httpStatus: status } : {}), ...(err.outcomeUnknown ? { outcomeUnknown: true } : {}) };
        const wait = err.retryAfterMs ?? backoffDelay(attempt, this.#opts.backoff, this.#opts.random);
        if (permit && status === 429 && err.retryable) {
          // The refused request was not counted, and everyone should hold off, not just us.
          await quietly(() => limiter!.release(key, permit));
          await quietly(() => limiter!.pause(key, wait));
        }
        const tooLong = err.retryAfterMs !== undefined && err.retryAfterMs > maxRetryAfterMs;
        if (!err.retryable || attempt >= maxAttempts || tooLong) {
          report({ ...common, status: 'error' });
          if (!err.retryable) throw err;
          const why = tooLong ? `the server asks to wait ${err.retryAfterMs} ms, more than maxRetryAfterMs ${maxRetryAfterMs}` : `gave up after ${attempt} attempt${attempt === 1 ? '' : 's'}`;
          throw new ProviderError(`${err.message} (${why})`, { retryable: true, ...(err.status === undefined ? {} : { status: err.status }), ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }), cause: err });
        }
        report({ ...common, status: 'retry' });
        await retryPause(wait, signal, opts.drain);
      }
    }
  }

  /** Validates a 200 body and returns unit vectors of `model.dims`, in input order. */
  #decode(data: unknown, n: number): Float32Array[] {
    const { dims, dimAdapter, spec } = this.model;
    const name = this.#errors.name;
    // A 200 whose body is not JSON reaches us as an object without `embeddings`.
    const floats = (data as { embeddings?: { float?: unknown } } | null)?.embeddings?.float;
    if (!Array.isArray(floats)) throw new ProviderError(`${name}: returned a malformed response body (no "embeddings.float" array)`, { retryable: true });
    if (floats.length !== n) throw new ProviderError(`${name}: returned ${floats.length} embeddings for ${n} inputs`, { retryable: false });
    // With 'provider' or 'native' the server returns `dims`; otherwise its native size, adapted here.
    const expected = dimAdapter === 'truncate' || dimAdapter === 'pad' ? spec.nativeDims : dims;
    return floats.map((raw: unknown, i) => {
      if (!Array.isArray(raw) || raw.some((x) => typeof x !== 'number'))
        throw new ProviderError(`${name}: embedding #${i} is not an array of numbers`, { retryable: false });
      if (raw.length !== expected) throw new ProviderError(`${name}: provider returned ${raw.length}-dim vectors, expected ${expected}`, { retryable: false });
      return adaptDims(Float32Array.from(raw as number[]), dims, dimAdapter, { inPlace: true });
    });
  }
}
