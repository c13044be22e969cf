/**
 * Redis connections. BullMQ workers need `maxRetriesPerRequest: null` (they block on Redis);
 * commands that should fail fast use {@link pingRedis} first so a down Redis gives one clear line.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { closeHandler } from 'ioredis/built/redis/event_handler.js';
import { ServiceUnavailableError } from '../errors.ts';
import { redactUrl } from '../config/redact.ts';

export interface RedisWatch {
  /** Told on every connection error (reconnect attempts included): report outages once, not per call. */
  onLost?: (e: Error) => void;
  /** Told whenever the connection is ready (again). */
  onReady?: () => void;
}

/**
 * ioredis whose disconnect() also ends a connection that is between reconnect attempts. ioredis
 * (6.0) clears the retry timer of a `reconnecting` connection and emits nothing: it has no socket
 * to close, so `end` never comes, and BullMQ's Worker.close() waits for `end` (taskforcesh/bullmq
 * #4656, open). A CLI whose Redis restarted just before it finished, or a worker stopped during an
 * outage, then never exited. Here that case takes ioredis' own close path (the one it takes for a
 * connection that never connected): status `end`, the pending commands failed. Duplicates, which
 * BullMQ makes for its blocking connections, are of this class too.
 */
/** Options of our connections: the default (legacy) reply mapping, the one our code is typed for. */
type Options = Omit<RedisOptions, 'replyMapping'>;

class ClosingRedis extends Redis {
  constructor(options: Options);
  constructor(url: string, options: Options);
  constructor(a: string | Options, b: Options = {}) {
    if (typeof a === 'string') super(a, b);
    else super(a);
  }

  override disconnect(reconnect = false): void {
    if (!reconnect && this.status === 'reconnecting') {
      const self = this as unknown as { reconnectTimeout: NodeJS.Timeout | null; manuallyClosing: boolean };
      if (self.reconnectTimeout) clearTimeout(self.reconnectTimeout);
      self.reconnectTimeout = null;
      self.manuallyClosing = true;
      closeHandler(this)();
      return;
    }
    super.disconnect(reconnect);
  }

  // ioredis types duplicate() by the reply mapping its options choose; ours keep the default one.
  override duplicate(override?: Partial<Options>): never {
    return new ClosingRedis({ ...this.options, ...override }) as never;
  }
}

export function createRedis(url: string, opts: Options = {}, watch: RedisWatch = {}): Redis {
  const r = new ClosingRedis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: true, ...opts });
  // Errors surface through commands; an unhandled 'error' event would crash the process.
  r.on('error', (e: Error) => watch.onLost?.(e));
  if (watch.onReady) r.on('ready', watch.onReady);
  return r;
}

/**
 * Closes a connection without waiting on a Redis that is away: QUIT when it is connected (replies
 * still due arrive first), otherwise disconnect, which fails the commands queued for a reconnect.
 * A QUIT sent then would queue behind them, waiting for a Redis that may never come back.
 */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
  else redis.disconnect();
}

/**
 * Resolves once `redis` has not been ready for `ms` in one stretch: an outage, not a restart.
 * What a shutdown uses to stop waiting for Redis to come back. `cancel` stops watching.
 */
export function downFor(redis: Redis, ms: number): { reached: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  let reach!: () => void;
  const reached = new Promise<void>((r) => (reach = r));
  const check = () => {
    if (redis.status === 'ready') timer = void clearTimeout(timer);
    else timer ??= setTimeout(reach, ms);
  };
  const events = ['ready', 'close', 'reconnecting', 'end'] as const;
  for (const e of events) redis.on(e, check);
  check();
  return {
    reached,
    cancel() {
      clearTimeout(timer);
      for (const e of events) redis.off(e, check);
    },
  };
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
