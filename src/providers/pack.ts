/**
 * Packs inputs into provider requests that respect both per-request limits (inputs and summed
 * tokens). Requests are contiguous slices, so results are put back by offset.
 */

/** A contiguous slice `[start, end)` of the inputs, sent as one request. */
export interface RequestSlice {
  start: number;
  end: number;
  /** Estimated tokens of the slice. */
  tokens: number;
}

/**
 * Greedy, order-preserving packing. An input that alone exceeds `maxTokens` goes in a request
 * by itself: the provider, not our estimate, has the last word on whether it is too long.
 * @example packRequests([5, 5, 5], 2, 100) // [{start:0,end:2,tokens:10},{start:2,end:3,tokens:5}]
 */
export function packRequests(tokenCounts: readonly number[], maxInputs: number, maxTokens: number): RequestSlice[] {
  if (!(maxInputs >= 1) || !(maxTokens >= 1)) throw new RangeError(`request limits must be positive, got ${maxInputs} inputs / ${maxTokens} tokens`);
  const slices: RequestSlice[] = [];
  let start = 0;
  let tokens = 0;
  for (let i = 0; i < tokenCounts.length; i++) {
    const t = tokenCounts[i]!;
    if (i > start && (i - start >= maxInputs || tokens + t > maxTokens)) {
      slices.push({ start, end: i, tokens });
      start = i;
      tokens = 0;
    }
    tokens += t;
  }
  if (tokenCounts.length > start) slices.push({ start, end: tokenCounts.length, tokens });
  return slices;
}

/** A conservative token estimate with no tokenizer: one token per 3 UTF-8 bytes, rounded up. */
export function estimateTokens(text: string): number {
  return Math.ceil(Buffer.byteLength(text, 'utf8') / 3);
}

/** What one request of a call produced. */
export interface SliceResult {
  vectors: Float32Array[];
  tokens: number;
  retries: number;
}

/**
 * Thrown by `embed` when its `drain` signal fired (the worker is shutting down): requests that had
 * not started were given up, requests in flight finished. `vectors` holds what arrived, in input
 * order, `undefined` where nothing did, so the caller can keep what it paid for.
 */
export class DrainedError extends Error {
  override name = 'DrainedError';
  readonly vectors: (Float32Array | undefined)[];
  readonly tokens: number;
  constructor(vectors: (Float32Array | undefined)[], tokens: number) {
    const got = vectors.filter((v) => v !== undefined).length;
    super(`stopped for shutdown: ${got} of ${vectors.length} inputs embedded, the rest not sent`);
    this.vectors = vectors;
    this.tokens = tokens;
  }
}

/** What a request that did not start because of the drain throws (sendSlices collects them). */
export class NotStarted extends Error {
  override name = 'NotStarted';
}

/**
 * Sends every slice through `limit` and merges the results in input order. The first failure
 * stops the call's other requests (queued ones never start) and is what the call throws, unless
 * the caller's own signal aborted first. A request given up for `drain` (it throws
 * {@link NotStarted}) stops nothing: the others in flight finish, and the call throws a
 * {@link DrainedError} with what they brought.
 */
export async function sendSlices(
  slices: RequestSlice[],
  limit: <T>(fn: () => Promise<T>) => Promise<T>,
  send: (slice: RequestSlice, signal: AbortSignal) => Promise<SliceResult>,
  callerSignal?: AbortSignal,
): Promise<{ vectors: Float32Array[]; tokens: number; requests: number; retries: number }> {
  const stop = new AbortController();
  const signal = callerSignal ? AbortSignal.any([callerSignal, stop.signal]) : stop.signal;
  const settled = await Promise.allSettled(
    slices.map((slice) => limit(() => send(slice, signal)).catch((e: unknown) => (e instanceof NotStarted || stop.abort(e), Promise.reject(e)))),
  );
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected' && !(s.reason instanceof NotStarted));
  if (failed) throw callerSignal?.aborted ? callerSignal.reason : (stop.signal.reason ?? failed.reason);
  if (settled.some((s) => s.status === 'rejected')) {
    const vectors: (Float32Array | undefined)[] = [];
    let tokens = 0;
    for (const [i, s] of settled.entries()) {
      if (s.status === 'fulfilled') {
        vectors.push(...s.value.vectors);
        tokens += s.value.tokens;
      } else vectors.push(...Array<undefined>(slices[i]!.end - slices[i]!.start).fill(undefined));
    }
    throw new DrainedError(vectors, tokens);
  }
  const done = (settled as PromiseFulfilledResult<SliceResult>[]).map((s) => s.value);
  return {
    vectors: done.flatMap((d) => d.vectors),
    tokens: done.reduce((a, d) => a + d.tokens, 0),
    requests: slices.length,
    retries: done.reduce((a, d) => a + d.retries, 0),
  };
}
