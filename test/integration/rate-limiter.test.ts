/**
 * The shared rate limiter against real Redis: admission and exact waits under request and token
 * limits, run-time corrections (headers, billed tokens), pauses seen by every connection,
 * concurrency safety, and two worker processes that together stay under one provider's TPM.
 * Windows are scaled down (hundreds of ms to a few s) with the limits per window unchanged.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, test } from 'vitest';
import { ProviderError } from '../../src/errors.ts';
import { resolveModel } from '../../src/providers/models.ts';
import { OpenAIProvider } from '../../src/providers/openai.ts';
import { RedisRateLimiter, type RateLimiter, type RateLimitPermit, type RedisRateLimiterOptions } from '../../src/providers/rate-limiter.ts';
import { createRedis } from '../../src/queue/connection.ts';
import { uniqueName } from '../support/fixtures.ts';
import { startSimulator, type SimulatorOptions } from '../support/simulator/index.ts';
import { rateLimited } from '../support/simulator/intercept.ts';
import type { LoadAttempt, LoadSettings } from '../support/rate-limit-worker.ts';

const KEY = { provider: 'openai', model: 'text-embedding-3-small' };
const ID = 'openai/text-embedding-3-small';

let prefix: string;
let conns: Redis[];
beforeEach(() => {
  prefix = uniqueName('rl');
  conns = [];
});
afterEach(async () => {
  const r = connection();
  const keys = await r.keys(`${prefix}:*`);
  if (keys.length) await r.unlink(...keys);
  await Promise.all(conns.map((c) => c.quit()));
});

/** A new Redis connection (each limiter below stands for one process). */
function connection(): Redis {
  const r = createRedis(inject('services').redisUrl);
  conns.push(r);
  return r;
}

function limiter(opts: Partial<RedisRateLimiterOptions> & { tpm?: number; rpm?: number; headroom?: number } = {}): RedisRateLimiter {
  const { tpm, rpm, headroom = 1, ...rest } = opts;
  return new RedisRateLimiter(connection(), { prefix, windowMs: 1000, limits: { [ID]: { tpm, rpm, headroom } }, random: () => 0, guardMs: 0, burstMs: 1000, ...rest });
}

/** The limiter's methods as plain functions, to wrap some of them. */
function bind(rl: RedisRateLimiter): RateLimiter {
  return { acquire: rl.acquire.bind(rl), observe: rl.observe.bind(rl), pause: rl.pause.bind(rl), reconcile: rl.reconcile.bind(rl), release: rl.release.bind(rl) };
}

/** Places are exact: they come from Redis time and the entries already counted. */
function expectAt(p: RateLimitPermit, expected: number): void {
  expect(p.at).toBe(expected);
}

/** The largest token sum and entry count of any window (t − W, t] over the entries' times. */
function peak(entries: { at: number; tokens: number }[], windowMs: number): { tokens: number; requests: number } {
  const sorted = [...entries].sort((a, b) => a.at - b.at);
  let tokens = 0;
  let requests = 0;
  let sum = 0;
  let first = 0;
  for (const [i, e] of sorted.entries()) {
    sum += e.tokens;
    while (sorted[first]!.at <= e.at - windowMs) sum -= sorted[first++]!.tokens;
    tokens = Math.max(tokens, sum);
    requests = Math.max(requests, i - first + 1);
  }
  return { tokens, requests };
}

describe('admission', () => {
  test('admits up to the request limit at once, then the next caller exactly when the oldest leaves the window', async () => {
    const rl = limiter({ rpm: 5 });
    const t0 = Date.now();
    const first = await Promise.all(Array.from({ length: 5 }, () => rl.acquire(KEY, 10)));
    // None waited for a place: all five hold a place before the first could have left the window.
    expect(Math.max(...first.map((p) => p.at)) - t0).toBeLessThan(1000);
    const sixth = await rl.acquire(KEY, 10);
    const oldest = Math.min(...first.map((p) => p.at));
    expectAt(sixth, oldest + 1000);
    expect(Date.now()).toBeGreaterThanOrEqual(oldest + 1000 - 5);
  });

  test('tokens limit too, first come first served', async () => {
    const rl = limiter({ tpm: 1000 });
    const a = await rl.acquire(KEY, 600);
    const b = await rl.acquire(KEY, 300);
    expect(b.at - a.at).toBeLessThan(1000); // not queued behind a's window
    const [c, d] = await Promise.all([rl.acquire(KEY, 200), new Promise<RateLimitPermit>((r) => setTimeout(() => r(rl.acquire(KEY, 50)), 20))]);
    // c needs a's 600 tokens gone; d would fit at once but queues behind c.
    expectAt(c, a.at + 1000);
    expectAt(d, a.at + 1000);
  });

  test('after a burst allowance, requests follow an even pace', async () => {
    const rl = limiter({ rpm: 10, burstMs: 100 });
    const permits = await Promise.all(Array.from({ length: 5 }, () => rl.acquire(KEY, 1)));
    const t0 = Math.min(...permits.map((p) => p.at));
    // 100 ms of run-ahead lets two go at once; then one per 1000/10 ms.
    const offsets = permits.map((p) => p.at - t0).sort((x, y) => x - y);
    expect(offsets[1]).toBeLessThan(50); // the second arrives when it arrives
    expect(offsets.slice(2)).toEqual([100, 200, 300]);
  });

  test('headroom aims below the limit', async () => {
    const rl = limiter({ tpm: 1000, headroom: 0.9 });
    const a = await rl.acquire(KEY, 900);
    expectAt(await rl.acquire(KEY, 1), a.at + 1000);
  });

  test('a wait beyond maxWaitMs is a retryable ProviderError, and the place is given back', async () => {
    const rl = limiter({ rpm: 1, maxWaitMs: 300 });
    await rl.acquire(KEY, 1);
    const err = await rl.acquire(KEY, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ retryable: true, retryAfterMs: expect.any(Number) });
    expect((await rl.usage(KEY)).requests).toBe(1);
  });

  test('an aborted wait rejects with the reason and frees its place', async () => {
    const rl = limiter({ rpm: 1 });
    await rl.acquire(KEY, 1);
    const ac = new AbortController();
    const waiting = rl.acquire(KEY, 1, ac.signal);
    setTimeout(() => ac.abort(new Error('job cancelled')), 50);
    await expect(waiting).rejects.toThrow('job cancelled');
    expect((await rl.usage(KEY)).requests).toBe(1);
  });
});

describe('run-time corrections', () => {
  test('observe: a lower limit in the headers wins, and usage we did not count is added', async () => {
    const rl = limiter({ tpm: 10_000 });
    await rl.observe(KEY, { limitTokens: 1000, remainingTokens: 1000 });
    const a = await rl.acquire(KEY, 600);
    expectAt(await rl.acquire(KEY, 600), a.at + 1000);
    expect(await rl.usage(KEY)).toMatchObject({ reportedTpm: 1000 });

    // Another client used 700 of the provider's budget: the next 400 must wait.
    const key2 = { provider: 'openai', model: 'other' };
    const t = Date.now();
    await rl.observe(key2, { limitTokens: 1000, remainingTokens: 300, limitRequests: 100, remainingRequests: 95 });
    expect(await rl.usage(key2)).toMatchObject({ tokens: 700, requests: 5 });
    const b = await rl.acquire(key2, 400);
    expect(b.at).toBeGreaterThanOrEqual(t + 1000 - 5);
  });

  test('with no configured limit the headers alone limit', async () => {
    const rl = limiter();
    const first = await rl.acquire(KEY, 5000); // nothing known yet: admitted
    await rl.observe(KEY, { limitRequests: 1, remainingRequests: 0 });
    expectAt(await rl.acquire(KEY, 1), first.at + 1000);
  });

  test('observe: usage booked from the headers leaves the window at the reported reset, not a whole window later', async () => {
    // A minute's window, as OpenAI's; an acquire that would wait a window fails fast instead of hanging.
    const rl = limiter({ windowMs: 60_000, maxWaitMs: 5_000 });
    expect(await rl.observe(KEY, { limitRequests: 100, remainingRequests: 0, resetRequestsMs: 20, limitTokens: 10_000, remainingTokens: 4_000, resetTokensMs: 360_000 })).toEqual({
      tokens: 6_000,
      requests: 100,
      tokensFreeInMs: 60_000, // a reset beyond the window: the window's own length bounds it
      requestsFreeInMs: 20,
    });
    // (Not read back here: the booking is only 20 ms long, and on a loaded machine it is gone before
    // a read. observe's answer above says what was booked; the end state below, that it left.)
    // The requests budget is back after ~20 ms: the next place is that close, not 60 s away
    // (maxWaitMs 5 s would refuse a wait for the window).
    const p = await rl.acquire(KEY, 1);
    expect(p.at).toBeGreaterThan(0);
    expect((await rl.usage(KEY)).requests).toBe(1);

    // Without a reset header the reported usage counts for the whole window, as before.
    const key2 = { provider: 'openai', model: 'no-reset' };
    expect(await rl.observe(key2, { limitRequests: 100, remainingRequests: 0 })).toMatchObject({ requests: 100, requestsFreeInMs: 60_000 });
    const err = await rl.acquire(key2, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).retryAfterMs).toBeGreaterThan(50_000);
  });

  test('a 429 with x-ratelimit-reset-requests: 20ms and no Retry-After: the retry waits for the reset, not a window', async () => {
    const sim = await startSimulator();
    try {
      const rl = limiter({ windowMs: 60_000, maxWaitMs: 5_000, jitterMs: 0 });
      const paused: number[] = [];
      const spy: RateLimiter = { ...bind(rl), pause: (k, ms) => (paused.push(ms), rl.pause(k, ms)) };
      sim.intercept(() => rateLimited({ 'x-ratelimit-limit-requests': '100', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '20ms' }));
      const calls: string[] = [];
      const provider = new OpenAIProvider(resolveModel(ID, 64), { apiKey: 'sk-x', baseUrl: sim.url, limiter: spy });
      const r = await provider.embed(['abcdefgh'], { onCall: (c) => calls.push(`${c.status} ${c.httpStatus}`) });
      expect(r.vectors).toHaveLength(1);
      expect(calls).toEqual(['retry 429', 'ok 200']);
      // The 429's wait is its reset header, exactly; the limiter booked the same.
      expect(paused).toEqual([20]);
      expect(sim.stats().requests).toBe(2);
    } finally {
      await sim.close();
    }
  });

  test('reconcile: billed tokens replace the estimate where it stands, and tune later estimates', async () => {
    const rl = limiter({ tpm: 1000 });
    const a = await rl.acquire(KEY, 800);
    await rl.reconcile(KEY, a, 100);
    expect((await rl.usage(KEY)).tokens).toBe(100);
    const b = await rl.acquire(KEY, 100);
    expect(b.at - a.at).toBeLessThan(1000); // not queued behind a's window
    await rl.reconcile(KEY, b, 300); // billed 3× the estimate
    const { tokens, ratio } = await rl.usage(KEY);
    expect(tokens).toBe(400);
    expect(ratio).toBeGreaterThan(1);
    const c = await rl.acquire(KEY, 100);
    expect(c.tokens).toBe(Math.ceil(100 * ratio));
    expect(c.estimated).toBe(100);
  });
});

describe('pause', () => {
  test('blocks every caller on every connection, including one that already held a place', async () => {
    const [p1, p2, p3] = [limiter({ rpm: 1, windowMs: 600 }), limiter({ rpm: 1, windowMs: 600 }), limiter({ rpm: 1, windowMs: 600 })];
    const first = await p1.acquire(KEY, 1);
    const holder = p2.acquire(KEY, 1); // reserved at first.at + 600, sleeping
    await new Promise((r) => setTimeout(r, 100));
    await p3.pause(KEY, 1000);
    const late = await p3.acquire(KEY, 1);
    const held = await holder;
    expect(late.at).toBeGreaterThanOrEqual(first.at + 1100 - 5);
    expect(held.at).toBeGreaterThanOrEqual(first.at + 1100 - 5);
    expect(Math.abs(held.at - late.at)).toBeGreaterThanOrEqual(600); // still one per window after the pause
  });
});

test('many concurrent acquirers on several connections never exceed either limit in any window', async () => {
  const make = () => limiter({ tpm: 2000, rpm: 12, windowMs: 500, guardMs: 5, burstMs: 500 });
  const rls = [make(), make(), make()];
  let x = 7;
  const sizes = Array.from({ length: 60 }, () => 50 + ((x = (x * 48271) % 2147483647) % 250));
  const permits = await Promise.all(sizes.map((n, i) => rls[i % 3]!.acquire(KEY, n)));
  const worst = peak(permits, 500);
  expect(worst.tokens).toBeLessThanOrEqual(2000);
  expect(worst.requests).toBeLessThanOrEqual(12);
  // Saturated, not merely safe: the busiest window is nearly full.
  expect(worst.tokens > 1700 || worst.requests === 12).toBe(true);
});

test('the OpenAI provider: acquire, release + pause on a 429, reconcile billed tokens, observe headers', async () => {
  const sim = await startSimulator({ tpm: 1_000_000, retryAfterMs: 300 });
  try {
    const real = limiter({ tpm: 1_000_000 });
    const calls: string[] = [];
    const spy: RateLimiter = {
      acquire: (k, t, s) => (calls.push(`acquire ${t}`), real.acquire(k, t, s)),
      release: (k, p) => (calls.push('release'), real.release(k, p)),
      pause: (k, ms) => (calls.push(`pause ${ms}`), real.pause(k, ms)),
      reconcile: (k, p, n) => (calls.push(`reconcile ${n}`), real.reconcile(k, p, n)),
      observe: (k, i) => (calls.push(`observe ${i.limitTokens}`), real.observe(k, i)),
    };
    // Estimates one token per byte; the simulator bills a quarter of that.
    const provider = new OpenAIProvider(resolveModel(ID, 64), { apiKey: 'sk-x', baseUrl: sim.url, limiter: spy, countTokens: (t) => Buffer.byteLength(t) });
    sim.failNext(1, '429');
    const t0 = Date.now();
    const r = await provider.embed(['abcdefgh', 'ijklmnop']);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(calls).toEqual(['acquire 16', 'release', 'pause 300', 'acquire 16', 'reconcile 4', 'observe 1000000']);
    expect(r.tokens).toBe(4);
    expect((await real.usage(KEY)).tokens).toBe(4);
  } finally {
    await sim.close();
  }
});

/** Runs test/support/rate-limit-worker.ts as a child process and returns its attempts. */
function loadProcess(s: LoadSettings): Promise<LoadAttempt[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(import.meta.dirname, '../support/rate-limit-worker.ts'), JSON.stringify(s)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve((JSON.parse(out) as { attempts: LoadAttempt[] }).attempts) : reject(new Error(`load process exited ${code}: ${err.slice(-2000)}`))));
  });
}

test('two worker processes with a 60k TPM limit together stay under it, and near it', async () => {
  // 60,000 tokens per 3 s window: a minute's behaviour in 3 s, as seen by both sides.
  const windowMs = 3000;
  // What the simulator counted, and when: its own token count, called as each request arrives.
  const arrivals: { at: number; tokens: number }[] = [];
  const countTokens = (t: string) => {
    const tokens = Math.max(1, Math.ceil(Buffer.byteLength(t, 'utf8') / 4));
    arrivals.push({ at: Date.now(), tokens });
    return tokens;
  };
  const sim = await startSimulator({ tpm: 60_000, latencyMs: 10, windowMs, countTokens } as SimulatorOptions);
  try {
    const settings = (seed: number): LoadSettings => ({
      redisUrl: inject('services').redisUrl,
      prefix,
      simUrl: sim.url,
      windowMs,
      limits: { [ID]: { tpm: 60_000 } },
      durationMs: 14_000,
      concurrency: 4,
      inputs: [4, 16],
      seed,
    });
    const attempts = (await Promise.all([loadProcess(settings(1)), loadProcess(settings(2))])).flat();
    const { requests, byStatus } = sim.stats();
    expect((byStatus['429'] ?? 0) / requests).toBeLessThanOrEqual(0.01);
    expect(attempts.filter((a) => a.status === 'ok').length).toBeGreaterThan(100);
    expect(peak(arrivals, windowMs).tokens).toBeLessThanOrEqual(60_000);
    // Saturation: over three whole windows after the first, at least 85% of the limit was used.
    const from = arrivals[0]!.at + windowMs;
    const used = arrivals.filter((a) => a.at > from && a.at <= from + 3 * windowMs).reduce((s, a) => s + a.tokens, 0);
    expect(used / (3 * 60_000)).toBeGreaterThanOrEqual(0.85);
  } finally {
    await sim.close();
  }
}, 30_000);
