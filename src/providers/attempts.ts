/**
 * The start and the retry pause of one HTTP attempt, shared by the OpenAI and Cohere providers:
 * a rate-limit place, the ledger's word before anything is sent (`onSend`), and the worker's
 * drain (shutdown): once it fires no new attempt starts, while attempts in flight finish.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { NotStarted } from './pack.ts';
import type { RateLimiter, RateLimitKey, RateLimitPermit } from './rate-limiter.ts';
import type { EmbedAttempt } from './types.ts';

export interface AttemptStart {
  limiter: RateLimiter | undefined;
  key: RateLimitKey;
  attempt: EmbedAttempt;
  /** Aborts everything, in flight included. */
  signal: AbortSignal;
  /** Stops new attempts only. */
  drain: AbortSignal | undefined;
  onSend: ((a: EmbedAttempt) => Promise<void>) | undefined;
}

/**
 * Waits for the attempt's place and announces the attempt; resolves when it may be sent. Throws
 * {@link NotStarted} when the drain fired first (the place is given back), and gives the place
 * back when `onSend` fails (nothing was sent, so nothing may be billed).
 */
export async function beginAttempt(a: AttemptStart): Promise<RateLimitPermit | undefined> {
  a.signal.throwIfAborted();
  if (a.drain?.aborted) throw new NotStarted('not sent: draining');
  let permit: RateLimitPermit | undefined;
  try {
    permit = await a.limiter?.acquire(a.key, a.attempt.tokens, a.drain ? AbortSignal.any([a.signal, a.drain]) : a.signal);
  } catch (e) {
    if (!a.signal.aborted && a.drain?.aborted) throw new NotStarted('not sent: draining');
    throw e;
  }
  try {
    if (a.drain?.aborted) throw new NotStarted('not sent: draining');
    await a.onSend?.(a.attempt);
  } catch (e) {
    if (permit) await quietly(() => a.limiter!.release(a.key, permit));
    throw e;
  }
  return permit;
}

/** The wait before a retry; a drain ends it with {@link NotStarted} (the retry is left to the job's next run). */
export async function retryPause(ms: number, signal: AbortSignal, drain: AbortSignal | undefined): Promise<void> {
  try {
    await delay(ms, undefined, { signal: drain ? AbortSignal.any([signal, drain]) : signal });
  } catch (e) {
    if (!signal.aborted && drain?.aborted) throw new NotStarted('not retried: draining');
    throw e;
  }
}

/**
 * Limiter bookkeeping after a response must not cost the response: the vectors are paid for.
 * A Redis that fails here fails the next `acquire`, which does need it, and surfaces there.
 */
export async function quietly(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch {
    // see above
  }
}
