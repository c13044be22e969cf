/**
 * One rate limiter for every worker process: requests and tokens per window (a minute by
 * default) per `provider/model`, kept in Redis so that N workers together stay under the
 * provider's RPM/TPM instead of each taking the whole budget.
 *
 * The algorithm is a sliding-window log with reservations (scripts in rate-limiter-scripts.ts):
 * every request is an entry counted from the moment it is admitted until one window after its
 * response came back, and a caller that does not fit now is given the exact moment it will (when
 * enough old entries have left the window), reserves it and sleeps until then: no polling, first
 * come first served. A sliding log is what lets us aim at the limit itself: any sequence it admits
 * also conforms to a provider that enforces a sliding window or a token bucket of the same size,
 * whereas a token bucket alone would either allow double the limit in one window or waste part of
 * it. On top, a GCRA pace spreads each window's budget evenly (`burstMs` of run-ahead), so the
 * window is not spent in one burst that then repeats every window: waits stay short and even, and
 * providers that enforce their per-minute limit per second are not tripped.
 *
 * It learns at run time: `observe` takes the provider's `x-ratelimit-*` headers (a lower limit
 * than configured wins; usage we did not count is added until the reported reset time), `reconcile` replaces an estimate by the
 * billed count and tunes later estimates, and `pause` (a 429's Retry-After) holds every process.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { ProviderError } from '../errors.ts';
import type { RateLimitInfo } from './retry.ts';
import { ACQUIRE, ADMIT, OBSERVE, PAUSE, RECONCILE, RELEASE, USAGE, type LuaScript } from './rate-limiter-scripts.ts';

/** What one limit applies to: the provider and its model name (no version, no dims). */
export interface RateLimitKey {
  provider: string;
  model: string;
}

/** A place in the window, held from {@link RateLimiter.acquire} until the window moves past it. */
export interface RateLimitPermit {
  /** Opaque handle for `reconcile` / `release`. */
  readonly id: string;
  /** Tokens counted for the request: the estimate scaled by the learnt billed ÷ estimated ratio. */
  readonly tokens: number;
  /** The caller's own estimate. */
  readonly estimated: number;
  /** Redis time (ms since the epoch) of the place reserved: the request counts from then. */
  readonly at: number;
}

export interface RateLimiter {
  /**
   * Resolves when one request of `tokens` estimated tokens may be sent; rejects with the signal's
   * reason on abort, or with a retryable {@link ProviderError} when the wait would exceed `maxWaitMs`.
   */
  acquire(key: RateLimitKey, tokens: number, signal?: AbortSignal): Promise<RateLimitPermit>;
  /**
   * The provider's `x-ratelimit-*` headers after a response: corrects limits and usage at run
   * time. Usage we did not count leaves the window at the reported reset time.
   */
  observe(key: RateLimitKey, info: RateLimitInfo): Promise<unknown>;
  /** A 429 with Retry-After: every process holds this key until then (a 429 storm must not become a retry storm). */
  pause(key: RateLimitKey, ms: number): Promise<void>;
  /**
   * After a successful call: the provider's billed `prompt_tokens` replace the permit's estimate,
   * and the request counts from now (the provider counted it somewhere between sending and now).
   * It takes the permit, not the estimate: the correction must land on that very entry, since a
   * separate correction entry would leave the window at another time than the request.
   */
  reconcile(key: RateLimitKey, permit: RateLimitPermit, actual: number): Promise<void>;
  /** The request was not counted by the provider (never sent, or refused with a 429): free its place. */
  release(key: RateLimitKey, permit: RateLimitPermit): Promise<void>;
}

/** What {@link RedisRateLimiter.observe} booked beyond our own count (0 when nothing). */
export interface ObservedUsage {
  tokens: number;
  requests: number;
  /** Until the booked tokens leave the window (0 when none were booked). */
  tokensFreeInMs: number;
  /** Until the booked requests leave the window (0 when none were booked). */
  requestsFreeInMs: number;
}

/** What {@link RedisRateLimiter.admit} decided, with the window's usage after it. */
export type Admission =
  | { admitted: true; usedTokens: number; usedRequests: number; /** Until the oldest counted request leaves the window. */ resetMs: number }
  | { admitted: false; limit: 'rpm' | 'tpm'; /** Until it would fit; null: never (more tokens than the whole limit). */ retryAfterMs: number | null; usedTokens: number; usedRequests: number };

/** Configured limits of one `provider/model` (config key `rateLimits`). */
export interface RateLimitSettings {
  /** Requests per window. @default none (only what the provider's headers report) */
  rpm?: number | undefined;
  /** Tokens per window. @default none (only what the provider's headers report) */
  tpm?: number | undefined;
  /** Fraction of the limit to aim at; the rest absorbs estimate errors and network jitter. @default 0.95 */
  headroom?: number | undefined;
}

export interface RedisRateLimiterOptions {
  /** Key prefix (the deployment's `redisPrefix`); keys are `<prefix>:rl:{<provider>/<model>}:log|state`. */
  prefix: string;
  /** Limits by `provider/model`. @default {} (react to headers and 429s only) */
  limits?: Readonly<Record<string, RateLimitSettings>>;
  /** Window length: a minute for RPM/TPM; tests use shorter windows with scaled limits. @default 60_000 */
  windowMs?: number;
  /**
   * How far ahead a caller may reserve its place. A caller whose place is further away sleeps
   * until it comes within reach, then reserves. @default windowMs
   */
  horizonMs?: number;
  /** Longest total wait of one acquire; beyond it a retryable ProviderError lets the job queue reschedule. @default 300_000 */
  maxWaitMs?: number;
  /** Spread of wake-ups after a pause and of sleeps beyond the horizon, so callers do not return together. @default 250 */
  jitterMs?: number;
  /**
   * Extra wait after an entry leaves our window before its place is given again. A place planned
   * while that entry's request was still in flight counts it from when it was sent; the provider
   * counted it on arrival, a little later. Costs about guardMs ÷ windowMs of throughput.
   * @default min(100, windowMs / 100)
   */
  guardMs?: number;
  /**
   * How far requests may run ahead of an even pace: after a quiet spell up to this much of the
   * window's budget goes out at once, then requests follow the pace. `windowMs` turns pacing off
   * (the whole window may go in one burst). @default windowMs / 60 (1 s of a minute)
   */
  burstMs?: number;
  /** Source of jitter, for tests. @default Math.random */
  random?: () => number;
}

/** Smoothing of the billed ÷ estimated ratio: recent calls count, one odd call does not swing it. */
const RATIO_ALPHA = 0.2;
/** Reported usage beyond ours by less than this fraction of the limit is noise (requests in flight). */
const OBSERVE_TOLERANCE = 0.02;

/**
 * The Redis implementation of {@link RateLimiter}. Holds no connection of its own: pass the
 * process's shared command connection (every call is one EVALSHA).
 * @example
 * const limiter = new RedisRateLimiter(ctx.redis, { prefix: config.redisPrefix, limits: config.rateLimits });
 * const permit = await limiter.acquire({ provider: 'openai', model: 'text-embedding-3-small' }, 1200, signal);
 */
export class RedisRateLimiter implements RateLimiter {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #limits: Readonly<Record<string, RateLimitSettings>>;
  readonly #windowMs: number;
  readonly #horizonMs: number;
  readonly #maxWaitMs: number;
  readonly #jitterMs: number;
  readonly #guardMs: number;
  readonly #burstMs: number;
  readonly #random: () => number;

  constructor(redis: Redis, opts: RedisRateLimiterOptions) {
    this.#redis = redis;
    this.#prefix = opts.prefix;
    this.#limits = opts.limits ?? {};
    this.#windowMs = opts.windowMs ?? 60_000;
    this.#horizonMs = opts.horizonMs ?? this.#windowMs;
    this.#maxWaitMs = opts.maxWaitMs ?? 300_000;
    this.#jitterMs = opts.jitterMs ?? 250;
    this.#guardMs = opts.guardMs ?? Math.min(100, Math.ceil(this.#windowMs / 100));
    this.#burstMs = opts.burstMs ?? Math.ceil(this.#windowMs / 60);
    this.#random = opts.random ?? Math.random;
    if (!(this.#windowMs >= 1) || !(this.#horizonMs >= 0)) throw new RangeError(`rate limiter: windowMs must be >= 1 and horizonMs >= 0, got ${this.#windowMs} and ${this.#horizonMs}`);
  }

  async acquire(key: RateLimitKey, tokens: number, signal?: AbortSignal): Promise<RateLimitPermit> {
    const started = Date.now();
    const limits = this.#limits[`${key.provider}/${key.model}`] ?? {};
    const estimated = Math.max(0, Math.ceil(tokens));
    for (;;) {
      signal?.throwIfAborted();
      const jitter = Math.floor(this.#random() * this.#jitterMs);
      const reply = (await this.#call(ACQUIRE, key, [estimated, limits.tpm ?? 0, limits.rpm ?? 0, limits.headroom ?? 0.95, this.#horizonMs, 2 * this.#windowMs, jitter, this.#guardMs, this.#burstMs])) as [number, number, string?, number?, number?];
      const [granted, waitMs] = reply;
      if (Date.now() - started + waitMs > this.#maxWaitMs) {
        if (granted) await this.release(key, permitOf(reply, estimated));
        throw new ProviderError(`${key.provider}/${key.model}: the shared rate limit has no room for ${estimated} tokens within maxWaitMs ${this.#maxWaitMs} (next place in ${waitMs} ms)`, { retryable: true, retryAfterMs: waitMs });
      }
      if (!granted) {
        // Too far ahead to hold a place: come back when it is within the horizon.
        await sleep(Math.max(1, waitMs - this.#horizonMs) + jitter, signal);
        continue;
      }
      const permit = permitOf(reply, estimated);
      if (waitMs <= 0) return permit;
      try {
        await sleep(waitMs, signal);
      } catch (e) {
        await this.release(key, permit).catch(() => undefined);
        throw e;
      }
      // A pause announced while we slept wins over our place: it is given back and we queue again.
      const paused = (await this.#call(RELEASE, key, [permit.id, '1'])) as number;
      if (paused <= 0) return permit;
    }
  }

  /**
   * Admits one request of `tokens` now under `limits` (the full limits: no headroom, no pacing), or
   * refuses it with the exact time until it would fit. For limits that answer a client rather than
   * make it wait: a gateway key's rpm and tpm, shared by every serve process.
   */
  async admit(key: RateLimitKey, tokens: number, limits: { rpm?: number | null; tpm?: number | null }): Promise<Admission> {
    const r = (await this.#call(ADMIT, key, [Math.max(0, Math.ceil(tokens)), limits.tpm ?? 0, limits.rpm ?? 0, 2 * this.#windowMs])) as [number, number, string | number, number, number?];
    if (r[0] === 1) return { admitted: true, resetMs: r[1], usedTokens: Number(r[2]), usedRequests: Number(r[3]) };
    return { admitted: false, retryAfterMs: r[1] < 0 ? null : r[1], limit: r[2] === 'rpm' ? 'rpm' : 'tpm', usedTokens: Number(r[3]), usedRequests: Number(r[4]) };
  }

  /**
   * Also returns what it booked: usage the provider reported beyond ours, and how long until it
   * leaves the window (the `x-ratelimit-reset-*` time, or the whole window without one).
   */
  async observe(key: RateLimitKey, info: RateLimitInfo): Promise<ObservedUsage> {
    const n = (v: number | undefined) => (v === undefined || !Number.isFinite(v) || v < 0 ? -1 : Math.round(v));
    const ms = (v: number | undefined) => (v === undefined || !Number.isFinite(v) || v < 0 ? -1 : Math.ceil(v));
    const [tokens, requests, tokensFreeInMs, requestsFreeInMs] = (await this.#call(OBSERVE, key, [
      ...[n(info.limitTokens), n(info.limitRequests), n(info.remainingTokens), n(info.remainingRequests)],
      ...[ms(info.resetTokensMs), ms(info.resetRequestsMs), OBSERVE_TOLERANCE, 2 * this.#windowMs],
    ])) as number[];
    return { tokens: tokens!, requests: requests!, tokensFreeInMs: tokensFreeInMs!, requestsFreeInMs: requestsFreeInMs! };
  }

  async pause(key: RateLimitKey, ms: number): Promise<void> {
    if (!(ms > 0)) return;
    await this.#call(PAUSE, key, [Math.ceil(ms), 2 * this.#windowMs]);
  }

  async reconcile(key: RateLimitKey, permit: RateLimitPermit, actual: number): Promise<void> {
    if (!Number.isFinite(actual) || actual < 0) return;
    await this.#call(RECONCILE, key, [permit.id, Math.round(actual), permit.estimated, RATIO_ALPHA]);
  }

  async release(key: RateLimitKey, permit: RateLimitPermit): Promise<void> {
    await this.#call(RELEASE, key, [permit.id, '0']);
  }

  /**
   * What the window holds now (reservations still ahead excluded), for status output and tests.
   * `ratio` is the learnt billed ÷ estimated tokens.
   */
  async usage(key: RateLimitKey): Promise<{ tokens: number; requests: number; pausedMs: number; reportedTpm: number; reportedRpm: number; ratio: number }> {
    const [tokens, requests, pausedMs, reportedTpm, reportedRpm, ratio] = (await this.#call(USAGE, key, [])) as number[];
    return { tokens: tokens!, requests: requests!, pausedMs: pausedMs!, reportedTpm: reportedTpm!, reportedRpm: reportedRpm!, ratio: ratio! / 1000 };
  }

  /** The limiter's two Redis keys for `key`; the hash tag keeps both in one Redis Cluster slot. */
  keys(key: RateLimitKey): [log: string, state: string] {
    const base = `${this.#prefix}:rl:{${key.provider}/${key.model}}`;
    return [`${base}:log`, `${base}:state`];
  }

  async #call(script: LuaScript, key: RateLimitKey, args: (string | number)[]): Promise<unknown> {
    const keys = this.keys(key);
    const argv = [this.#windowMs, ...args];
    try {
      return await this.#redis.evalsha(script.sha, 2, ...keys, ...argv);
    } catch (e) {
      // First use on this Redis (or after SCRIPT FLUSH / a restart): send the source once.
      if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
      return this.#redis.eval(script.source, 2, ...keys, ...argv);
    }
  }
}

/** Sleeps `ms`; on abort rejects with the signal's own reason (as `throwIfAborted` does). */
async function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await delay(ms, undefined, signal ? { signal } : {});
  } catch (e) {
    throw signal?.aborted ? signal.reason : e;
  }
}

function permitOf(reply: [number, number, string?, number?, number?], estimated: number): RateLimitPermit {
  return { id: reply[2]!, tokens: reply[3]!, estimated, at: reply[4]! };
}
