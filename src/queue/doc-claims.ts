/**
 * Within one ingest run a document id is written once: the first source to claim it keeps it, a
 * second one is a rejection naming the first. Claims live in Redis under the run
 * (`run:<id>:docids`, id → where it was read), so they hold across the run's jobs and workers; a
 * retried job claims the same ids from the same places again, which is no conflict.
 */
import type { Redis } from 'ioredis';
import { RUN_TTL_SECONDS } from './runs.ts';

const CLAIM = `
-- KEYS: claims hash; ARGV: ttl, then id/where pairs. Returns, for each id another place holds, its index and that place.
local out = {}
for i = 2, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 0 then
    local holder = redis.call('HGET', KEYS[1], ARGV[i])
    if holder ~= ARGV[i + 1] then
      out[#out + 1] = tostring(i / 2)
      out[#out + 1] = holder
    end
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return out
`;

const key = (prefix: string, runId: string) => `${prefix}:run:${runId}:docids`;

/**
 * Claims `docs` for the run, in order (a page repeating an id claims it once). Returns the
 * position of each document whose id another place already holds, with that place.
 */
export async function claimDocIds(redis: Redis, prefix: string, runId: string, docs: { docId: string; where: string }[]): Promise<Map<number, string>> {
  if (docs.length === 0) return new Map();
  const r = (await redis.eval(CLAIM, 1, key(prefix, runId), RUN_TTL_SECONDS, ...docs.flatMap((d) => [d.docId, d.where]))) as string[];
  const taken = new Map<number, string>();
  for (let i = 0; i < r.length; i += 2) taken.set(Number(r[i]) - 1, r[i + 1]!);
  return taken;
}

/** Drops a finished run's claims. */
export async function dropDocClaims(redis: Redis, prefix: string, runId: string): Promise<void> {
  await redis.unlink(key(prefix, runId));
}
