/**
 * Maps whatever the Cohere SDK throws to a {@link ProviderError}: 408, 429, 5xx, timeouts,
 * dropped connections (also mid-body: the SDK wraps undici's "terminated" like a failed
 * connection) and malformed bodies are retryable; other 4xx are not. The key is removed from
 * every message.
 */
import { CohereError, CohereTimeoutError } from 'cohere-ai';
import { ProviderError } from '../errors.ts';
import { mapProviderError, retryableStatus, say, unreachable, type ErrorContext } from './http-errors.ts';
import { retryAfterMs, type HeaderSource } from './retry.ts';

const HINTS: Readonly<Record<number, string>> = {
  401: 'check COHERE_API_KEY (config cohere.apiKey)',
  498: 'the API key is invalid: check COHERE_API_KEY (config cohere.apiKey)',
  403: 'the key has no access to this model or endpoint',
};

/** Classifies a failed Cohere call. */
export function toCohereProviderError(e: unknown, ctx: ErrorContext): ProviderError {
  return mapProviderError(e, ctx, {
    isTimeout: (e) => e instanceof CohereTimeoutError,
    // The SDK reports a failed connection as a CohereError without a status, the cause inside.
    classify: (e) => (!(e instanceof CohereError) ? undefined : typeof e.statusCode === 'number' ? httpError(e, e.statusCode, ctx) : unreachable(ctx, e)),
  });
}

function httpError(e: CohereError, status: number, ctx: ErrorContext): ProviderError {
  const body = e.body as { message?: unknown } | string | undefined;
  const text = typeof body === 'object' && typeof body?.message === 'string' ? body.message : typeof body === 'string' ? body.slice(0, 300) : 'no message';
  const retryable = retryableStatus(status);
  const hint = status === 404 ? `is the model served at ${ctx.baseUrl}?` : HINTS[status];
  const after = retryable ? retryAfterMs(e.rawResponse?.headers as HeaderSource | undefined) : undefined;
  // No `cause`: the SDK error's own message is the raw body, which loggers that print causes
  // would show unredacted; everything useful in it is here.
  return new ProviderError(say(ctx, `HTTP ${status}: ${text}${hint ? ` (${hint})` : ''}`), { retryable, status, ...(after === undefined ? {} : { retryAfterMs: after }) });
}
