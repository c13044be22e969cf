/**
 * The request protocol every HTTP provider shares, written once: inputs packed into requests,
 * `concurrency` in flight, and per attempt a rate-limit place, the ledger's word (`onSend`,
 * `onCall`), billed tokens reconciled with the limiter, a refused request given back, a 429 that
 * pauses the model for every worker, retries with the server's wait or backoff, the give-up
 * message, and the worker's drain.
 *
 * A provider supplies only what differs, as a {@link ProviderAdapter}: how it counts tokens, its
 * request body, the SDK call, how its answer is decoded, how its errors map, and (optionally) its
 * rate-limit headers. SDK retries stay off in every adapter: retrying here puts every attempt in
 * the ledger and honours the server's Retry-After exactly.
 */
import { providerSpan } from '../telemetry.ts';
import pLimit, { type LimitFunction } from 'p-limit';
import { NonRetryableError, ProviderError } from '../errors.ts';
import { beginAttempt, quietly, retryPause } from './attempts.ts';
import { packRequests, sendSlices, type RequestSlice, type SliceResult } from './pack.ts';
import type { RateLimiter, RateLimitKey, RateLimitPermit } from './rate-limiter.ts';
import { backoffDelay, type BackoffOptions, type HeaderSource, type RateLimitInfo } from './retry.ts';
import type { DeploymentRouter } from './router.ts';
import type { EmbedCall, EmbedOptions, EmbedResult, ModelSpec, ResolvedModel } from './types.ts';

/** The knobs of the loop, the same for every HTTP provider. */
export interface RequestLoopOptions {
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
  /**
   * The rate limiter shared by every worker process: each attempt waits for its place, responses
   * feed it the provider's headers and billed tokens, and a 429 pauses the model for everyone.
   * @default none (every request is sent at once; only this provider's `concurrency` limits it)
   */
  limiter?: RateLimiter;
  /** Source of jitter, for tests. @default Math.random */
  random?: () => number;
}

/** The options of every HTTP provider: the loop's, plus what its SDK client needs. */
export interface HttpProviderOptions extends RequestLoopOptions {
  apiKey: string;
  baseUrl?: string;
  /** Token count of one input, for packing and for the rate limiter's estimate. @default ceil(UTF-8 bytes / 3) */
  countTokens?: (text: string) => number;
  /** Per attempt, until the whole body has arrived. @default 60_000 */
  timeoutMs?: number;
  /** A custom fetch (proxies, tests). @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** One answered attempt, as the adapter's SDK call returns it. */
export interface AdapterResponse<Res> {
  /** The parsed body, not yet validated. */
  data: Res;
  status: number;
  headers?: HeaderSource;
}

/** What one provider supplies to the loop. `Req` is its request body, `Res` its response body. */
export interface ProviderAdapter<Req, Res> {
  /**
   * Tokens of each input, for packing and the limiter; `known[i]`, when given, is input i's count
   * by the model's own tokenizer. May throw a NonRetryableError for an input the provider refuses.
   */
  countTokens(inputs: string[], known: readonly number[] | undefined): number[];
  /** The body of the request for these inputs, sent again unchanged on every retry; `opts.tokenIds` is this request's slice. */
  request(inputs: string[], opts: EmbedOptions): Req;
  /** Whether `request` honours `EmbedOptions.tokenIds` (the provider's API takes token ids). */
  takesTokenIds?: boolean;
  /** One attempt. Resolves once the whole body has arrived; `signal` aborts it. */
  send(request: Req, signal: AbortSignal): Promise<AdapterResponse<Res>>;
  /** Tokens the provider says it billed, if it says. */
  billedTokens(data: Res): number | undefined;
  /** Validates a 200 body and returns unit vectors of `model.dims` in input order, or throws a ProviderError. */
  decode(data: Res, n: number): Float32Array[];
  /** Classifies a failed attempt; a ProviderError (from `decode`) is returned as it is. */
  toError(e: unknown): ProviderError;
  /** The host the requests go to, for traces (`server.address`). */
  serverAddress?: string;
  /** The vector encodings requested (`float`, `base64`), for traces. */
  encodingFormats?: readonly string[];
  /** The model the provider says answered, when its body says (`gen_ai.response.model`). */
  responseModel?(data: Res): string | undefined;
  /**
   * Reads the rate-limit state a response reports. Called with the headers of every answer, also
   * a failed one (the headers of the error's `cause`). Absent: the provider reports none.
   */
  rateLimit?(headers: HeaderSource | undefined): RateLimitInfo | undefined;
}

type Report = Omit<EmbedCall, 'request' | 'attempt' | 'inputs' | 'latencyMs'> & { tokens: number };

/** One deployment a routed loop may send to: its adapter, its own rate-limit key and limits. */
export interface LoopTarget {
  /** The provider name, as the router and the ledger know it. */
  name: string;
  adapter: ProviderAdapter<unknown, unknown>;
  spec: ModelSpec;
}

/** Routing over several deployments of one model version (deployments.ts builds it). */
export interface Routing {
  targets: readonly LoopTarget[];
  router: DeploymentRouter;
  /** A 429 asking to wait longer than this goes to the next deployment. */
  retryAfterMs: number;
}

export class RequestLoop<Req, Res> {
  readonly #targets: readonly LoopTarget[];
  readonly #routing: Routing | undefined;
  readonly #opts: RequestLoopOptions;
  readonly #limit: LimitFunction;
  readonly #model: ResolvedModel;

  /**
   * @param adapter the provider's own; with `routing`, its targets serve instead (the first one
   *   counts tokens), each request going where the router says, failing over as it says
   */
  constructor(model: ResolvedModel, adapter: ProviderAdapter<Req, Res>, opts: RequestLoopOptions, routing?: Routing) {
    this.#targets = routing?.targets ?? [{ name: model.spec.provider, adapter: adapter as ProviderAdapter<unknown, unknown>, spec: model.spec }];
    this.#routing = routing;
    this.#model = model;
    this.#opts = opts;
    this.#limit = pLimit(opts.concurrency ?? 4);
  }

  /** Packs `inputs` under the per-request limits (the tightest of the deployments') and sends the requests. */
  async embed(inputs: string[], opts: EmbedOptions = {}): Promise<EmbedResult> {
    opts.signal?.throwIfAborted();
    if (inputs.length === 0) return { vectors: [], tokens: 0, requests: 0, retries: 0 };
    const tokenCounts = this.#targets[0]!.adapter.countTokens(inputs, opts.tokenCounts);
    const maxInputs = Math.min(...this.#targets.map((t) => t.spec.maxInputsPerRequest));
    const maxTokens = Math.min(...this.#targets.map((t) => t.spec.maxTokensPerRequest));
    const slices = packRequests(tokenCounts, maxInputs, maxTokens);
    return sendSlices(slices, this.#limit, (slice, signal) => this.#send(inputs.slice(slice.start, slice.end), slice, signal, opts), opts.signal);
  }

  /** Where the next attempt goes: the only target, or the router's pick (never none: see pick's lastResort). */
  async #pick(failed: ReadonlySet<string>, lastResort: true): Promise<LoopTarget>;
  async #pick(failed: ReadonlySet<string>, lastResort: false): Promise<LoopTarget | undefined>;
  async #pick(failed: ReadonlySet<string>, lastResort: boolean): Promise<LoopTarget | undefined> {
    if (!this.#routing) return this.#targets[0]!;
    const name = await this.#routing.router.pick(failed, lastResort);
    return this.#targets.find((t) => t.name === name);
  }

  /** Whether a failure sends the request to another deployment: 5xx, timeouts, connection errors, a long 429. */
  #failsOver(err: ProviderError): boolean {
    if (!this.#routing || !err.retryable) return false;
    const s = err.status;
    return s === undefined || s >= 500 || (s === 429 && (err.retryAfterMs ?? 0) > this.#routing.retryAfterMs);
  }

  /** One request with its retries, and its failovers when routed. */
  async #send(inputs: string[], slice: RequestSlice, signal: AbortSignal, opts: EmbedOptions): Promise<SliceResult> {
    const { limiter } = this.#opts;
    const bodies = new Map<string, unknown>();
    const failed = new Set<string>();
    const router = this.#routing?.router;
    let target = await this.#pick(failed, true);
    let failover = false;
    for (let attempt = 1; ; attempt++) {
      const { adapter, name } = target;
      const key: RateLimitKey = { provider: name, model: target.spec.model };
      if (!bodies.has(name)) {
        const tokenIds = opts.tokenIds?.slice(slice.start, slice.end);
        if (tokenIds?.some((t) => t !== undefined) && !adapter.takesTokenIds) throw new NonRetryableError(`${name}/${target.spec.model} does not take token ids; send text`);
        bodies.set(name, adapter.request(inputs, tokenIds ? { ...opts, tokenIds } : opts));
      }
      const request = bodies.get(name);
      const sent = { request: slice.start, attempt, inputs: inputs.length, tokens: slice.tokens, deployment: name, ...(failover ? { failover } : {}) };
      // Outside the try: an abort, a drain or a limiter that cannot find room in time is not an attempt.
      const permit = await beginAttempt({ limiter, key, attempt: sent, signal, drain: opts.drain, onSend: opts.onSend });
      const started = performance.now();
      const report = (c: Report) => opts.onCall?.({ ...sent, latencyMs: Math.round(performance.now() - started), ...c });
      let httpStatus: number | undefined;
      try {
        // The attempt's span ends with its answer or its failure (the failure's handling below is the loop's, not the call's).
        const { vectors, tokens } = await providerSpan(
          { provider: target.spec.provider, model: target.spec.model, modelVersion: this.#model.key, deployment: name, attempt, inputs: inputs.length, mode: 'sync', serverAddress: adapter.serverAddress, encodingFormats: adapter.encodingFormats },
          async (span) => {
            try {
              const res = await adapter.send(request, signal);
              httpStatus = res.status;
              const billed = adapter.billedTokens(res.data);
              // Billed tokens first, so the headers are compared with a corrected window.
              if (permit && billed !== undefined) await quietly(() => limiter!.reconcile(key, permit, billed));
              await this.#observe(adapter, key, res.headers);
              const vectors = adapter.decode(res.data, inputs.length);
              const tokens = billed ?? slice.tokens;
              span.answered({ responseModel: adapter.responseModel?.(res.data), inputTokens: tokens, costUsd: (tokens / 1e6) * target.spec.priceSyncPerMTok });
              return { vectors, tokens };
            } catch (e) {
              const err = signal.aborted ? undefined : adapter.toError(e);
              span.fail(err ?? e, err?.status ? String(err.status) : err?.outcomeUnknown ? 'timeout' : signal.aborted ? 'aborted' : (err?.name ?? 'Error'));
              throw e;
            }
          },
        );
        report({ tokens, status: 'ok', httpStatus });
        if (router) await quietly(() => router.succeeded(name));
        return { vectors, tokens, retries: attempt - 1 };
      } catch (e) {
        if (signal.aborted) {
          // Aborted in flight: the provider may have answered, and billed, meanwhile.
          report({ tokens: slice.tokens, status: 'error', error: 'aborted', ...(httpStatus ? { httpStatus } : { outcomeUnknown: true }) });
          throw signal.reason;
        }
        const err = adapter.toError(e);
        const status = err.status ?? httpStatus;
        const failure = { tokens: slice.tokens, error: err.message, ...(status ? { httpStatus: status } : {}), ...(err.outcomeUnknown ? { outcomeUnknown: true } : {}) };
        const wait = await this.#afterFailure(adapter, key, err, status, attempt, permit);
        if (router && this.#failsOver(err)) {
          await quietly(() => router.failed(name, err.message));
          failed.add(name);
          const next = await this.#pick(failed, false).catch(() => undefined);
          if (next && attempt < (this.#opts.maxAttempts ?? 6)) {
            // Another deployment takes it now: no wait, the failing one is cooling down.
            report({ ...failure, status: 'retry' });
            target = next;
            failover = true;
            continue;
          }
        }
        const stop = this.#stop(err, attempt);
        if (stop) {
          report({ ...failure, status: 'error' });
          throw stop;
        }
        report({ ...failure, status: 'retry' });
        await retryPause(wait, signal, opts.drain);
        failed.clear();
        const again = await this.#pick(failed, true);
        failover = again.name !== name;
        target = again;
      }
    }
  }

  /** The limiter's share of a failed attempt; returns the wait before a next one. */
  async #afterFailure(adapter: ProviderAdapter<unknown, unknown>, key: RateLimitKey, err: ProviderError, status: number | undefined, attempt: number, permit: RateLimitPermit | undefined): Promise<number> {
    const { limiter } = this.#opts;
    // A 429's own word (Retry-After, else the reset of the budget that ran out), else backoff.
    const wait = err.retryAfterMs ?? backoffDelay(attempt, this.#opts.backoff, this.#opts.random);
    const refused = permit !== undefined && status === 429 && err.retryable;
    // The provider did not count the refused request: out of our count before its headers are compared with it.
    if (refused) await quietly(() => limiter!.release(key, permit));
    if (err.cause && typeof err.cause === 'object' && 'headers' in err.cause) await this.#observe(adapter, key, err.cause.headers as HeaderSource | undefined);
    // It asks everyone to hold off: every worker pauses this model, so a 429 storm does not turn into a retry storm.
    if (refused) await quietly(() => limiter!.pause(key, wait));
    return wait;
  }

  /**
   * What a failed request throws when it is not tried again: `err` itself when no retry can help,
   * else a retryable error saying why it stopped. `undefined`: try again.
   */
  #stop(err: ProviderError, attempt: number): ProviderError | undefined {
    if (!err.retryable) return err;
    const { maxAttempts = 6, maxRetryAfterMs = 60_000 } = this.#opts;
    const tooLong = err.retryAfterMs !== undefined && err.retryAfterMs > maxRetryAfterMs;
    if (!tooLong && attempt < maxAttempts) return undefined;
    const why = tooLong ? `the server asks to wait ${err.retryAfterMs} ms, more than maxRetryAfterMs ${maxRetryAfterMs}` : `gave up after ${attempt} attempt${attempt === 1 ? '' : 's'}`;
    return new ProviderError(`${err.message} (${why})`, {
      retryable: true,
      ...(err.status === undefined ? {} : { status: err.status }),
      ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }),
      cause: err,
    });
  }

  /** Hands a response's rate-limit state to the limiter (the adapter's hook tells anyone else who asked). */
  async #observe(adapter: ProviderAdapter<unknown, unknown>, key: RateLimitKey, headers: HeaderSource | undefined): Promise<void> {
    const info = adapter.rateLimit?.(headers);
    const { limiter } = this.#opts;
    if (info && limiter) await quietly(() => limiter.observe(key, info));
  }
}
