/**
 * OpenAI (and OpenAI-compatible) embeddings through the official SDK, as an adapter of the
 * request loop (request-loop.ts): the body, the SDK call, the decoding of its answer, its error
 * mapping and its `x-ratelimit-*` headers.
 */
import OpenAI from 'openai';
import { NonRetryableError, ProviderError } from '../errors.ts';
import type { ErrorContext } from './http-errors.ts';
import { toProviderError } from './openai-errors.ts';
import { estimateTokens } from './pack.ts';
import { RequestLoop, type HttpProviderOptions, type ProviderAdapter } from './request-loop.ts';
import { parseRateLimitHeaders, type RateLimitInfo } from './retry.ts';
import { adaptDims, decodeFloat32Base64 } from './vectors.ts';
import type { EmbedOptions, EmbedResult, EmbeddingProvider, ResolvedModel } from './types.ts';

export interface OpenAIProviderOptions extends HttpProviderOptions {
  /** Any OpenAI-compatible server (Azure, vLLM, TEI, Ollama…). @default https://api.openai.com/v1 */
  baseUrl?: string;
  organization?: string;
  /** Sent with every request (a configured provider's `headers`). */
  headers?: Readonly<Record<string, string>>;
  /**
   * Exact token count of one input (the corpus layer's tokenizer). Used to pack requests under
   * the token limit and to reject over-long inputs before sending them.
   * @default a conservative estimate, ceil(UTF-8 bytes / 3), which never rejects anything
   */
  countTokens?: (text: string) => number;
  /**
   * Wire encoding. base64 is about four times smaller; servers that ignore it and send JSON
   * floats are handled too. @default 'base64'
   */
  encodingFormat?: 'base64' | 'float';
  /** Called with the `x-ratelimit-*` headers of every response that carries them. */
  onRateLimit?: (info: RateLimitInfo) => void;
}

type Body = OpenAI.EmbeddingCreateParams;

export class OpenAIProvider implements EmbeddingProvider {
  readonly model: ResolvedModel;
  readonly #client: OpenAI;
  readonly #opts: OpenAIProviderOptions;
  readonly #errors: ErrorContext;
  readonly #loop: RequestLoop<Body, unknown>;

  constructor(model: ResolvedModel, opts: OpenAIProviderOptions) {
    if (model.spec.kind !== 'openai' && model.spec.kind !== 'openai-compatible') throw new Error(`OpenAIProvider cannot serve ${model.key}`);
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
      ...(opts.headers ? { defaultHeaders: { ...opts.headers } } : {}),
      maxRetries: 0,
      timeout: timeoutMs,
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
    });
    this.#errors = { name: `${model.spec.provider}/${model.spec.model}`, baseUrl, timeoutMs, apiKey: opts.apiKey };
    this.#loop = new RequestLoop(model, this.#adapter(), opts);
  }

  embed(inputs: string[], opts?: EmbedOptions): Promise<EmbedResult> {
    return this.#loop.embed(inputs, opts);
  }

  #adapter(): ProviderAdapter<Body, unknown> {
    const { dims, dimAdapter, spec } = this.model;
    return {
      countTokens: (inputs, known) => this.#countTokens(inputs, known),
      request: (input) => ({
        model: spec.model,
        input,
        encoding_format: this.#opts.encodingFormat ?? 'base64',
        ...(dimAdapter === 'provider' ? { dimensions: dims } : {}),
      }),
      send: async (body, signal) => {
        const { data, response } = await this.#client.embeddings.create(body, { signal }).withResponse();
        return { data, status: response.status, headers: response.headers };
      },
      billedTokens: (data) => {
        const usage = (data as { usage?: { prompt_tokens?: unknown } } | null)?.usage;
        return typeof usage?.prompt_tokens === 'number' ? usage.prompt_tokens : undefined;
      },
      decode: (data, n) => this.#decode(data, n),
      toError: (e) => toProviderError(e, this.#errors),
      rateLimit: (headers) => {
        const info = parseRateLimitHeaders(headers);
        if (info) this.#opts.onRateLimit?.(info);
        return info;
      },
    };
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
