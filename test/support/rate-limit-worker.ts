/**
 * A stand-in worker process for the shared rate limiter's multi-process test: an OpenAIProvider
 * wired to a RedisRateLimiter sends embedding calls to a simulator from `concurrency` loops for
 * `durationMs`, then prints one JSON line with every attempt it made (when it was sent, tokens,
 * status). Settings come as one JSON argument:
 *
 *   node test/support/rate-limit-worker.ts '{"redisUrl":…,"prefix":…,"simUrl":…,"windowMs":3000,
 *     "limits":{"openai/text-embedding-3-small":{"tpm":60000}},"durationMs":10000,"concurrency":4}'
 */
import { createRedis } from '../../src/queue/connection.ts';
import { resolveModel } from '../../src/providers/models.ts';
import { OpenAIProvider } from '../../src/providers/openai.ts';
import { RedisRateLimiter, type RateLimitSettings } from '../../src/providers/rate-limiter.ts';

export interface LoadSettings {
  redisUrl: string;
  prefix: string;
  simUrl: string;
  windowMs: number;
  limits: Record<string, RateLimitSettings>;
  durationMs: number;
  /** Calls in flight at once. */
  concurrency: number;
  /** Inputs per call: a uniform pick from [min, max]. */
  inputs: [min: number, max: number];
  /** Distinguishes this process's texts (and random stream) from the other's. */
  seed: number;
}

/** One HTTP attempt as this process saw it. */
export interface LoadAttempt {
  /** Date.now() when the request left (end minus latency). */
  sentAt: number;
  tokens: number;
  status: 'ok' | 'error' | 'retry';
  httpStatus?: number;
}

const WORDS = 'rate limit window token request provider model queue worker redis vector index batch chunk embed cache'.split(' ');

async function main(): Promise<void> {
  const s = JSON.parse(process.argv[2]!) as LoadSettings;
  const redis = createRedis(s.redisUrl);
  const limiter = new RedisRateLimiter(redis, { prefix: s.prefix, limits: s.limits, windowMs: s.windowMs });
  // The simulator's own count, so estimates are exact and any 429 is the limiter's fault.
  const countTokens = (t: string) => Math.max(1, Math.ceil(Buffer.byteLength(t, 'utf8') / 4));
  const provider = new OpenAIProvider(resolveModel('openai/text-embedding-3-small', 64), {
    apiKey: 'sk-load',
    baseUrl: s.simUrl,
    countTokens,
    concurrency: s.concurrency,
    limiter,
    backoff: { baseMs: 50, capMs: 500 },
  });
  let x = s.seed * 7919 + 1;
  const rnd = (n: number) => ((x = (x * 1103515245 + 12345) >>> 0), x % n);
  const attempts: LoadAttempt[] = [];
  const until = Date.now() + s.durationMs;
  let serial = 0;
  const loop = async () => {
    while (Date.now() < until) {
      const n = s.inputs[0] + rnd(s.inputs[1] - s.inputs[0] + 1);
      const texts = Array.from({ length: n }, () => `${s.seed}-${serial++} ${Array.from({ length: 60 }, () => WORDS[rnd(WORDS.length)]).join(' ')}`);
      await provider.embed(texts, {
        onCall: (c) => attempts.push({ sentAt: Date.now() - c.latencyMs, tokens: c.tokens, status: c.status, ...(c.httpStatus ? { httpStatus: c.httpStatus } : {}) }),
      });
    }
  };
  await Promise.all(Array.from({ length: s.concurrency }, loop));
  process.stdout.write(`${JSON.stringify({ attempts })}\n`);
  redis.disconnect();
}

await main();
