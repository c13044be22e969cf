/**
 * Maps whatever the OpenAI SDK throws to a {@link ProviderError} that says whether to retry:
 * 429 rate limits, 408, 5xx, timeouts, dropped connections (also mid-body: undici's "terminated")
 * and malformed bodies are retried;
 * 429 `insufficient_quota` and other 4xx are not (retrying cannot fix them). Messages carry the
 * provider's own text with any API key removed.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { ProviderError } from '../errors.ts';
import { mapProviderError, retryableStatus, say, unreachable, type ErrorContext } from './http-errors.ts';
import { rateLimitedWaitMs, retryAfterMs } from './retry.ts';

/** What to check on a 401: the built-in provider's variable, or the configured provider's setting. */
function keyHint(ctx: ErrorContext): string {
  const provider = ctx.name.split('/')[0]!;
  return provider === 'openai' ? 'check OPENAI_API_KEY (config openai.apiKey)' : `check the key of providers.${provider} (apiKey or apiKeyEnv)`;
}

/** Classifies one failed attempt. */
export function toProviderError(e: unknown, ctx: ErrorContext): ProviderError {
  return mapProviderError(e, ctx, {
    isTimeout: (e) => e instanceof APIConnectionTimeoutError,
    classify: (e) =>
      e instanceof APIConnectionError ? unreachable(ctx, e)
      : e instanceof APIError && typeof e.status === 'number' ? httpError(e, e.status, ctx)
      : e instanceof SyntaxError ? new ProviderError(say(ctx, `returned a malformed response body (invalid JSON: ${e.message})`), { retryable: true, cause: e })
      : undefined,
  });
}

function httpError(e: APIError, status: number, ctx: ErrorContext): ProviderError {
  const body = e.error as { message?: unknown } | undefined;
  const text = typeof body?.message === 'string' ? body.message : e.message;
  // Azure puts the status itself in `code` ("401"): no need to say it twice.
  const code = [e.code, e.type].find((c) => c && c !== String(status));
  const quota = e.code === 'insufficient_quota' || e.type === 'insufficient_quota';
  const retryable = !quota && retryableStatus(status);
  const hint =
    quota ? 'the account is out of quota: add credit or raise the limit in the provider dashboard; retrying will not help'
    : status === 404 ? `is the model served at ${ctx.baseUrl}?`
    : status === 401 ? keyHint(ctx)
    : status === 403 ? 'the key has no access to this model or endpoint'
    : undefined;
  const after = !retryable ? undefined : status === 429 ? rateLimitedWaitMs(e.headers) : retryAfterMs(e.headers);
  return new ProviderError(say(ctx, `HTTP ${status}${code ? ` ${code}` : ''}: ${text}${hint ? ` (${hint})` : ''}`), {
    retryable,
    status,
    ...(after === undefined ? {} : { retryAfterMs: after }),
    cause: e,
  });
}
