/**
 * What every provider's error mapping shares (openai-errors.ts, cohere-errors.ts): the message
 * prefix with the API key removed, which HTTP statuses are worth a retry, and the order of
 * {@link mapProviderError}, with the failures that look the same whatever the SDK: a timeout, a
 * connection dropped mid-response, a server that cannot be reached, and anything else.
 */
import { redactUrls } from '../config/redact.ts';
import { ProviderError } from '../errors.ts';

export interface ErrorContext {
  /** `openai/<model>`, `cohere embed jobs`…: the prefix of every message. */
  name: string;
  baseUrl: string;
  timeoutMs: number;
  /** Removed from messages wherever it appears. */
  apiKey: string;
}

/** Removes the API key and anything shaped like an OpenAI secret key from `text`. */
function redactSecrets(text: string, apiKey: string): string {
  let out = apiKey.length >= 8 ? text.split(apiKey).join('[redacted]') : text;
  out = out.replace(/\bsk-[A-Za-z0-9_*-]{6,}/g, 'sk-[redacted]');
  return out;
}

/** `<name>: <msg>`, with the key removed and any URL's password masked (fetch quotes such URLs whole). */
export function say(ctx: ErrorContext, msg: string): string {
  return redactUrls(redactSecrets(`${ctx.name}: ${msg}`, ctx.apiKey));
}

/** 408, 429 and 5xx: the same request may succeed later. Other statuses will not change. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

const DROPPED_CODES = new Set(['UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * The connection broke after the request went out: undici's `TypeError: terminated` (a body cut
 * off mid-response, cause `SocketError: other side closed`) or a reset socket anywhere in the
 * cause chain. Returns the messages from there inwards (`terminated: other side closed`), or
 * `undefined` when `e` is something else. Such a request is worth sending again: nothing about
 * it was wrong.
 */
function droppedConnection(e: unknown): string | undefined {
  let found = false;
  const chain: string[] = [];
  for (let c: unknown = e, depth = 0; c instanceof Error && depth < 6; c = c.cause, depth++) {
    const code = (c as { code?: unknown }).code;
    if ((c instanceof TypeError && c.message === 'terminated') || (typeof code === 'string' && DROPPED_CODES.has(code))) found = true;
    if (found && !chain.includes(c.message)) chain.push(c.message);
  }
  return found ? chain.join(': ') : undefined;
}

/** The SDK could not connect; the reason is the innermost of its two wrappings. */
export function unreachable(ctx: ErrorContext, e: Error): ProviderError {
  const cause = e.cause instanceof Error ? (e.cause.cause instanceof Error ? e.cause.cause.message : e.cause.message) : e.message;
  return new ProviderError(say(ctx, `could not reach ${ctx.baseUrl}: ${cause}`), { retryable: true, cause: e });
}

/** What one SDK's errors say, for {@link mapProviderError}. */
export interface SdkErrors {
  /** The SDK's own timeout error. */
  isTimeout(e: unknown): boolean;
  /** The SDK's HTTP and connection errors (see {@link unreachable}); `undefined` for anything else. */
  classify(e: unknown): ProviderError | undefined;
}

/**
 * The one order every provider classifies a failure in: a ProviderError passes through, then a
 * timeout, a dropped connection, the SDK's own errors, and last anything else (not retried).
 */
export function mapProviderError(e: unknown, ctx: ErrorContext, sdk: SdkErrors): ProviderError {
  if (e instanceof ProviderError) return e;
  if (sdk.isTimeout(e)) return new ProviderError(say(ctx, `request timed out after ${ctx.timeoutMs} ms (${ctx.baseUrl})`), { retryable: true, outcomeUnknown: true, cause: e });
  const dropped = droppedConnection(e);
  if (dropped !== undefined) return new ProviderError(say(ctx, `the connection closed before the whole response arrived (${dropped})`), { retryable: true, outcomeUnknown: true, cause: e });
  const known = sdk.classify(e);
  if (known) return known;
  const err = e instanceof Error ? e : new Error(String(e));
  return new ProviderError(say(ctx, err.message), { retryable: false, cause: err });
}
