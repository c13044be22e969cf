/**
 * Maps whatever the OpenAI SDK throws to a {@link ProviderError} that says whether to retry:
 * 429 rate limits, 408, 5xx, timeouts, dropped connections (also mid-body: undici's "terminated")
 * and malformed bodies are retried;
 * 429 `insufficient_quota` and other 4xx are not (retrying cannot fix them). Messages carry the
 * provider's own text with any API key removed.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { ProviderError } from '../errors.ts';
import { rateLimitedWaitMs, retryAfterMs } from './retry.ts';

export interface ErrorContext {
  /** `openai/<model>`, the prefix of every message. */
  name: string;
  baseUrl: string;
  timeoutMs: number;
  /** Removed from messages wherever it appears. */
  apiKey: string;
}

const HINTS: Readonly<Record<number, string>> = {
  401: 'check OPENAI_API_KEY (config openai.apiKey)',
  403: 'the key has no access to this model or endpoint',
};

/** Removes the API key and anything shaped like an OpenAI secret key from `text`. */
export function redactSecrets(text: string, apiKey: string): string {
  let out = apiKey.length >= 8 ? text.split(apiKey).join('[redacted]') : text;
  out = out.replace(/\bsk-[A-Za-z0-9_*-]{6,}/g, 'sk-[redacted]');
  return out;
}

const DROPPED_CODES = new Set(['UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * The connection broke after the request went out: undici's `TypeError: terminated` (a body cut
 * off mid-response, cause `SocketError: other side closed`) or a reset socket anywhere in the
 * cause chain. Returns the messages from there inwards (`terminated: other side closed`), or `undefined` when `e` is something else. Such a
 * request is worth sending again: nothing about it was wrong.
 */
export function droppedConnection(e: unknown): string | undefined {
  let found = false;
  const chain: string[] = [];
  for (let c: unknown = e, depth = 0; c instanceof Error && depth < 6; c = c.cause, depth++) {
    const code = (c as { code?: unknown }).code;
    if ((c instanceof TypeError && c.message === 'terminated') || (typeof code === 'string' && DROPPED_CODES.has(code))) found = true;
    if (found && !chain.includes(c.message)) chain.push(c.message);
  }
  return found ? chain.join(': ') : undefined;
}

/** Classifies one failed attempt. `httpStatus` is set when the server answered. */
export function toProviderError(e: unknown, ctx: ErrorContext): ProviderError {
  if (e instanceof ProviderError) return e;
  const say = (msg: string) => redactSecrets(`${ctx.name}: ${msg}`, ctx.apiKey);
  if (e instanceof APIConnectionTimeoutError)
    return new ProviderError(say(`request timed out after ${ctx.timeoutMs} ms (${ctx.baseUrl})`), { retryable: true, outcomeUnknown: true, cause: e });
  const dropped = droppedConnection(e);
  if (dropped !== undefined)
    return new ProviderError(say(`the connection closed before the whole response arrived (${dropped})`), { retryable: true, outcomeUnknown: true, cause: e });
  if (e instanceof APIConnectionError) {
    const cause = e.cause instanceof Error ? (e.cause.cause instanceof Error ? e.cause.cause.message : e.cause.message) : e.message;
    return new ProviderError(say(`could not reach ${ctx.baseUrl}: ${cause}`), { retryable: true, cause: e });
  }
  if (e instanceof APIError && typeof e.status === 'number') {
    const status = e.status;
    const body = e.error as { message?: unknown } | undefined;
    const text = typeof body?.message === 'string' ? body.message : e.message;
    const code = e.code ?? e.type;
    const quota = e.code === 'insufficient_quota' || e.type === 'insufficient_quota';
    const retryable = !quota && (status === 408 || status === 429 || status >= 500);
    const hint =
      quota ? 'the account is out of quota: add credit or raise the limit in the provider dashboard; retrying will not help'
      : status === 404 ? `is the model served at ${ctx.baseUrl}?`
      : HINTS[status];
    const after = !retryable ? undefined : status === 429 ? rateLimitedWaitMs(e.headers) : retryAfterMs(e.headers);
    return new ProviderError(say(`HTTP ${status}${code ? ` ${code}` : ''}: ${text}${hint ? ` (${hint})` : ''}`), {
      retryable,
      status,
      ...(after === undefined ? {} : { retryAfterMs: after }),
      cause: e,
    });
  }
  if (e instanceof SyntaxError)
    return new ProviderError(say(`returned a malformed response body (invalid JSON: ${e.message})`), { retryable: true, cause: e });
  const err = e instanceof Error ? e : new Error(String(e));
  return new ProviderError(say(err.message), { retryable: false, cause: err });
}
