/**
 * Maps whatever the Mistral SDK throws to a {@link ProviderError}: 408, 429, 5xx, timeouts,
 * dropped connections (also mid-body: undici's "terminated") and malformed bodies are retryable;
 * other 4xx are not. Every error with a status is a `MistralError` (`statusCode`, `body`,
 * `headers`): `SDKError` for 4xx/5xx, `HTTPValidationError` for a 422, `ResponseValidationError`
 * for a body that does not fit the SDK's schema (a 200 one is malformed). The key and the
 * passwords of URLs are removed from every message.
 */
import { ConnectionError, MistralError, RequestTimeoutError, ResponseValidationError } from '@mistralai/mistralai/models/errors';
import { redactUrls } from '../config/redact.ts';
import { ProviderError } from '../errors.ts';
import { mapProviderError, retryableStatus, say, unreachable, type ErrorContext } from './http-errors.ts';
import { retryAfterMs } from './retry.ts';

const HINTS: Readonly<Record<number, string>> = {
  401: 'check the Mistral API key (MISTRAL_API_KEY)',
  403: 'the key has no access to this model or endpoint',
};

/** 400s about size, by Mistral's words ("Too many inputs in request, split into more batches."). */
const SIZE_HINTS: readonly [RegExp, string][] = [
  [/too many inputs/i, 'more inputs in one request than Mistral takes: lower maxInputsPerRequest for this model'],
  [/too many tokens/i, 'more tokens in one request than Mistral takes: lower maxTokensPerRequest for this model'],
  [/too long|exceed|context length/i, 'an input is longer than the model takes: lower maxInputTokens or chunk smaller; Mistral does not truncate'],
];

/** Classifies a failed Mistral call. */
export function toMistralProviderError(e: unknown, ctx: ErrorContext): ProviderError {
  const err = mapProviderError(e, ctx, {
    isTimeout: (e) => e instanceof RequestTimeoutError,
    classify: (e) =>
      e instanceof ResponseValidationError && e.statusCode < 300 ? malformed(ctx, `does not fit the SDK's schema: ${e.message}`)
      : e instanceof MistralError ? httpError(e, ctx)
      : e instanceof ConnectionError ? unreachable(ctx, e)
      : e instanceof SyntaxError ? malformed(ctx, `invalid JSON: ${e.message}`)
      : undefined,
  });
  // undici quotes a base URL with credentials in its own message ("Request cannot be constructed…").
  err.message = redactUrls(err.message);
  return err;
}

function malformed(ctx: ErrorContext, why: string): ProviderError {
  return new ProviderError(say(ctx, `returned a malformed response body (${why})`), { retryable: true });
}

function httpError(e: MistralError, ctx: ErrorContext): ProviderError {
  const status = e.statusCode;
  const { text, code } = bodyText(e.body);
  const retryable = retryableStatus(status);
  const hint = status === 404 ? `is the model served at ${ctx.baseUrl}?` : status === 400 || status === 422 ? SIZE_HINTS.find(([re]) => re.test(text))?.[1] : HINTS[status];
  const after = retryable ? retryAfterMs(e.headers) : undefined;
  // Not the SDK error as `cause`: its message is the raw body, which loggers that print causes would
  // show unredacted. The headers stay, for the loop's rate-limit hook.
  const cause = Object.assign(new Error(say(ctx, `HTTP ${status}`)), { headers: e.headers });
  return new ProviderError(say(ctx, `HTTP ${status}${code ? ` ${code}` : ''}: ${text}${hint ? ` (${hint})` : ''}`), {
    retryable,
    status,
    ...(after === undefined ? {} : { retryAfterMs: after }),
    cause,
  });
}

/** Mistral's `{message, code}` envelope, FastAPI's `{detail}`, or the raw text. */
function bodyText(body: string): { text: string; code?: string } {
  let parsed: { message?: unknown; detail?: unknown; code?: unknown } | undefined;
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    return { text: body.slice(0, 300) || 'no message' };
  }
  const code = typeof parsed?.code === 'string' || typeof parsed?.code === 'number' ? String(parsed.code) : undefined;
  const detail = parsed?.detail;
  const text =
    typeof parsed?.message === 'string' ? parsed.message
    : typeof detail === 'string' ? detail
    : Array.isArray(detail) ? detail.map((d: { msg?: unknown; loc?: unknown }) => `${Array.isArray(d?.loc) ? `${d.loc.join('.')}: ` : ''}${String(d?.msg)}`).join('; ')
    : body.slice(0, 300);
  return { text, ...(code ? { code } : {}) };
}
