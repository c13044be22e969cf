/**
 * OpenAI (and OpenAI-compatible, and Azure OpenAI) embeddings through the official SDK, as an
 * adapter of the request loop (request-loop.ts): the body, the SDK call, the decoding of its
 * answer, its error mapping and its `x-ratelimit-*` headers. Azure speaks the same body, answer
 * and errors; only the client differs (the SDK's AzureOpenAI: deployment path, `api-version`,
 * `api-key` header; docs/providers-azure.md).
 */
import OpenAI, { AzureOpenAI } from 'openai';
import { AZURE_API_VERSION } from '../config/providers.ts';
import { NonRetryableError } from '../errors.ts';
import type { ErrorContext } from './http-errors.ts';
import { decodeIndexedEmbeddings } from './indexed-embeddings.ts';
import { toProviderError } from './openai-errors.ts';
import { estimateTokens } from './pack.ts';
import { RequestLoop, type HttpProviderOptions, type ProviderAdapter } from './request-loop.ts';
import { parseRateLimitHeaders, type RateLimitInfo } from './retry.ts';
import type { EmbedOptions, EmbedResult, EmbeddingProvider, ResolvedModel } from './types.ts';

export interface OpenAIProviderOptions extends HttpProviderOptions {
  /**
   * Any OpenAI-compatible server (vLLM, TEI, Ollama…); for `azure-openai`, the resource endpoint
   * (`https://myres.openai.azure.com`, required). @default https://api.openai.com/v1
   */
  baseUrl?: string;
  /** `azure-openai` only: the `api-version` query parameter. @default {@link AZURE_API_VERSION} */
  apiVersion?: string;
  organization?: string;
  /** Sent with every request (a configured provider's `headers`). */
  headers?: Readonly<Record<string, string>>;
  /**
   * Exact token count of one input (the corpus layer's tokenizer). Used to pack requests under
   * the token limit and to reject over-long inputs before sending them.
   * @default a conservative estimate, ceil(UTF-8 bytes / 3), which never rejects anything
   */
  countTokens?: (text: string) => number;
  /** The model's own encoding of a text, for sending texts as token ids beside given ids (EmbedOptions.tokenIds). */
  encode?: (text: string) => number[];
  /**
   * Wire encoding. base64 is about four times smaller; servers that ignore it and send JSON
   * floats are handled too. @default 'base64'
   */
  encodingFormat?: 'base64' | 'float';
  /** Called with the `x-ratelimit-*` headers of every response that carries them. */
  onRateLimit?: (info: RateLimitInfo) => void;
}

type Body = OpenAI.EmbeddingCreateParams;

/**
 * The SDK's Azure client for one deployment. The base URL is given (`<endpoint>/openai`, as the
 * SDK builds it from `endpoint`) because an absent one is read from OPENAI_BASE_URL; the SDK then
 * sends `POST <base>/deployments/<deployment>/embeddings?api-version=…` with the key as `api-key`.
 */
function azureClient(model: ResolvedModel, endpoint: string, apiVersion: string | undefined, common: ConstructorParameters<typeof AzureOpenAI>[0] & { apiKey: string }): AzureOpenAI {
  const { deployment } = model.spec;
  if (!deployment) throw new Error(`${model.key}: an azure-openai model needs its deployment name (namedModel sets it)`);
  const base = endpoint.replace(/\/+$/, '');
  return new AzureOpenAI({ ...common, baseURL: base.endsWith('/openai') ? base : `${base}/openai`, apiVersion: apiVersion ?? AZURE_API_VERSION, deployment });
}

export class OpenAIProvider implements EmbeddingProvider {
  readonly model: ResolvedModel;
  readonly #client: OpenAI;
  readonly #opts: OpenAIProviderOptions;
  readonly #errors: ErrorContext;
  readonly #loop: RequestLoop<Body, unknown>;
  /** Its part of the request protocol, which a routed loop over several deployments also sends through (deployments.ts). */
  readonly adapter: ProviderAdapter<Body, unknown>;

  constructor(model: ResolvedModel, opts: OpenAIProviderOptions) {
    const { kind } = model.spec;
    if (kind !== 'openai' && kind !== 'openai-compatible' && kind !== 'azure-openai') throw new Error(`OpenAIProvider cannot serve ${model.key}`);
    this.model = model;
    this.#opts = opts;
    const baseUrl = opts.baseUrl ?? (kind === 'azure-openai' ? undefined : 'https://api.openai.com/v1');
    if (baseUrl === undefined) throw new Error(`${model.key}: an azure-openai provider needs its resource endpoint as baseUrl`);
    const timeoutMs = opts.timeoutMs ?? 60_000;
    // Everything explicit, so the SDK reads no environment variable of its own (OPENAI_*, AZURE_OPENAI_*).
    const common = {
      apiKey: opts.apiKey,
      organization: opts.organization ?? null,
      project: null,
      adminAPIKey: null,
      webhookSecret: null,
      ...(opts.headers ? { defaultHeaders: { ...opts.headers } } : {}),
      maxRetries: 0,
      timeout: timeoutMs,
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
    };
    this.#client = kind === 'azure-openai' ? azureClient(model, baseUrl, opts.apiVersion, common) : new OpenAI({ ...common, baseURL: baseUrl });
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
      takesTokenIds: true,
      // The API takes strings or token arrays, not both in one request: with any ids, all go as ids.
      request: (input, { tokenIds }) => ({
        model: spec.model,
        input: tokenIds?.some((t) => t !== undefined) ? input.map((text, i) => [...(tokenIds[i] ?? this.#encode(text))]) : input,
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
      serverAddress: new URL(this.#client.baseURL).hostname,
      encodingFormats: [this.#opts.encodingFormat ?? 'base64'],
      responseModel: (data) => {
        const m = (data as { model?: unknown } | null)?.model;
        return typeof m === 'string' ? m : undefined;
      },
      rateLimit: (headers) => {
        const info = parseRateLimitHeaders(headers);
        if (info) this.#opts.onRateLimit?.(info);
        return info;
      },
    };
  }

  #encode(text: string): number[] {
    if (!this.#opts.encode) throw new NonRetryableError(`${this.model.key}: token ids were given for some inputs, and this provider has no tokenizer to send the others as ids`);
    return this.#opts.encode(text);
  }

  #countTokens(inputs: string[], known?: readonly number[]): number[] {
    const exact = this.#opts.countTokens;
    const { maxInputTokens } = this.model.spec;
    return inputs.map((text, i) => {
      // An empty text with a count stands for token ids (EmbedOptions.tokenIds).
      if (text.length === 0 && !known?.[i]) throw new NonRetryableError(`${this.model.key}: input #${i} is empty; OpenAI rejects empty strings`);
      // Counts the caller already has (from the same tokenizer) save a second tokenization.
      const n = known?.[i] ?? (exact ? exact(text) : estimateTokens(text));
      if (exact && n > maxInputTokens)
        throw new NonRetryableError(`${this.model.key}: input #${i} has ${n} tokens, more than the model's ${maxInputTokens}; truncate or split it first (setting "overlong")`);
      return n;
    });
  }
}
