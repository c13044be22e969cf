/**
 * Gemini embeddings through the official SDK (@google/genai, `ai.models.embedContent`), as an
 * adapter of the request loop (request-loop.ts).
 *
 * On the Gemini Developer API the SDK sends every call, one text or many, as
 * `POST {baseUrl}/{apiVersion}/models/{model}:batchEmbedContents` with one request per text
 * (`{ model, content, taskType, outputDimensionality }`) and reads `embeddings[].values`. Google
 * caps a batch at 100 requests. Documents and queries are embedded differently (`taskType`
 * RETRIEVAL_DOCUMENT / RETRIEVAL_QUERY); `outputDimensionality` cuts the vector, and the cut
 * vector is not unit length, so every vector is normalized here. docs/providers-gemini.md has
 * the sources.
 */
import { ApiError, GoogleGenAI, type EmbedContentParameters, type EmbedContentResponse } from '@google/genai';
import { ProviderError } from '../errors.ts';
import { GeminiHttpError, GeminiTimeoutError, toGeminiProviderError } from './gemini-errors.ts';
import type { ErrorContext } from './http-errors.ts';
import { estimateTokens } from './pack.ts';
import { RequestLoop, type HttpProviderOptions, type ProviderAdapter } from './request-loop.ts';
import type { HeaderSource } from './retry.ts';
import { adaptDims } from './vectors.ts';
import type { EmbedOptions, EmbedResult, EmbeddingProvider, ResolvedModel } from './types.ts';

export const GEMINI_BASE_URL = 'https://generativelanguage.googleapis.com';
/** Pinned, so that an SDK release that changes its default (3.3.0 says `v1`) does not move us. */
export const GEMINI_API_VERSION = 'v1beta';

export interface GeminiProviderOptions extends HttpProviderOptions {
  /** The API's origin (a proxy, the simulator); the version is appended. @default https://generativelanguage.googleapis.com */
  baseUrl?: string;
  /** @default 'v1beta' */
  apiVersion?: string;
  /** Extra headers on every request (a proxy's own auth). @default none */
  headers?: Record<string, string>;
  /**
   * Token count of one input, for packing and for the rate limiter's estimate. Gemini's
   * tokenizer is not used offline, so this is only ever an estimate and never rejects input.
   * @default ceil(UTF-8 bytes / 3)
   */
  countTokens?: (text: string) => number;
}

type Request = Omit<EmbedContentParameters, 'config'> & { config: { taskType: string; outputDimensionality?: number } };

export class GeminiProvider implements EmbeddingProvider {
  readonly model: ResolvedModel;
  readonly #client: GoogleGenAI;
  readonly #opts: GeminiProviderOptions;
  readonly #errors: ErrorContext;
  readonly #loop: RequestLoop<Request, EmbedContentResponse>;
  /** Its part of the request protocol, which a routed loop over several deployments also sends through (deployments.ts). */
  readonly adapter: ProviderAdapter<Request, EmbedContentResponse>;

  constructor(model: ResolvedModel, opts: GeminiProviderOptions) {
    this.model = model;
    this.#opts = opts;
    const baseUrl = opts.baseUrl ?? GEMINI_BASE_URL;
    // `vertexai: false` and a key always given, so GOOGLE_GENAI_USE_VERTEXAI and GEMINI_API_KEY in
    // the environment change nothing. No `retryOptions`: the SDK then sends each call once.
    this.#client = new GoogleGenAI({
      apiKey: opts.apiKey,
      vertexai: false,
      httpOptions: { baseUrl, apiVersion: opts.apiVersion ?? GEMINI_API_VERSION, ...(opts.headers ? { headers: opts.headers } : {}) },
    });
    this.#errors = { name: `gemini/${model.spec.model}`, baseUrl, timeoutMs: opts.timeoutMs ?? 60_000, apiKey: opts.apiKey };
    this.adapter = this.#adapter();
    this.#loop = new RequestLoop(model, this.adapter, opts);
  }

  embed(inputs: string[], opts?: EmbedOptions): Promise<EmbedResult> {
    return this.#loop.embed(inputs, opts);
  }

  #adapter(): ProviderAdapter<Request, EmbedContentResponse> {
    const { dims, dimAdapter, spec } = this.model;
    const count = this.#opts.countTokens ?? estimateTokens;
    return {
      countTokens: (inputs, known) => inputs.map((t, i) => known?.[i] ?? count(t)),
      request: (texts, opts) => ({
        model: spec.model,
        // One Content per text: plain strings would become one Content of many parts for
        // gemini-embedding-2, one embedding for all of them (the SDK's tContents).
        contents: texts.map((text) => ({ role: 'user', parts: [{ text }] })),
        config: {
          taskType: opts.inputType === 'query' ? 'RETRIEVAL_QUERY' : 'RETRIEVAL_DOCUMENT',
          ...(dimAdapter === 'provider' ? { outputDimensionality: dims } : {}),
        },
      }),
      send: (request, signal) => this.#send(request, signal),
      billedTokens: (data) => {
        const billed = (data as { usageMetadata?: { promptTokenCount?: unknown } } | null)?.usageMetadata?.promptTokenCount;
        return typeof billed === 'number' ? billed : undefined;
      },
      decode: (data, n) => this.#decode(data, n),
      toError: (e) => toGeminiProviderError(e, this.#errors),
    };
  }

  /** One attempt. A fetch of our own per call keeps the response's headers, which ApiError drops. */
  async #send(request: Request, signal: AbortSignal) {
    // Our deadline, not `httpOptions.timeout`: its abort looks like any other and could not be told apart.
    const timeout = AbortSignal.timeout(this.#errors.timeoutMs);
    const fetchFn = this.#opts.fetch ?? globalThis.fetch;
    let headers: HeaderSource | undefined;
    const keepHeaders: typeof fetch = async (input, init) => {
      const res = await fetchFn(input, init);
      headers = res.headers;
      return res;
    };
    try {
      const data = await this.#client.models.embedContent({
        ...request,
        config: { ...request.config, abortSignal: AbortSignal.any([signal, timeout]), httpOptions: { fetch: keepHeaders } },
      });
      return { data, status: 200, ...(headers ? { headers } : {}) };
    } catch (e) {
      if (timeout.aborted) throw new GeminiTimeoutError('timeout', { cause: e });
      throw e instanceof ApiError ? new GeminiHttpError(e, headers) : e;
    }
  }

  /** Validates a 200 body and returns unit vectors of `model.dims`, in input order. */
  #decode(data: unknown, n: number): Float32Array[] {
    const { dims, dimAdapter, spec } = this.model;
    const name = this.#errors.name;
    const embeddings = (data as { embeddings?: unknown } | null)?.embeddings;
    if (!Array.isArray(embeddings)) throw new ProviderError(`${name}: returned a malformed response body (no "embeddings" array)`, { retryable: true });
    if (embeddings.length !== n) throw new ProviderError(`${name}: returned ${embeddings.length} embeddings for ${n} inputs`, { retryable: false });
    // With 'provider' or 'native' the server returns `dims`; otherwise its native size, adapted here.
    const expected = dimAdapter === 'truncate' || dimAdapter === 'pad' ? spec.nativeDims : dims;
    return embeddings.map((e: unknown, i) => {
      const raw = (e as { values?: unknown } | null)?.values;
      if (!Array.isArray(raw) || raw.some((x) => typeof x !== 'number'))
        throw new ProviderError(`${name}: embedding #${i} has no "values" array of numbers`, { retryable: false });
      if (raw.length !== expected) throw new ProviderError(`${name}: provider returned ${raw.length}-dim vectors, expected ${expected}`, { retryable: false });
      // adaptDims normalizes: reduced Gemini vectors arrive with a norm below 1.
      return adaptDims(Float32Array.from(raw as number[]), dims, dimAdapter, { inPlace: true });
    });
  }
}
