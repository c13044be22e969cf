/**
 * Maps what a Jina call throws to a {@link ProviderError}. Jina has no SDK: jina.ts sends with
 * fetch and throws {@link JinaHttpError} for a non-2xx answer and {@link JinaTimeoutError} when
 * its own timeout fired. 408, 429, 5xx, timeouts and dropped connections are retryable (so is a
 * malformed 200, which jina.ts's decode catches); other 4xx are not, 403
 * AUTHZ_INSUFFICIENT_BALANCE (an empty account) included.
 *
 * Jina's error body is `{detail, code?, request_id?}` (its OpenAPI `ErrorResponse`); validation
 * errors (422) are `{detail, errors: [{field, message, type, input}]}`. The key and any
 * credentials in a URL are removed from every message.
 */
import { redactError } from '../config/redact.ts';
import { ProviderError } from '../errors.ts';
import { mapProviderError, retryableStatus, say, unreachable, type ErrorContext } from './http-errors.ts';
import { retryAfterMs, type HeaderSource } from './retry.ts';

/** A non-2xx answer. Its message holds only the status, so it is safe as a `cause`. */
export class JinaHttpError extends Error {
  override name = 'JinaHttpError';
  readonly status: number;
  /** The body, parsed when it was JSON, else its text. */
  readonly body: unknown;
  /** Read by the request loop for rate-limit state (a 429's too). */
  readonly headers: HeaderSource;
  constructor(status: number, body: unknown, headers: HeaderSource) {
    super(`HTTP ${status}`);
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

/** The adapter's own timeout (it covers the whole body) fired. */
export class JinaTimeoutError extends Error {
  override name = 'JinaTimeoutError';
}

/** Classifies a failed Jina call. */
export function toJinaProviderError(e: unknown, ctx: ErrorContext): ProviderError {
  const err = mapProviderError(e, ctx, {
    isTimeout: (e) => e instanceof JinaTimeoutError,
    classify: (e) =>
      e instanceof JinaHttpError ? httpError(e, ctx)
      // undici's network failure: `TypeError: fetch failed`, the reason in its cause.
      : e instanceof TypeError && e.message === 'fetch failed' ? unreachable(ctx, e)
      : undefined,
  });
  // fetch quotes a URL with credentials in its own message; no password leaves here.
  return redactError(err);
}

const TOO_LONG = /too long|longer than|exceed.*(token|context|length)|maximum (context|sequence|token)/i;
const TOO_MANY = /largest allowed size|at most \d+ items|too many inputs/i;

function httpError(e: JinaHttpError, ctx: ErrorContext): ProviderError {
  const { status } = e;
  const body = e.body as { detail?: unknown; code?: unknown } | string | null;
  const detail = typeof body === 'object' && body !== null ? body.detail : undefined;
  const text =
    typeof detail === 'string' ? detail
    : detail !== undefined ? JSON.stringify(detail).slice(0, 300)
    : typeof body === 'string' && body !== '' ? body.slice(0, 300)
    : 'no message';
  const code = typeof body === 'object' && typeof body?.code === 'string' ? body.code : undefined;
  const retryable = retryableStatus(status);
  const after = retryable ? retryAfterMs(e.headers) : undefined;
  return new ProviderError(say(ctx, `HTTP ${status}${code ? ` ${code}` : ''}: ${text}${hintFor(status, code, text, ctx)}`), {
    retryable,
    status,
    ...(after === undefined ? {} : { retryAfterMs: after }),
    cause: e,
  });
}

function hintFor(status: number, code: string | undefined, text: string, ctx: ErrorContext): string {
  const hint =
    status === 401 ? 'authentication failed: check the Jina API key (JINA_API_KEY or the provider’s apiKey)'
    : code === 'AUTHZ_INSUFFICIENT_BALANCE' || status === 402 ? 'the account is out of tokens: top it up at jina.ai; retrying will not help'
    : status === 403 ? 'the key has no access to this model or endpoint'
    : status === 404 || code === 'INPUT_MODEL_NOT_FOUND' ? `is the model served at ${ctx.baseUrl}?`
    : status >= 500 || status === 429 ? undefined
    : TOO_MANY.test(text) ? 'too many inputs in one request: lower the model’s maxInputsPerRequest'
    : TOO_LONG.test(text) ? 'input too long for the model: split it first, or set the adapter’s truncate option'
    : undefined;
  return hint ? ` (${hint})` : '';
}
