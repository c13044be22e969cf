/**
 * Voyage AI embeddings through the official SDK (`voyageai`, POST /v1/embeddings), as an adapter
 * of the request loop (request-loop.ts).
 *
 * Voyage embeds documents and queries differently (`input_type` document / query: it prepends a
 * retrieval prompt), takes at most 1,000 texts and a per-model token total per request (the
 * catalogue's limits), and sizes the 3-large, 3.5, code-3 and 4 families with `output_dimension`;
 * other sizes are truncated or padded here. Over-long texts are cut to the context by Voyage
 * (`truncation`, on by default), and its per-request cap counts tokens after that cut.
 * Vectors travel as base64 (little-endian float32).
 */
import { GeneratedVoyageAIClient, VoyageAITimeoutError, type EmbedRequest, type EmbedResponse } from 'voyageai';
import { redactUrl } from '../config/redact.ts';
import { ProviderError } from '../errors.ts';
import type { ErrorContext } from './http-errors.ts';
import { estimateTokens } from './pack.ts';
import { RequestLoop, type HttpProviderOptions, type ProviderAdapter } from './request-loop.ts';
import { adaptDims, decodeFloat32Base64 } from './vectors.ts';
import { toVoyageProviderError } from './voyage-errors.ts';
import type { EmbedOptions, EmbedResult, EmbeddingProvider, ResolvedModel } from './types.ts';

export const VOYAGE_BASE_URL = 'https://api.voyageai.com/v1';

export interface VoyageProviderOptions extends HttpProviderOptions {
  /** The API root the SDK appends `embeddings` to (a proxy, the simulator). @default https://api.voyageai.com/v1 */
  baseUrl?: string;
  /**
   * Token count of one input, for packing and for the rate limiter's estimate. Voyage's
   * tokenizer is not available offline, so this is only an estimate and never rejects input.
   * @default ceil(UTF-8 bytes / 3)
   */
  countTokens?: (text: string) => number;
  /**
   * Voyage's `truncation`: cut an input longer than the model's context instead of refusing the
   * request with a 400. @default true
   */
  truncation?: boolean;
}

export class VoyageProvider implements EmbeddingProvider {
  readonly model: ResolvedModel;
  readonly #client: GeneratedVoyageAIClient;
  readonly #opts: VoyageProviderOptions;
  readonly #errors: ErrorContext;
  readonly #loop: RequestLoop<EmbedRequest, EmbedResponse>;
  /** Its part of the request protocol, which a routed loop over several deployments also sends through (deployments.ts). */
  readonly adapter: ProviderAdapter<EmbedRequest, EmbedResponse>;

  constructor(model: ResolvedModel, opts: VoyageProviderOptions) {
    this.model = model;
    this.#opts = opts;
    const baseUrl = opts.baseUrl ?? VOYAGE_BASE_URL;
    const timeoutMs = opts.timeoutMs ?? 60_000;
    // The generated client, not the package's extended one: that one embeds voyage-4-nano
    // locally (Transformers.js) instead of calling the API. A key is always given, so the SDK
    // never falls back to VOYAGE_API_KEY from the environment.
    this.#client = new GeneratedVoyageAIClient({ apiKey: opts.apiKey, baseUrl, maxRetries: 0, timeoutInSeconds: timeoutMs / 1000, fetch: withReason(opts.fetch ?? fetch) });
    this.#errors = { name: `voyage/${model.spec.model}`, baseUrl: redactUrl(baseUrl), timeoutMs, apiKey: opts.apiKey };
    this.adapter = this.#adapter();
    this.#loop = new RequestLoop(model, this.adapter, opts);
  }

  embed(inputs: string[], opts?: EmbedOptions): Promise<EmbedResult> {
    return this.#loop.embed(inputs, opts);
  }

  #adapter(): ProviderAdapter<EmbedRequest, EmbedResponse> {
    const { dims, dimAdapter, spec } = this.model;
    const count = this.#opts.countTokens ?? estimateTokens;
    const truncation = this.#opts.truncation ?? true;
    return {
      // With truncation on, Voyage counts an input at most at its context length.
      countTokens: (inputs, known) => inputs.map((t, i) => (truncation ? Math.min(known?.[i] ?? count(t), spec.maxInputTokens) : (known?.[i] ?? count(t)))),
      request: (input, opts) => ({
        input,
        model: spec.model,
        inputType: opts.inputType === 'query' ? 'query' : 'document',
        truncation,
        encodingFormat: 'base64',
        ...(dimAdapter === 'provider' ? { outputDimension: dims } : {}),
      }),
      send: async (request, signal) => {
        // The SDK's own timeout stops at the headers; this one covers the body too.
        const timeout = AbortSignal.timeout(this.#errors.timeoutMs);
        try {
          const { data, rawResponse } = await this.#client.embed(request, { abortSignal: AbortSignal.any([signal, timeout]) }).withRawResponse();
          return { data, status: rawResponse.status };
        } catch (e) {
          throw timeout.aborted ? new VoyageAITimeoutError('timeout') : e;
        }
      },
      billedTokens: (data) => {
        // The SDK renames `usage.total_tokens` to `totalTokens`.
        const billed = data?.usage?.totalTokens;
        return typeof billed === 'number' ? billed : undefined;
      },
      decode: (data, n) => this.#decode(data, n),
      toError: (e) => toVoyageProviderError(e, this.#errors),
    };
  }

  /** Validates a 200 body and returns unit vectors of `model.dims`, in input order. */
  #decode(data: unknown, n: number): Float32Array[] {
    const { dims, dimAdapter, spec } = this.model;
    const name = this.#errors.name;
    // A 200 whose body is not JSON reaches us (from the SDK) as an object without `data`.
    const items = (data as { data?: unknown } | null)?.data;
    if (!Array.isArray(items)) throw new ProviderError(`${name}: returned a malformed response body (no "data" array)`, { retryable: true });
    if (items.length !== n) throw new ProviderError(`${name}: returned ${items.length} embeddings for ${n} inputs`, { retryable: false });
    // With 'provider' or 'native' the server returns `dims`; otherwise its native size, adapted here.
    const expected = dimAdapter === 'truncate' || dimAdapter === 'pad' ? spec.nativeDims : dims;
    const out: Float32Array[] = new Array(n);
    for (const item of items as { index?: unknown; embedding?: unknown }[]) {
      const index = item?.index;
      if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= n || out[index])
        throw new ProviderError(`${name}: returned an embedding with a missing, duplicate or out-of-range index ${JSON.stringify(index)}`, { retryable: false });
      const raw = item.embedding;
      const vec = typeof raw === 'string' ? decodeFloat32Base64(raw) : Array.isArray(raw) && raw.every((x) => typeof x === 'number') ? Float32Array.from(raw as number[]) : undefined;
      if (!vec) throw new ProviderError(`${name}: embedding #${index} is neither base64 nor an array of numbers`, { retryable: false });
      if (vec.length !== expected) throw new ProviderError(`${name}: provider returned ${vec.length}-dim vectors, expected ${expected}`, { retryable: false });
      out[index] = adaptDims(vec, dims, dimAdapter, { inPlace: true });
    }
    return out;
  }
}

/**
 * The SDK keeps only a failed fetch's message, and undici's is "fetch failed": this adds the
 * reason (`connect ECONNREFUSED 127.0.0.1:9`). Aborts pass unchanged, so the SDK still sees them.
 */
function withReason(f: typeof fetch): typeof fetch {
  return async (input, init) => {
    try {
      return await f(input, init);
    } catch (e) {
      if (!(e instanceof Error) || e.name === 'AbortError' || e.name === 'TimeoutError' || !(e.cause instanceof Error)) throw e;
      throw new TypeError(`${e.message}: ${e.cause.message}`, { cause: e });
    }
  };
}
