/**
 * Cohere embeddings through the official SDK (`CohereClientV2.embed`, POST /v2/embed), as an
 * adapter of the request loop (request-loop.ts).
 *
 * Cohere embeds documents and queries differently (`input_type` search_document / search_query),
 * takes at most 96 texts per call, and sizes embed-v4.0 output with `output_dimension`; other
 * sizes are padded here. Over-long texts are cut at the end by Cohere (its default `truncate`).
 */
import { CohereClientV2, CohereTimeoutError, type Cohere } from 'cohere-ai';
import { ProviderError } from '../errors.ts';
import { toCohereProviderError } from './cohere-errors.ts';
import type { ErrorContext } from './http-errors.ts';
import { estimateTokens } from './pack.ts';
import { RequestLoop, type HttpProviderOptions, type ProviderAdapter } from './request-loop.ts';
import { adaptDims } from './vectors.ts';
import type { EmbedOptions, EmbedResult, EmbeddingProvider, ResolvedModel } from './types.ts';

export const COHERE_BASE_URL = 'https://api.cohere.com';

export interface CohereProviderOptions extends HttpProviderOptions {
  /** The SDK's base URL (a proxy, the simulator). @default https://api.cohere.com */
  baseUrl?: string;
  /**
   * Token count of one input, for packing and for the rate limiter's estimate. Cohere's
   * tokenizer is not available offline, so this is only ever an estimate and never rejects input.
   * @default ceil(UTF-8 bytes / 3)
   */
  countTokens?: (text: string) => number;
}

export class CohereProvider implements EmbeddingProvider {
  readonly model: ResolvedModel;
  readonly #client: CohereClientV2;
  readonly #opts: CohereProviderOptions;
  readonly #errors: ErrorContext;
  readonly #loop: RequestLoop<Cohere.V2EmbedRequest, Cohere.EmbedByTypeResponse>;
  /** Its part of the request protocol, which a routed loop over several deployments also sends through (deployments.ts). */
  readonly adapter: ProviderAdapter<Cohere.V2EmbedRequest, Cohere.EmbedByTypeResponse>;

  constructor(model: ResolvedModel, opts: CohereProviderOptions) {
    if (model.spec.kind !== 'cohere') throw new Error(`CohereProvider cannot serve ${model.key}`);
    this.model = model;
    this.#opts = opts;
    const baseUrl = opts.baseUrl ?? COHERE_BASE_URL;
    const timeoutMs = opts.timeoutMs ?? 60_000;
    // A token always given, so the SDK never falls back to CO_API_KEY from the environment.
    this.#client = new CohereClientV2({ token: opts.apiKey, baseUrl, maxRetries: 0, timeoutInSeconds: timeoutMs / 1000, clientName: 'embedq', ...(opts.fetch ? { fetch: opts.fetch } : {}) });
    this.#errors = { name: `${model.spec.provider}/${model.spec.model}`, baseUrl, timeoutMs, apiKey: opts.apiKey };
    this.adapter = this.#adapter();
    this.#loop = new RequestLoop(model, this.adapter, opts);
  }

  embed(inputs: string[], opts?: EmbedOptions): Promise<EmbedResult> {
    return this.#loop.embed(inputs, opts);
  }

  #adapter(): ProviderAdapter<Cohere.V2EmbedRequest, Cohere.EmbedByTypeResponse> {
    const { dims, dimAdapter, spec } = this.model;
    const count = this.#opts.countTokens ?? estimateTokens;
    return {
      countTokens: (inputs, known) => inputs.map((t, i) => known?.[i] ?? count(t)),
      request: (texts, opts) => ({
        model: spec.model,
        texts,
        inputType: opts.inputType === 'query' ? 'search_query' : 'search_document',
        embeddingTypes: ['float'],
        ...(dimAdapter === 'provider' ? { outputDimension: dims } : {}),
      }),
      send: async (request, signal) => {
        // The SDK's own timeout stops at the headers; this one covers the body too.
        const timeout = AbortSignal.timeout(this.#errors.timeoutMs);
        try {
          const { data, rawResponse } = await this.#client.embed(request, { abortSignal: AbortSignal.any([signal, timeout]) }).withRawResponse();
          return { data, status: rawResponse.status };
        } catch (e) {
          throw timeout.aborted ? new CohereTimeoutError('timeout', { cause: e }) : e;
        }
      },
      billedTokens: (data) => {
        const billed = data?.meta?.billedUnits?.inputTokens;
        return typeof billed === 'number' ? billed : undefined;
      },
      decode: (data, n) => this.#decode(data, n),
      toError: (e) => toCohereProviderError(e, this.#errors),
    };
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
