/**
 * Maps whatever a Gemini call throws to a {@link ProviderError}. Google's error body is
 * `{ error: { code, message, status, details[] } }`; the SDK (@google/genai 3.3.0) throws it as
 * an `ApiError` whose `message` is that body as JSON and which keeps no headers, so gemini.ts
 * rethrows it as a {@link GeminiHttpError} carrying the response's headers.
 *
 * 408, 429 and 5xx, timeouts, dropped connections and malformed bodies are retryable; other 4xx
 * are not, nor is a 429 for a per-day quota. The wait is the Retry-After header, else the
 * body's `google.rpc.RetryInfo.retryDelay` ("37s"). A wrong key is a 400 `API_KEY_INVALID`,
 * not a 401. The key is removed from every message, also where Google echoes it (DebugInfo is
 * never shown) and in `?key=` URLs.
 */
import { ApiError } from '@google/genai';
import { ProviderError } from '../errors.ts';
import { mapProviderError, retryableStatus, say, unreachable, type ErrorContext } from './http-errors.ts';
import { parseGoDuration, retryAfterMs, type HeaderSource } from './retry.ts';

/** A non-2xx answer: its status, its parsed body (or text) and its headers. */
export class GeminiHttpError extends Error {
  override name = 'GeminiHttpError';
  readonly status: number;
  readonly body: unknown;
  readonly headers: HeaderSource | undefined;
  constructor(e: ApiError, headers: HeaderSource | undefined) {
    super(`HTTP ${e.status}`);
    this.status = e.status;
    this.headers = headers;
    this.body = parseJson(e.message);
  }
}

/** Our per-attempt deadline fired (it covers the body too). */
export class GeminiTimeoutError extends Error {
  override name = 'GeminiTimeoutError';
}

interface GoogleError {
  message?: unknown;
  status?: unknown;
  details?: { '@type'?: unknown; reason?: unknown; retryDelay?: unknown; violations?: { quotaId?: unknown }[] }[];
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Classifies a failed Gemini call. */
export function toGeminiProviderError(e: unknown, ctx: ErrorContext): ProviderError {
  return mapProviderError(e, ctx, {
    isTimeout: (e) => e instanceof GeminiTimeoutError,
    classify: (e) =>
      e instanceof GeminiHttpError ? httpError(e.status, e.body, e.headers, ctx)
      : e instanceof ApiError ? httpError(e.status, parseJson(e.message), undefined, ctx)
      : e instanceof SyntaxError ? new ProviderError(redacted(ctx, `returned a malformed response body (invalid JSON: ${e.message})`), { retryable: true })
      // undici's failed connection: `TypeError: fetch failed`, the reason in its cause.
      : e instanceof TypeError && e.message === 'fetch failed' ? unreachable(ctx, e)
      : undefined,
  });
}

const KEY_SHAPE = /\bAIza[0-9A-Za-z_-]{20,}/g;
const KEY_PARAM = /([?&]key=)[^&\s"']+/gi;

/** `say`, plus Google-shaped keys and `key=` query parameters removed. */
function redacted(ctx: ErrorContext, msg: string): string {
  return say(ctx, msg).replace(KEY_SHAPE, 'AIza[redacted]').replace(KEY_PARAM, '$1[redacted]');
}

function httpError(status: number, body: unknown, headers: HeaderSource | undefined, ctx: ErrorContext): ProviderError {
  const err = (typeof body === 'object' && body !== null ? (body as { error?: GoogleError }).error : undefined) ?? {};
  const text = typeof err.message === 'string' ? err.message : typeof body === 'string' && body !== '' ? body.slice(0, 300) : 'no message';
  const code = typeof err.status === 'string' ? ` ${err.status}` : '';
  const details = Array.isArray(err.details) ? err.details : [];
  const reason = details.find((d) => typeof d.reason === 'string')?.reason;
  const daily = status === 429 && details.some((d) => d.violations?.some((v) => typeof v.quotaId === 'string' && /PerDay/i.test(v.quotaId)));
  const retryable = !daily && retryableStatus(status);
  const hint =
    reason === 'API_KEY_INVALID' ? 'the API key is invalid: check GEMINI_API_KEY'
    : daily ? 'the daily quota is used up: retrying will not help before it resets; raise the limit or the tier in Google AI Studio'
    : status === 400 && /token|too long|exceed/i.test(text) ? 'an input is longer than the model accepts: lower maxInputTokens or split the text'
    : status === 401 || status === 403 ? 'the key has no access to this model or to the Generative Language API'
    : status === 404 ? `is the model served at ${ctx.baseUrl}?`
    : undefined;
  const delay = details.find((d) => typeof d.retryDelay === 'string')?.retryDelay as string | undefined;
  const after = retryable ? (retryAfterMs(headers) ?? parseGoDuration(delay)) : undefined;
  // No `cause`: the SDK's error message is the raw body, which may echo the key (DebugInfo).
  return new ProviderError(redacted(ctx, `HTTP ${status}${code}: ${text}${hint ? ` (${hint})` : ''}`), {
    retryable,
    status,
    ...(after === undefined ? {} : { retryAfterMs: after }),
  });
}
