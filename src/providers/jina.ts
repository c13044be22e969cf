/**
 * Jina AI embeddings (POST https://api.jina.ai/v1/embeddings, Bearer key) over fetch, as an
 * adapter of the request loop (request-loop.ts). Jina publishes no Node SDK.
 *
 * Jina embeds documents and queries with different adapters (`task` retrieval.passage /
 * retrieval.query, for jina-embeddings-v3, v4 and v5), shortens vectors with `dimensions`
 * (Matryoshka), and reports `usage.total_tokens` and `X-RateLimit-Remaining-Requests|Tokens`.
 * Never sent: `late_chunking`, with which a vector depends on the other inputs of its request
 * (so no cache could hold it), and `normalized` (v4 does not take it; vectors are normalised
 * here). Facts and sources: docs/providers-jina.md.
 */
import { redactUrl } from '../config/redact.ts';
import type { ErrorContext } from './http-errors.ts';
import { decodeIndexedEmbeddings } from './indexed-embeddings.ts';
import { JinaHttpError, JinaTimeoutError, toJinaProviderError } from './jina-errors.ts';
import { estimateTokens } from './pack.ts';
import { RequestLoop, type AdapterResponse, type HttpProviderOptions, type ProviderAdapter } from './request-loop.ts';
import { parseRateLimitHeaders, type RateLimitInfo } from './retry.ts';
import type { EmbedOptions, EmbedResult, EmbeddingProvider, ResolvedModel } from './types.ts';

export const JINA_BASE_URL = 'https://api.jina.ai/v1';

export interface JinaProviderOptions extends HttpProviderOptions {
  /** The API root, `/embeddings` is appended (a proxy, the simulator). @default https://api.jina.ai/v1 */
  baseUrl?: string;
  /**
   * Token count of one input, for packing and for the rate limiter's estimate. Jina's tokenizers
   * are not available offline, so this is an estimate and never rejects input.
   * @default ceil(UTF-8 bytes / 3)
   */
  countTokens?: (text: string) => number;
  /**
   * Let Jina cut inputs longer than the model's context instead of refusing the request (its
   * `truncate`). Off, an over-long input fails the request with a non-retryable 4xx.
   * @default false
   */
  truncate?: boolean;
  /** Called with the rate-limit headers of every response that carries them. */
  onRateLimit?: (info: RateLimitInfo) => void;
}

/** The body we send: Jina's EmbeddingsV3/V4Request, text inputs only. */
export interface JinaEmbeddingsRequest {
  model: string;
  input: string[];
  task: 'retrieval.query' | 'retrieval.passage';
  embedding_type: 'float';
  dimensions?: number;
  truncate?: true;
}

export class JinaProvider implements EmbeddingProvider {
  readonly model: ResolvedModel;
  readonly #opts: JinaProviderOptions;
  readonly #url: string;
  readonly #errors: ErrorContext;
  readonly #loop: RequestLoop<JinaEmbeddingsRequest, unknown>;
  /** Its part of the request protocol, which a routed loop over several deployments also sends through (deployments.ts). */
  readonly adapter: ProviderAdapter<JinaEmbeddingsRequest, unknown>;

  constructor(model: ResolvedModel, opts: JinaProviderOptions) {
    this.model = model;
    this.#opts = opts;
    const baseUrl = (opts.baseUrl ?? JINA_BASE_URL).replace(/\/+$/, '');
    this.#url = `${baseUrl}/embeddings`;
    this.#errors = { name: `${model.spec.provider}/${model.spec.model}`, baseUrl: redactUrl(baseUrl), timeoutMs: opts.timeoutMs ?? 60_000, apiKey: opts.apiKey };
    this.adapter = this.#adapter();
    this.#loop = new RequestLoop(model, this.adapter, opts);
  }

  embed(inputs: string[], opts?: EmbedOptions): Promise<EmbedResult> {
    return this.#loop.embed(inputs, opts);
  }

  #adapter(): ProviderAdapter<JinaEmbeddingsRequest, unknown> {
    const { dims, dimAdapter, spec } = this.model;
    const count = this.#opts.countTokens ?? estimateTokens;
    return {
      countTokens: (inputs, known) => inputs.map((t, i) => known?.[i] ?? count(t)),
      request: (input, opts) => ({
        model: spec.model,
        input,
        task: opts.inputType === 'query' ? 'retrieval.query' : 'retrieval.passage',
        embedding_type: 'float',
        ...(dimAdapter === 'provider' ? { dimensions: dims } : {}),
        ...(this.#opts.truncate ? { truncate: true as const } : {}),
      }),
      send: (request, signal) => this.#send(request, signal),
      billedTokens: (data) => {
        const total = (data as { usage?: { total_tokens?: unknown } } | null)?.usage?.total_tokens;
        return typeof total === 'number' ? total : undefined;
      },
      decode: (data, n) => decodeIndexedEmbeddings(data, n, this.model, this.#errors.name),
      toError: (e) => toJinaProviderError(e, this.#errors),
      rateLimit: (headers) => {
        const info = parseRateLimitHeaders(headers);
        if (info) this.#opts.onRateLimit?.(info);
        return info;
      },
    };
  }

  /** One POST; resolves once the whole body has arrived, throws JinaHttpError for a non-2xx. */
  async #send(request: JinaEmbeddingsRequest, signal: AbortSignal): Promise<AdapterResponse<unknown>> {
    // One timeout for the headers and the body: a server that stalls mid-body is a timeout too.
    const timeout = AbortSignal.timeout(this.#errors.timeoutMs);
    const doFetch = this.#opts.fetch ?? globalThis.fetch;
    try {
      const res = await doFetch(this.#url, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.#opts.apiKey}`, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(request),
        signal: AbortSignal.any([signal, timeout]),
      });
      const text = await res.text();
      if (!res.ok) throw new JinaHttpError(res.status, parseOrText(text), res.headers);
      // A 200 that is not JSON reaches decode as text, which calls it malformed (and the ledger sees the 200).
      return { data: parseOrText(text), status: res.status, headers: res.headers };
    } catch (e) {
      throw timeout.aborted && !signal.aborted ? new JinaTimeoutError('timeout', { cause: e }) : e;
    }
  }
}

function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
