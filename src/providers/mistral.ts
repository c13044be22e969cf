/**
 * Mistral embeddings through the official SDK (`@mistralai/mistralai`, POST /v1/embeddings), as
 * an adapter of the request loop (request-loop.ts).
 *
 * Mistral has no input type: documents and queries are embedded alike, so `inputType` is ignored.
 * codestral-embed sizes its output with `output_dimension` (any size up to 3,072, 1,536 by
 * default); mistral-embed is 1,024 dims only, and other sizes are truncated or padded here. The
 * SDK's standalone function is used instead of `client.embeddings.create` because it also hands
 * back the response, whose headers carry the rate-limit state. Limits and their sources:
 * docs/providers-mistral.md.
 */
import { HTTPClient } from '@mistralai/mistralai';
import { MistralCore } from '@mistralai/mistralai/core.js';
import { embeddingsCreate } from '@mistralai/mistralai/funcs/embeddingsCreate.js';
import type { EmbeddingRequest, EmbeddingResponse } from '@mistralai/mistralai/models/components';
import { RequestTimeoutError } from '@mistralai/mistralai/models/errors';
import { redactUrl } from '../config/redact.ts';
import { ProviderError } from '../errors.ts';
import type { ErrorContext } from './http-errors.ts';
import { toMistralProviderError } from './mistral-errors.ts';
import { estimateTokens } from './pack.ts';
import { RequestLoop, type HttpProviderOptions, type ProviderAdapter } from './request-loop.ts';
import type { HeaderSource, RateLimitInfo } from './retry.ts';
import { adaptDims } from './vectors.ts';
import type { EmbedOptions, EmbedResult, EmbeddingProvider, ResolvedModel } from './types.ts';

export const MISTRAL_BASE_URL = 'https://api.mistral.ai';

export interface MistralProviderOptions extends HttpProviderOptions {
  /** The SDK's `serverURL`, without `/v1` (a proxy, the EU/US servers, the simulator). @default https://api.mistral.ai */
  baseUrl?: string;
  /**
   * Token count of one input, for packing and for the rate limiter's estimate. Mistral's
   * tokenizer is not available offline, so this is only ever an estimate and never rejects input.
   * @default ceil(UTF-8 bytes / 3)
   */
  countTokens?: (text: string) => number;
  /** Told the rate-limit state of every response that reports one. */
  onRateLimit?: (info: RateLimitInfo) => void;
}

/**
 * The SDK's core client as embedq uses it, sync and batch: the key always given (so the SDK never
 * falls back to MISTRAL_API_KEY from the environment), and no SDK retries (embedq's own retry).
 */
export function mistralCore(opts: { apiKey: string; serverURL: string; timeoutMs: number; fetch?: typeof fetch }): MistralCore {
  return new MistralCore({
    apiKey: opts.apiKey,
    serverURL: opts.serverURL,
    retryConfig: { strategy: 'none' },
    timeoutMs: opts.timeoutMs,
    ...(opts.fetch ? { httpClient: new HTTPClient({ fetcher: opts.fetch }) } : {}),
  });
}

export class MistralProvider implements EmbeddingProvider {
  readonly model: ResolvedModel;
  readonly #client: MistralCore;
  readonly #errors: ErrorContext;
  readonly #loop: RequestLoop<EmbeddingRequest, EmbeddingResponse>;
  /** Its part of the request protocol, which a routed loop over several deployments also sends through (deployments.ts). */
  readonly adapter: ProviderAdapter<EmbeddingRequest, EmbeddingResponse>;

  constructor(model: ResolvedModel, opts: MistralProviderOptions) {
    this.model = model;
    const serverURL = opts.baseUrl ?? MISTRAL_BASE_URL;
    const timeoutMs = opts.timeoutMs ?? 60_000;
    this.#client = mistralCore({ apiKey: opts.apiKey, serverURL, timeoutMs, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
    this.#errors = { name: `mistral/${model.spec.model}`, baseUrl: redactUrl(serverURL), timeoutMs, apiKey: opts.apiKey };
    this.adapter = this.#adapter(opts);
    this.#loop = new RequestLoop(model, this.adapter, opts);
  }

  embed(inputs: string[], opts?: EmbedOptions): Promise<EmbedResult> {
    return this.#loop.embed(inputs, opts);
  }

  #adapter(opts: MistralProviderOptions): ProviderAdapter<EmbeddingRequest, EmbeddingResponse> {
    const { dims, dimAdapter, spec } = this.model;
    const count = opts.countTokens ?? estimateTokens;
    return {
      countTokens: (inputs, known) => inputs.map((t, i) => known?.[i] ?? count(t)),
      // No input type to map: Mistral embeds queries and documents alike.
      request: (inputs) => ({ model: spec.model, inputs, ...(dimAdapter === 'provider' ? { outputDimension: dims } : {}) }),
      send: async (request, signal) => {
        // A signal given to the SDK replaces its own timeout (sdks.ts); this one covers the body too.
        const timeout = AbortSignal.timeout(this.#errors.timeoutMs);
        try {
          const [result, call] = await embeddingsCreate(this.#client, request, { signal: AbortSignal.any([signal, timeout]) }).$inspect();
          if (!result.ok) throw result.error;
          return { data: result.value, status: call.response?.status ?? 200, ...(call.response ? { headers: call.response.headers } : {}) };
        } catch (e) {
          throw timeout.aborted && !signal.aborted ? new RequestTimeoutError('Request timed out', { cause: e }) : e;
        }
      },
      billedTokens: (data) => {
        // The SDK defaults a missing count to 0; every request has at least one token.
        const usage = data?.usage;
        const billed = usage?.promptTokens || usage?.totalTokens;
        return typeof billed === 'number' && billed > 0 ? billed : undefined;
      },
      decode: (data, n) => this.#decode(data, n),
      toError: (e) => toMistralProviderError(e, this.#errors),
      rateLimit: (headers) => {
        const info = mistralRateLimit(headers);
        if (info) opts.onRateLimit?.(info);
        return info;
      },
    };
  }

  /** Validates a 200 body and returns unit vectors of `model.dims`, in input order. */
  #decode(data: unknown, n: number): Float32Array[] {
    const { dims, dimAdapter, spec } = this.model;
    const name = this.#errors.name;
    const items = (data as { data?: unknown } | null)?.data;
    if (!Array.isArray(items)) throw new ProviderError(`${name}: returned a malformed response body (no "data" array)`, { retryable: true });
    if (items.length !== n) throw new ProviderError(`${name}: returned ${items.length} embeddings for ${n} inputs`, { retryable: false });
    const expected = dimAdapter === 'truncate' || dimAdapter === 'pad' ? spec.nativeDims : dims;
    const out: Float32Array[] = new Array(n);
    // `index` is optional in the SDK's schema: absent, the list order is the input order.
    for (const [pos, item] of (items as { index?: unknown; embedding?: unknown }[]).entries()) {
      const at = item?.index ?? pos;
      if (typeof at !== 'number' || !Number.isInteger(at) || at < 0 || at >= n || out[at])
        throw new ProviderError(`${name}: returned an embedding with a duplicate or out-of-range index ${JSON.stringify(at)}`, { retryable: false });
      const raw = item.embedding;
      if (!Array.isArray(raw) || raw.some((x) => typeof x !== 'number')) throw new ProviderError(`${name}: embedding #${at} is not an array of numbers`, { retryable: false });
      if (raw.length !== expected) throw new ProviderError(`${name}: provider returned ${raw.length}-dim vectors, expected ${expected}`, { retryable: false });
      out[at] = adaptDims(Float32Array.from(raw as number[]), dims, dimAdapter, { inPlace: true });
    }
    return out;
  }
}

/**
 * Mistral's per-minute budgets, as its responses report them (`x-ratelimit-limit-req-minute`,
 * `-remaining-req-minute`, `-limit-tokens-minute`, `-remaining-tokens-minute`). They carry no reset
 * time. `undefined` when none is present.
 */
export function mistralRateLimit(headers: HeaderSource | undefined): RateLimitInfo | undefined {
  if (!headers) return undefined;
  const info: RateLimitInfo = {};
  const read = (key: keyof RateLimitInfo, name: string) => {
    const v = headers.get(`x-ratelimit-${name}`);
    if (v != null && v.trim() !== '' && Number.isFinite(Number(v))) info[key] = Number(v);
  };
  read('limitRequests', 'limit-req-minute');
  read('remainingRequests', 'remaining-req-minute');
  read('limitTokens', 'limit-tokens-minute');
  read('remainingTokens', 'remaining-tokens-minute');
  return Object.keys(info).length > 0 ? info : undefined;
}
