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
