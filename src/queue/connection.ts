/**
 * Redis connections. BullMQ workers need `maxRetriesPerRequest: null` (they block on Redis);
 * commands that should fail fast use {@link pingRedis} first so a down Redis gives one clear line.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { ServiceUnavailableError } from '../errors.ts';
import { redactUrl } from '../config/redact.ts';

export interface RedisWatch {
  /** Told on every connection error (reconnect attempts included): report outages once, not per call. */
  onLost?: (e: Error) => void;
  /** Told whenever the connection is ready (again). */
  onReady?: () => void;
}

export function createRedis(url: string, opts: RedisOptions = {}, watch: RedisWatch = {}): Redis {
  const r = new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: true, ...opts });
  // Errors surface through commands; an unhandled 'error' event would crash the process.
  r.on('error', (e: Error) => watch.onLost?.(e));
  if (watch.onReady) r.on('ready', watch.onReady);
  return r;
}

/** Connects once with no retries and PINGs; throws {@link ServiceUnavailableError} naming the URL. */
export async function pingRedis(url: string, timeoutMs = 3000): Promise<{ version: string }> {
  const r = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  let lastError: Error | undefined;
  r.on('error', (e: Error) => (lastError = e));
  try {
    await r.connect();
    await r.ping();
    const info = await r.info('server');
    return { version: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown' };
  } catch (e) {
    throw describeRedisError(lastError ?? e, url);
  } finally {
    r.disconnect();
  }
}

/** Maps a Redis connection error to the one-line {@link ServiceUnavailableError} naming the (redacted) URL. */
export function describeRedisError(e: unknown, url: string): ServiceUnavailableError {
  const err = e as NodeJS.ErrnoException;
  const detail =
    err.code === 'ECONNREFUSED' ? 'connection refused'
    : err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' ? 'unknown host'
    : /NOAUTH|WRONGPASS|invalid password|invalid username/i.test(err.message ?? '') ? 'authentication failed'
    : /timeout|ETIMEDOUT/i.test(`${err.code} ${err.message}`) ? 'connection timed out'
    : (err.message ?? String(err)).split('\n')[0]!;
  const hint = detail === 'authentication failed' ? 'Check the password in REDIS_URL' : 'Start it with `npm run services up` (scripts/services.sh) or set REDIS_URL';
  return new ServiceUnavailableError('redis', redactUrl(url), detail, hint);
}
