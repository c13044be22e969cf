/**
 * How long to wait before trying a provider again: the server's own word (Retry-After headers)
 * when it gives one, else exponential backoff with full jitter. Also reads OpenAI's
 * `x-ratelimit-*` headers, whose reset times are Go-style durations ("6m0s", "51.189s", "20ms").
 */

/** Backoff settings. */
export interface BackoffOptions {
  /** Ceiling of the first retry's random wait. @default 500 */
  baseMs?: number;
  /** Largest ceiling, however many attempts failed. @default 30_000 */
  capMs?: number;
}

/**
 * Full-jitter exponential backoff: a uniform wait in [0, min(cap, base·2^(attempt−1))). Jitter
 * keeps many workers that failed together from retrying together.
 * @param attempt the 1-based attempt that just failed
 * @param random a [0,1) source, injectable for tests. @default Math.random
 */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = opts.baseMs ?? 500;
  const cap = opts.capMs ?? 30_000;
  const ceiling = Math.min(cap, base * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a Go `time.Duration` string into milliseconds: `"6m0s"` → 360000, `"51.189s"` → 51189,
 * `"20ms"` → 20, `"1h2m"`, `"0"`. A bare number is taken as seconds, as some compatible
 * servers send. Returns `undefined` for anything else (including negative values).
 */
export function parseGoDuration(text: string | null | undefined): number | undefined {
  if (text == null) return undefined;
  const s = text.trim();
  if (s === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let ms = 0;
  let pos = 0;
  while (pos < s.length) {
    part.lastIndex = pos;
    const m = part.exec(s);
    if (!m) return undefined;
    ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = part.lastIndex;
  }
  return ms;
}

/** Anything with a case-insensitive `get`, like fetch's `Headers`. */
export interface HeaderSource {
  get(name: string): string | null;
}

/**
 * The wait a response asks for: `retry-after-ms` (milliseconds), else `retry-after` (seconds or
 * an HTTP date). `undefined` when neither is present or readable.
 */
export function retryAfterMs(headers: HeaderSource | undefined, now: number = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms != null && ms.trim() !== '' && Number.isFinite(Number(ms)) && Number(ms) >= 0) return Number(ms);
  const ra = headers.get('retry-after');
  if (ra == null || ra.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(ra.trim())) return Number(ra) * 1000;
  const date = Date.parse(ra);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The last rate-limit state a provider reported (OpenAI `x-ratelimit-*` headers). */
export interface RateLimitInfo {
  limitRequests?: number;
  limitTokens?: number;
  remainingRequests?: number;
  remainingTokens?: number;
  /** Until the request budget is fully restored. */
  resetRequestsMs?: number;
  /** Until the token budget is fully restored. */
  resetTokensMs?: number;
}

/** Reads `x-ratelimit-*` headers; `undefined` when the response carries none of them. */
export function parseRateLimitHeaders(headers: HeaderSource | undefined): RateLimitInfo | undefined {
  if (!headers) return undefined;
  const num = (name: string): number | undefined => {
    const v = headers.get(name);
    return v != null && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined;
  };
  const info: RateLimitInfo = {};
  const set = <K extends keyof RateLimitInfo>(key: K, value: number | undefined) => {
    if (value !== undefined) info[key] = value;
  };
  set('limitRequests', num('x-ratelimit-limit-requests'));
  set('limitTokens', num('x-ratelimit-limit-tokens'));
  set('remainingRequests', num('x-ratelimit-remaining-requests'));
  set('remainingTokens', num('x-ratelimit-remaining-tokens'));
  set('resetRequestsMs', parseGoDuration(headers.get('x-ratelimit-reset-requests')));
  set('resetTokensMs', parseGoDuration(headers.get('x-ratelimit-reset-tokens')));
  return Object.keys(info).length > 0 ? info : undefined;
}

/**
 * How long a 429 asks to wait when it has no Retry-After: until the exhausted budget is restored,
 * by its `x-ratelimit-reset-*` header (the requests one when requests ran out, the tokens one when
 * tokens did, the longer when both or neither is reported exhausted). `undefined` without resets.
 */
export function resetWaitMs(info: RateLimitInfo | undefined): number | undefined {
  if (!info) return undefined;
  const pairs: [remaining: number | undefined, reset: number | undefined][] = [
    [info.remainingRequests, info.resetRequestsMs],
    [info.remainingTokens, info.resetTokensMs],
  ];
  const known = pairs.filter(([, reset]) => reset !== undefined);
  const exhausted = known.filter(([remaining]) => remaining === 0);
  const from = exhausted.length > 0 ? exhausted : known;
  return from.length === 0 ? undefined : Math.max(...from.map(([, reset]) => reset!));
}

/** The wait a 429 asks for: Retry-After (`retry-after-ms`, `retry-after`) exactly, else the reset of the budget that ran out. */
export function rateLimitedWaitMs(headers: HeaderSource | undefined, now: number = Date.now()): number | undefined {
  return retryAfterMs(headers, now) ?? resetWaitMs(parseRateLimitHeaders(headers));
}
