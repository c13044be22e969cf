/**
 * Stalls counted as attempts. BullMQ re-queues a job whose worker died (its lock expired) and,
 * past `maxStalledCount`, fails it for good whatever its `attempts`; it also never counts a stall
 * as an attempt. Here BullMQ's own limit is out of reach ({@link NO_STALL_LIMIT}) and every start
 * of a job is recorded: a start that finds the previous one still open (no completion, failure or
 * delay was recorded) follows a stall. Stalls since the job last recorded progress count as
 * attempts, so a job that crashes its worker every time fails after `attempts` starts, while a
 * resumable job (ingest) that gets further on each attempt is never failed by the kills alone.
 *
 * Key (under the prefix): attempt:<queue>:<jobId>, a hash { open: token of the running start,
 * stalls: stalls since the last progress }. Removed when the job completes or finally fails, so
 * `ingest --retry-failed` starts with a clean count.
 */
import type { Redis } from 'ioredis';

/** `maxStalledCount` for our workers: BullMQ never fails a stalled job by itself; {@link AttemptTracker} counts. */
export const NO_STALL_LIMIT = 1_000_000;

const TTL_SECONDS = 7 * 24 * 3600;

const BEGIN = `
-- KEYS[1] attempt hash; ARGV: token, ttl. Returns the stalls since the last progress.
local open = redis.call('HGET', KEYS[1], 'open')
local stalls = tonumber(redis.call('HGET', KEYS[1], 'stalls') or '0')
if open and open ~= ARGV[1] then
  stalls = stalls + 1
  redis.call('HSET', KEYS[1], 'stalls', stalls)
end
redis.call('HSET', KEYS[1], 'open', ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return stalls
`;

const END = `
-- KEYS[1] attempt hash; ARGV: token
if redis.call('HGET', KEYS[1], 'open') == ARGV[1] then redis.call('HDEL', KEYS[1], 'open') end
return 0
`;

export class AttemptTracker {
  readonly redis: Redis;
  readonly prefix: string;
  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.prefix = prefix;
  }

  private key(queue: string, jobId: string): string {
    return `${this.prefix}:attempt:${queue}:${jobId}`;
  }

  /** Records a start; returns how many stalls (since the last progress) came before it. */
  async begin(queue: string, jobId: string, token: string): Promise<number> {
    return Number(await this.redis.eval(BEGIN, 1, this.key(queue, jobId), token, TTL_SECONDS));
  }

  /** The start `token` ended normally (completed, failed or delayed): not a stall. */
  async end(queue: string, jobId: string, token: string): Promise<void> {
    await this.redis.eval(END, 1, this.key(queue, jobId), token);
  }

  /** The job got further: stalls before now no longer count against it. */
  async progressed(queue: string, jobId: string): Promise<void> {
    await this.redis.hset(this.key(queue, jobId), 'stalls', 0);
  }

  /** The job is done for good (completed, or failed with no attempts left). */
  async clear(queue: string, jobId: string): Promise<void> {
    await this.redis.del(this.key(queue, jobId));
  }
}

/**
 * Why a job must not start again, or undefined: attempts that failed plus stalls since its last
 * progress, against its `attempts`.
 */
export function outOfAttempts(job: { attemptsMade: number }, attempts: number, stalls: number): string | undefined {
  if (stalls === 0 || job.attemptsMade + stalls < attempts) return undefined;
  return (
    `stopped after ${job.attemptsMade + stalls} of ${attempts} attempts: its worker stopped ${stalls} time(s) while running it without the job getting any further ` +
    `(killed, out of memory, or cut off from Redis longer than the lock); ${job.attemptsMade} attempt(s) failed with an error. ` +
    'Look at the worker logs for a crash, then retry it (`embedq ingest --retry-failed` for ingest and embed jobs).'
  );
}
