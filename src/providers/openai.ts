/**
 * OpenAI (and OpenAI-compatible) embeddings through the official SDK, as an adapter of the
 * request loop (request-loop.ts): the body, the SDK call, the decoding of its answer, its error
 * mapping and its `x-ratelimit-*` headers.
 */
import OpenAI from 'openai';
import { NonRetryableError } from '../errors.ts';
import type { ErrorContext } from './http-errors.ts';
import { decodeIndexedEmbeddings } from './indexed-embeddings.ts';
import { toProviderError } from './openai-errors.ts';
import { estimateTokens } from './pack.ts';
import { RequestLoop, type HttpProviderOptions, type ProviderAdapter } from './request-loop.ts';
import { parseRateLimitHeaders, type RateLimitInfo } from './retry.ts';
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
  /** Its part of the request protocol, which a routed loop over several deployments also sends through (deployments.ts). */
  readonly adapter: ProviderAdapter<Body, unknown>;

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
    this.adapter = this.#adapter();
    this.#loop = new RequestLoop(model, this.adapter, opts);
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
      decode: (data, n) => decodeIndexedEmbeddings(data, n, this.model, this.#errors.name),
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
}
