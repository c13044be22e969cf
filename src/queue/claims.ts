/**
 * Claims on inputs being embedded, so no input is paid twice by jobs running at the same time
 * (a re-run of `ingest` re-queues chunks whose embed jobs are still in flight, under other job
 * ids). Before calling the provider an embed job claims each input hash it is about to send;
 * hashes another live job holds are not sent: the job waits until they are released (the holder
 * wrote their vectors) or expire (the holder died), then takes them from the cache, and claims
 * and embeds whatever is still missing.
 *
 * Key (under the prefix): claim:<input hash hex> = owner (the embed job id), with a TTL of one job
 * lock period, extended while the owner works; released when its vectors are written. The same
 * owner may claim again (a retried attempt of the job takes over its own claims at once).
 */
import type { Redis } from 'ioredis';

const CLAIM = `
-- KEYS: claim keys; ARGV: owner, ttl ms. Returns the 1-based indexes of keys another owner holds.
local held = {}
for i, k in ipairs(KEYS) do
  local cur = redis.call('GET', k)
  if cur and cur ~= ARGV[1] then held[#held + 1] = i
  else redis.call('SET', k, ARGV[1], 'PX', ARGV[2]) end
end
return held
`;

const RELEASE = `
-- KEYS: claim keys; ARGV: owner
for _, k in ipairs(KEYS) do if redis.call('GET', k) == ARGV[1] then redis.call('DEL', k) end end
return 0
`;

const EXTEND = `
-- KEYS: claim keys; ARGV: owner, ttl ms
for _, k in ipairs(KEYS) do if redis.call('GET', k) == ARGV[1] then redis.call('PEXPIRE', k, ARGV[2]) end end
return 0
`;

/** Keys per script call: bounded so one call never blocks Redis for long. */
const SLICE = 1000;

export class InputClaims {
  readonly redis: Redis;
  readonly prefix: string;
  readonly ttlMs: number;
  constructor(redis: Redis, prefix: string, ttlMs: number) {
    this.redis = redis;
    this.prefix = prefix;
    this.ttlMs = ttlMs;
  }

  private keys(hashes: string[]): string[] {
    return hashes.map((h) => `${this.prefix}:claim:${h}`);
  }

  /** Claims `hashes` (hex) for `owner`; returns those another owner holds (not claimed). */
  async claim(owner: string, hashes: string[]): Promise<Set<string>> {
    const held = new Set<string>();
    for (let i = 0; i < hashes.length; i += SLICE) {
      const part = hashes.slice(i, i + SLICE);
      const idx = (await this.redis.eval(CLAIM, part.length, ...this.keys(part), owner, this.ttlMs)) as number[];
      for (const k of idx) held.add(part[k - 1]!);
    }
    return held;
  }

  async release(owner: string, hashes: string[]): Promise<void> {
    for (let i = 0; i < hashes.length; i += SLICE) {
      const part = hashes.slice(i, i + SLICE);
      await this.redis.eval(RELEASE, part.length, ...this.keys(part), owner);
    }
  }

  /** Keeps `owner`'s claims alive while `work` runs, then releases them whatever happens. */
  async holding<T>(owner: string, hashes: string[], work: () => Promise<T>): Promise<T> {
    const extend = async () => {
      for (let i = 0; i < hashes.length; i += SLICE) {
        const part = hashes.slice(i, i + SLICE);
        await this.redis.eval(EXTEND, part.length, ...this.keys(part), owner, this.ttlMs);
      }
    };
    const timer = setInterval(() => void extend().catch(() => {}), Math.max(100, Math.floor(this.ttlMs / 3)));
    try {
      return await work();
    } finally {
      clearInterval(timer);
      await this.release(owner, hashes);
    }
  }

  /**
   * Resolves once none of `hashes` is claimed (released or expired). Polls Redis, from 50 ms up
   * to 1 s apart: a claim lasts as long as its owner's provider call.
   */
  async released(hashes: string[]): Promise<void> {
    let left = hashes;
    for (let pause = 50; left.length > 0; pause = Math.min(1000, pause * 2)) {
      await new Promise((r) => setTimeout(r, pause));
      const still: string[] = [];
      for (let i = 0; i < left.length; i += SLICE) {
        const part = left.slice(i, i + SLICE);
        const vals = await this.redis.mget(...this.keys(part));
        vals.forEach((v, k) => v !== null && still.push(part[k]!));
      }
      left = still;
    }
  }
}
