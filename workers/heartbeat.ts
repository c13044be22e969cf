/**
 * Worker heartbeats: each worker process keeps its entry in one sorted set under the Redis
 * prefix (`<prefix>:workers:alive`, member = worker id, score = when the entry expires, by the
 * Redis server's clock). Counting the live entries tells a CLI whether a worker serves *this*
 * deployment: the key lives in the connection's database, unlike CLIENT LIST names, which are
 * server-wide and do not carry the database number.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';

/** How often a worker renews its entry, and how long an entry lives without renewal. */
export const HEARTBEAT = { intervalMs: 5000, ttlMs: 15_000 } as const;

const aliveKey = (prefix: string) => `${prefix}:workers:alive`;

const NOW_MS = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;
const BEAT = `${NOW_MS}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[2]))
return 1`;
const COUNT = `${NOW_MS}
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')`;

export interface Heartbeat {
  readonly id: string;
  /** Removes the entry at once, so no one counts a worker that is shutting down. */
  stop(): Promise<void>;
}

/** Starts beating for one worker process (the first beat is written before this returns). */
export async function startHeartbeat(redis: Redis, prefix: string, name: string): Promise<Heartbeat> {
  const id = `${name}@${hostname()}#${randomBytes(3).toString('hex')}`;
  const beat = () => redis.eval(BEAT, 1, aliveKey(prefix), id, HEARTBEAT.ttlMs);
  await beat();
  // A beat lost to a Redis outage is reported by the connection; the next one renews the entry.
  const timer = setInterval(() => void beat().catch(() => undefined), HEARTBEAT.intervalMs);
  timer.unref();
  return {
    id,
    async stop() {
      clearInterval(timer);
      // Best effort: the entry lapses after HEARTBEAT.ttlMs anyway. A stop during a Redis outage
      // must not wait for Redis (a queued command would wait for the reconnect, for ever if it
      // never comes), so it is not sent then, and one sent is given one beat's time to answer.
      if (redis.status !== 'ready') return;
      let timeout: NodeJS.Timeout | undefined;
      await Promise.race([
        redis.zrem(aliveKey(prefix), id).catch(() => undefined),
        new Promise<void>((r) => (timeout = setTimeout(r, HEARTBEAT.intervalMs).unref())),
      ]).finally(() => clearTimeout(timeout));
    },
  };
}

/** Worker processes whose heartbeat is live under this prefix, in this connection's database. */
export async function liveWorkers(redis: Redis, prefix: string): Promise<number> {
  return Number(await redis.eval(COUNT, 1, aliveKey(prefix)));
}
