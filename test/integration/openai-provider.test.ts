/**
 * The OpenAI provider through the real SDK against the in-process simulator: wire encodings,
 * dimensions, request packing, retries (and what each attempt reports), and failures that must
 * not be retried.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { NonRetryableError, ProviderError } from '../../src/errors.ts';
import { createLocalEmbedder } from '../../src/providers/local.ts';
import { resolveModel, type ModelOverrides } from '../../src/providers/models.ts';
import { OpenAIProvider, type OpenAIProviderOptions } from '../../src/providers/openai.ts';
import type { RateLimitInfo } from '../../src/providers/retry.ts';
import { cosine } from '../../src/providers/vectors.ts';
import { startSimulator, type Simulator } from '../support/simulator/index.ts';
import { cutMidBody } from '../support/simulator/intercept.ts';
import { recorder } from '../support/provider-tests.ts';

const KEY = 'sk-test-0123456789abcdef';
const texts = ['how do I rotate my API keys', 'To rotate API keys, open settings.', 'Postgres vacuum reclaims dead tuples.'];
const countTokens = (t: string) => Math.max(1, Math.ceil(Buffer.byteLength(t, 'utf8') / 4));

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ apiKey: KEY, countTokens });
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.reset();
  sim.set({ latencyMs: 0, rpm: 0, tpm: 0, retryAfterMs: 250, models: undefined });
});

function provider(id = 'openai/text-embedding-3-small', dims?: number, opts: Partial<OpenAIProviderOptions> = {}, overrides: ModelOverrides = {}) {
  // Tiny backoff: these tests are about what is retried, not how long the jitter is.
  return new OpenAIProvider(resolveModel(id, dims, overrides), { apiKey: KEY, baseUrl: sim.url, backoff: { baseMs: 5, capMs: 20 }, ...opts });
}

describe('wire format', () => {
  test('base64 (default) and float give the same unit vectors, in input order', async () => {
    const b64 = await provider().embed(texts);
    const float = await provider('openai/text-embedding-3-small', undefined, { encodingFormat: 'float' }).embed(texts);
    expect(sim.stats().log.map((e) => e.encoding)).toEqual(['base64', 'float']);
    const expected = createLocalEmbedder(1536, 'text-embedding-3-small', { nested: true });
    for (const [i, t] of texts.entries()) {
      expect(b64.vectors[i]).toHaveLength(1536);
      expect(Array.from(b64.vectors[i]!)).toEqual(Array.from(float.vectors[i]!));
      expect(cosine(b64.vectors[i]!, expected(t).vector)).toBeCloseTo(1, 6);
    }
    expect(b64).toMatchObject({ tokens: texts.map(countTokens).reduce((a, b) => a + b), requests: 1, retries: 0 });
  });

  test('the provider asks for reduced dimensions, or truncates / pads itself', async () => {
    const viaProvider = await provider('openai/text-embedding-3-small', 256).embed(texts);
    const truncated = await provider('openai/text-embedding-3-small', 256, {}, { supportsDimensions: false }).embed(texts);
    const padded = await provider('openai/text-embedding-ada-002', 2048).embed(texts);
    expect(sim.stats().log.map((e) => e.dimensions)).toEqual([256, undefined, undefined]);
    for (const i of [0, 1, 2]) {
      expect(viaProvider.vectors[i]).toHaveLength(256);
      expect(cosine(viaProvider.vectors[i]!, truncated.vectors[i]!)).toBeCloseTo(1, 5);
      expect(padded.vectors[i]).toHaveLength(2048);
      expect(Array.from(padded.vectors[i]!.subarray(1536)).every((x) => x === 0)).toBe(true);
    }
    // Reduced vectors still rank the paraphrase above the unrelated text.
    const [q, near, far] = viaProvider.vectors;
    expect(cosine(q!, near!)).toBeGreaterThan(cosine(q!, far!));
  });

  test('rate-limit headers reach onRateLimit', async () => {
    sim.set({ rpm: 100, tpm: 100_000 });
    const seen: RateLimitInfo[] = [];
    await provider('openai/text-embedding-3-small', undefined, { onRateLimit: (i) => seen.push(i) }).embed(texts);
    expect(seen).toEqual([expect.objectContaining({ limitRequests: 100, remainingRequests: 99, limitTokens: 100_000, remainingTokens: 100_000 - texts.map(countTokens).reduce((a, b) => a + b) })]);
    expect(seen[0]!.resetRequestsMs).toBeGreaterThan(0);
  });
});

describe('packing', () => {
  test('splits by max inputs per request and keeps the order', async () => {
    const inputs = Array.from({ length: 10 }, (_, i) => `document number ${i}`);
    const res = await provider('openai/text-embedding-3-small', 64, { concurrency: 3 }, { maxInputsPerRequest: 3 }).embed(inputs);
    expect(sim.stats().log.map((e) => e.inputs).sort()).toEqual([1, 3, 3, 3]);
    expect(res.requests).toBe(4);
    const alone = await provider('openai/text-embedding-3-small', 64).embed([inputs[7]!]);
    expect(Array.from(res.vectors[7]!)).toEqual(Array.from(alone.vectors[0]!));
  });

  test('splits by max tokens per request, counting with the given tokenizer', async () => {
    const inputs = Array.from({ length: 12 }, (_, i) => `${'word '.repeat(20)}${i}`); // 26 or 27 tokens each
    const res = await provider('openai/text-embedding-3-small', 64, { countTokens }, { maxTokensPerRequest: 100 }).embed(inputs);
    const log = sim.stats().log;
    expect(log.length).toBe(4);
    expect(log.every((e) => e.tokens! <= 100)).toBe(true);
    expect(res.tokens).toBe(inputs.map(countTokens).reduce((a, b) => a + b));
  });

  test('empty and (with a real tokenizer) over-long inputs fail before any request', async () => {
    await expect(provider().embed(['ok', ''])).rejects.toThrow(NonRetryableError);
    await expect(provider('openai/text-embedding-3-small', undefined, { countTokens: () => 9000 }).embed(['x'])).rejects.toThrow(/9000 tokens, more than the model's 8191/);
    expect(sim.stats().requests).toBe(0);
  });
});

describe('retries', () => {
  test('5xx are retried and every attempt is reported', async () => {
    sim.failNext(2, '500');
    const { calls, onCall } = recorder();
    const res = await provider().embed(texts, { onCall });
    expect(res.retries).toBe(2);
    expect(calls.map((c) => [c.attempt, c.status, c.httpStatus])).toEqual([[1, 'retry', 500], [2, 'retry', 500], [3, 'ok', 200]]);
    expect(calls[0]!.error).toMatch(/HTTP 500 .*server had an error/);
    expect(sim.stats().byStatus).toEqual({ '500': 2, '200': 1 });
  });

  test('a 429 waits for Retry-After, not the (zero) jitter', async () => {
    sim.set({ retryAfterMs: 300 });
    sim.failNext(1, '429');
    const { calls, onCall } = recorder();
    const started = performance.now();
    await provider('openai/text-embedding-3-small', undefined, { random: () => 0 }).embed(texts, { onCall });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(calls.map((c) => [c.status, c.httpStatus])).toEqual([['retry', 429], ['ok', 200]]);
  });

  test('a real RPM limit whose wait is too long goes up as a retryable error with retryAfterMs', async () => {
    sim.set({ rpm: 1 });
    const p = provider('openai/text-embedding-3-small', undefined, { maxRetryAfterMs: 1000 });
    await p.embed(['first']);
    const err = await p.embed(['second']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ retryable: true, status: 429 });
    expect((err as ProviderError).retryAfterMs).toBeGreaterThan(50_000);
    expect((err as Error).message).toMatch(/requests per min \(RPM\).*more than maxRetryAfterMs/);
  });

  test('insufficient_quota is a 429 that is not retried', async () => {
    sim.failNext(1, 'quota');
    const { calls, onCall } = recorder();
    const err = await provider().embed(texts, { onCall }).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: false, status: 429 });
    expect((err as Error).message).toMatch(/insufficient_quota.*out of quota/);
    expect(calls.map((c) => c.status)).toEqual(['error']);
    expect(sim.stats().requests).toBe(1);
  });

  test('timeouts are retried', async () => {
    sim.failNext(1, 'timeout');
    const { calls, onCall } = recorder();
    const res = await provider('openai/text-embedding-3-small', undefined, { timeoutMs: 300 }).embed(texts, { onCall });
    expect(res.vectors).toHaveLength(3);
    expect(calls.map((c) => c.status)).toEqual(['retry', 'ok']);
    expect(calls[0]!.error).toMatch(/timed out after 300 ms/);
    expect(sim.stats().byStatus).toEqual({ timeout: 1, '200': 1 });
  });

  test('a 200 whose body is cut off mid-response (undici "terminated") is retried, that one request only', async () => {
    sim.intercept(cutMidBody());
    const { calls, onCall } = recorder();
    const res = await provider().embed(texts, { onCall });
    expect(res.vectors).toHaveLength(3);
    expect(calls.map((c) => [c.attempt, c.status])).toEqual([[1, 'retry'], [2, 'ok']]);
    expect(calls[0]!.error).toMatch(/connection closed before the whole response arrived.*terminated/);
    expect(sim.stats().requests).toBe(2);
  });

  test('a malformed body is retried, and fails clearly when it persists', async () => {
    sim.failNext(1, 'malformed');
    expect((await provider().embed(texts)).retries).toBe(1);
    sim.failNext(5, 'malformed');
    const err = await provider('openai/text-embedding-3-small', undefined, { maxAttempts: 2 }).embed(texts).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true });
    expect((err as Error).message).toMatch(/malformed response body \(invalid JSON.*gave up after 2 attempts/);
  });

  test('connection errors are retried and name the server', async () => {
    const gone = await startSimulator();
    await gone.close();
    const p = new OpenAIProvider(resolveModel('openai/text-embedding-3-small'), { apiKey: KEY, baseUrl: gone.url, maxAttempts: 2, backoff: { baseMs: 5 } });
    const { calls, onCall } = recorder();
    const err = await p.embed(texts, { onCall }).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true });
    expect((err as Error).message).toContain(`could not reach ${gone.url}`);
    expect(calls.map((c) => [c.status, c.httpStatus])).toEqual([['retry', undefined], ['error', undefined]]);
  });

  test('retries stop at maxAttempts', async () => {
    sim.failNext(10, '500');
    const { calls, onCall } = recorder();
    await expect(provider('openai/text-embedding-3-small', undefined, { maxAttempts: 3 }).embed(texts, { onCall })).rejects.toThrow(/gave up after 3 attempts/);
    expect(calls.map((c) => c.status)).toEqual(['retry', 'retry', 'error']);
  });
});

describe('failures that are not retried', () => {
  test('wrong dimensions are rejected', async () => {
    sim.failNext(1, 'wrong-dims');
    const err = await provider().embed(texts).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: false });
    expect((err as Error).message).toMatch(/provider returned 768-dim vectors, expected 1536/);
    expect(sim.stats().requests).toBe(1);
  });

  test('a bad key is a 401 whose message never shows the key', async () => {
    const p = new OpenAIProvider(resolveModel('openai/text-embedding-3-small'), { apiKey: 'sk-wrong-key-987654321', baseUrl: sim.url });
    const err = await p.embed(texts).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: false, status: 401 });
    expect((err as Error).message).toMatch(/Incorrect API key provided.*check OPENAI_API_KEY/);
    expect((err as Error).message).not.toContain('987654321');
    expect(sim.stats().log.at(-1)!.status).toBe(401);
  });

  test('an unknown model is a 404 with a hint', async () => {
    sim.set({ models: { 'text-embedding-3-small': { dims: 1536, dimensions: true } } });
    const err = await provider('openai/other-model', 384).embed(texts).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: false, status: 404 });
    expect((err as Error).message).toMatch(/model_not_found.*is the model served at http:\/\/127\.0\.0\.1/);
  });

  test('the first failure stops the other requests of the call', async () => {
    sim.failNext(1, 'quota');
    const inputs = Array.from({ length: 6 }, (_, i) => `input ${i}`);
    await expect(provider('openai/text-embedding-3-small', undefined, { concurrency: 1 }, { maxInputsPerRequest: 1 }).embed(inputs)).rejects.toThrow(/quota/);
    expect(sim.stats().requests).toBe(1);
  });

  test('the caller can abort', async () => {
    sim.failNext(1, 'timeout'); // never answered: the abort wins however slow the machine
    const { calls, onCall } = recorder();
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('shutting down')), 50);
    await expect(provider().embed(texts, { signal: ac.signal, onCall })).rejects.toThrow('shutting down');
    expect(calls.map((c) => [c.status, c.error])).toEqual([['error', 'aborted']]);
  });
});
