/**
 * Lost connections to Redis or Postgres: which errors mean "the service went away" (as opposed
 * to a bad query), and one line per outage for the people watching — not one per reconnect
 * attempt. Long-running parts (the waiting CLI, workers) report `down` when a call fails this
 * way and keep going; `up` is reported when a connection is made again.
 */
import { redactUrl } from './config/redact.ts';
import { ServiceUnavailableError } from './errors.ts';

export type Service = 'redis' | 'postgres';

/** Socket-level codes: the peer is gone or unreachable. */
const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);
/** Postgres SQLSTATEs of a connection that was ended or cannot be made (class 08, 57P01–57P03). */
const PG_CODES = /^(08\d{3}|57P0[123])$/;
const PG_MESSAGES = /Connection terminated|not queryable|timeout exceeded when trying to connect|terminating connection due to administrator command/i;
const REDIS_MESSAGES = /Connection is closed|Stream isn't writeable|Reached the max retries per request limit|max retries per request/i;

/** Which service a failed call lost, or undefined when the error is not a lost connection. */
export function lostService(e: unknown, urls?: { redisUrl: string; databaseUrl: string }): Service | undefined {
  // Wrong credentials or a missing database are not an outage: waiting would not fix them.
  if (e instanceof ServiceUnavailableError) return /authentication failed|does not exist/.test(e.message) ? undefined : e.service;
  const err = e as (Error & { code?: unknown; port?: unknown }) | null | undefined;
  if (!err || typeof err !== 'object') return undefined;
  const code = typeof err.code === 'string' ? err.code : '';
  const message = typeof err.message === 'string' ? err.message : '';
  if (PG_CODES.test(code) || PG_MESSAGES.test(message)) return 'postgres';
  if (REDIS_MESSAGES.test(message) || err.name === 'MaxRetriesPerRequestError') return 'redis';
  if (NET_CODES.has(code)) {
    // A socket error names the port it tried: tell the two services apart by it.
    if (urls && err.port !== undefined) {
      if (String(err.port) === portOf(urls.databaseUrl, '5432')) return 'postgres';
      if (String(err.port) === portOf(urls.redisUrl, '6379')) return 'redis';
      return undefined;
    }
    return 'postgres';
  }
  return undefined;
}

export function portOf(url: string, fallback: string): string {
  try {
    return new URL(url).port || fallback;
  } catch {
    return fallback;
  }
}

/**
 * Prints one line when a service goes away and one when it is back. Shared by everything in a
 * process through the Context, so an outage seen by ten connections is still one line.
 */
export class OutageReporter {
  readonly #down = new Map<Service, number>();
  readonly #notice: (line: string) => void;
  readonly #urls: Record<Service, string>;

  constructor(notice: (line: string) => void, urls: { redisUrl: string; databaseUrl: string }) {
    this.#notice = notice;
    this.#urls = { redis: redactUrl(urls.redisUrl), postgres: redactUrl(urls.databaseUrl) };
  }

  isDown(service: Service): boolean {
    return this.#down.has(service);
  }

  down(service: Service, e?: unknown): void {
    if (this.#down.has(service)) return;
    this.#down.set(service, Date.now());
    const detail = e instanceof Error ? `: ${firstLine(e.message)}` : '';
    this.#notice(`${label(service)} went away (${this.#urls[service]}${detail}); waiting to reconnect…`);
  }

  up(service: Service): void {
    const since = this.#down.get(service);
    if (since === undefined) return;
    this.#down.delete(service);
    this.#notice(`${label(service)} is back after ${((Date.now() - since) / 1000).toFixed(1)}s; carrying on`);
  }
}

function label(s: Service): string {
  return s === 'redis' ? 'Redis' : 'Postgres';
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, (u) => redactUrl(u));
}
