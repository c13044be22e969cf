/**
 * Maps whatever the voyageai SDK throws to a {@link ProviderError}: 408, 429, 5xx, timeouts and
 * dropped connections are retryable; other 4xx are not. Voyage's error body is `{"detail": …}`;
 * its 400s say which limit was crossed, and the message here adds which setting to change. The
 * key is removed from every message.
 *
 * The SDK (voyageai 0.4.0, Fern-generated) keeps only the message of a failed fetch, not the
 * error: a body cut off mid-response reaches us as a status-less VoyageAIError "terminated".
 */
import { VoyageAIError, VoyageAITimeoutError } from 'voyageai';
import { redactUrls } from '../config/redact.ts';
import { ProviderError } from '../errors.ts';
import { mapProviderError, retryableStatus, say, unreachable, type ErrorContext } from './http-errors.ts';
import { retryAfterMs, type HeaderSource } from './retry.ts';

const HINTS: Readonly<Record<number, string>> = {
  401: 'the API key is missing or invalid: check VOYAGE_API_KEY (or the provider\'s apiKey in the config)',
  403: 'Voyage refuses requests from this IP address, or the key has no access to this model',
};

/** Classifies a failed Voyage call. */
export function toVoyageProviderError(e: unknown, ctx: ErrorContext): ProviderError {
  return mapProviderError(e, ctx, {
    isTimeout: (e) => e instanceof VoyageAITimeoutError,
    classify: (e) => (!(e instanceof VoyageAIError) ? undefined : typeof e.statusCode === 'number' ? httpError(e, e.statusCode, ctx) : noStatus(e, ctx)),
  });
}

/** A VoyageAIError without a status: the request failed before or while the answer arrived. */
function noStatus(e: VoyageAIError, ctx: ErrorContext): ProviderError {
  if (/^terminated\b/.test(e.message))
    return new ProviderError(say(ctx, `the connection closed before the whole response arrived (${e.message})`), { retryable: true, outcomeUnknown: true });
  // fetch quotes a URL it refuses (one with credentials) in full: its password goes first.
  return unreachable(ctx, new Error(redactUrls(e.message)));
}

function httpError(e: VoyageAIError, status: number, ctx: ErrorContext): ProviderError {
  const text = detail(e.body);
  const retryable = retryableStatus(status);
  const hint = status === 400 ? limitHint(text) : status === 404 ? `is the Voyage API served at ${ctx.baseUrl}?` : HINTS[status];
  const after = retryable ? retryAfterMs(e.rawResponse?.headers as HeaderSource | undefined) : undefined;
  // No `cause`: the SDK error's message holds the raw body, which loggers that print causes
  // would show unredacted; everything useful in it is here.
  return new ProviderError(say(ctx, `HTTP ${status}: ${text}${hint ? ` (${hint})` : ''}`), { retryable, status, ...(after === undefined ? {} : { retryAfterMs: after }) });
}

/** `{"detail": "…"}`, FastAPI's `{"detail": [{"msg": …}]}`, or a plain-text body. */
function detail(body: unknown): string {
  const d = typeof body === 'object' && body !== null ? (body as { detail?: unknown }).detail : body;
  if (typeof d === 'string') return d.slice(0, 500);
  if (Array.isArray(d)) return d.map((x: { msg?: unknown }) => (typeof x?.msg === 'string' ? x.msg : JSON.stringify(x))).join('; ').slice(0, 500);
  return 'no message';
}

/** Which limit a 400 names, and what to change: a request over its token or input cap, or one input over the context. */
function limitHint(text: string): string | undefined {
  if (/per submitted batch|tokens in the batch/i.test(text)) return 'the request is over the model\'s token cap per request: lower maxTokensPerRequest for this model';
  if (/context length|too long/i.test(text)) return 'an input is longer than the model\'s context: lower maxInputTokens, or leave truncation on';
  if (/batch size|list|number of (texts|inputs)/i.test(text)) return 'too many inputs in one request: lower maxInputsPerRequest for this model';
  return undefined;
}
