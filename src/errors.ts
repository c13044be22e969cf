/**
 * The few error classes the runtime acts on. Every `catch` goes through {@link coerceError} so
 * that the CLI's one error funnel can map an error to a message and an exit code.
 */
import { UnrecoverableError } from 'bullmq';

/** Bad configuration: a missing or malformed setting. Exit code 1. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(problems.length === 1 ? problems[0]! : `invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

/** A command-line usage error (bad flag value, unsafe identifier). Exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Redis or Postgres could not be reached; `url` is already redacted. Exit code 1. */
export class ServiceUnavailableError extends Error {
  override name = 'ServiceUnavailableError';
  readonly service: 'redis' | 'postgres';
  readonly url: string;
  /** What went wrong, without the URL: "connection refused", "authentication failed", … */
  readonly detail: string;
  constructor(service: 'redis' | 'postgres', url: string, detail: string, hint?: string) {
    const label = service === 'redis' ? 'Redis' : 'Postgres';
    super(`${label} is not reachable at ${url}: ${detail}${hint ? `. ${hint}` : ''}`);
    this.service = service;
    this.url = url;
    this.detail = detail;
  }
}

/** A provider call failed. `retryable` errors are retried with backoff, honouring `retryAfterMs`. */
export class ProviderError extends Error {
  override name = 'ProviderError';
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  /**
   * The request may have reached the provider and been processed, but no answer came back (a
   * timeout, a connection dropped mid-response): whether it was billed is unknown.
   */
  readonly outcomeUnknown: boolean;
  constructor(message: string, opts: { retryable: boolean; status?: number; retryAfterMs?: number; outcomeUnknown?: boolean; cause?: unknown }) {
    super(message, { cause: opts.cause });
    this.retryable = opts.retryable;
    this.status = opts.status;
    this.retryAfterMs = opts.retryAfterMs;
    this.outcomeUnknown = opts.outcomeUnknown ?? false;
  }
}

/** A job failure that must not be retried (bad input, wrong dimensions). Wraps BullMQ's marker. */
export class NonRetryableError extends UnrecoverableError {
  override name = 'NonRetryableError';
}

/** A job whose payload embedq would not have made (jobs/validate.ts): failed at once, and it settles no run. */
export class InvalidPayloadError extends NonRetryableError {
  override name = 'InvalidPayloadError';
}

/** Turns anything thrown into an Error. */
export function coerceError(e: unknown): Error {
  if (e instanceof Error) return e;
  if (typeof e === 'string') return new Error(e);
  try {
    return new Error(JSON.stringify(e));
  } catch {
    return new Error(String(e));
  }
}

/** Exit code for an error: 2 for usage errors, 1 for everything else. */
export function exitCodeFor(e: Error): 1 | 2 {
  return e instanceof UsageError ? 2 : 1;
}

/**
 * Thrown by a job handler to put its job back in the queue for `delayMs` without counting an
 * attempt (e.g. a tenant over budget): the worker moves it to delayed, with `reason` in the job log.
 */
export class DelayJobError extends Error {
  override name = 'DelayJobError';
  readonly delayMs: number;
  constructor(reason: string, delayMs: number) {
    super(reason);
    this.delayMs = delayMs;
  }
}
