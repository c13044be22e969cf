/**
 * The Cohere provider through the real cohere-ai SDK against the in-process simulator: input
 * types, packing into calls of 96, output_dimension, retries (and what each attempt reports),
 * failures that must not be retried, and the wiring in createProvider.
 */
import { CohereClientV2 } from 'cohere-ai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { ConfigError, ProviderError, UsageError } from '../../src/errors.ts';
import { CohereProvider, type CohereProviderOptions } from '../../src/providers/cohere.ts';
import { createProvider } from '../../src/providers/index.ts';
import { resolveModel, type ModelOverrides } from '../../src/providers/models.ts';
import type { RateLimiter } from '../../src/providers/rate-limiter.ts';
import { cosine } from '../../src/providers/vectors.ts';
import { startSimulator, type Simulator } from '../support/simulator/index.ts';
import { cutMidBody } from '../support/simulator/intercept.ts';
import { recorder, recordingFetch } from '../support/provider-tests.ts';

const KEY = 'co-test-secret-0123456789';
const texts = ['how do I rotate my API keys', 'To rotate API keys, open settings.', 'Postgres vacuum reclaims dead tuples.'];
const simTokens = (t: string) => Math.max(1, Math.ceil(Buffer.byteLength(t, 'utf8') / 4));

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ apiKey: KEY });
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.reset();
  sim.set({ latencyMs: 0, rpm: 0, tpm: 0, faultRate: 0 });
});

function provider(id = 'cohere/embed-english-v3.0', dims?: number, opts: Partial<CohereProviderOptions> = {}, overrides: ModelOverrides = {}) {
  // Tiny backoff: these tests are about what is retried, not how long the jitter is.
  return new CohereProvider(resolveModel(id, dims, overrides), { apiKey: KEY, baseUrl: sim.cohereUrl, backoff: { baseMs: 5, capMs: 20 }, ...opts });
}

describe('requests', () => {
  test('documents and queries reach the server with their input_type; vectors are the SDK’s, billed tokens reported', async () => {
    const rec = recordingFetch();
    const { calls, onCall } = recorder();
    // An estimate far from the truth, so billed tokens are visibly what is reported.
    const p = provider('cohere/embed-english-v3.0', undefined, { fetch: rec.fetch, countTokens: () => 1000 });
    const docs = await p.embed(texts, { onCall });
    const query = await p.embed(['rotate my api keys'], { inputType: 'query' });
    expect(rec.bodies.map((b) => [b.input_type, b.embedding_types, b.output_dimension])).toEqual([
      ['search_document', ['float'], undefined],
      ['search_query', ['float'], undefined],
    ]);
    const billed = texts.map(simTokens).reduce((a, b) => a + b);
    expect(docs).toMatchObject({ tokens: billed, requests: 1, retries: 0 });
    expect(calls).toEqual([expect.objectContaining({ inputs: 3, tokens: billed, status: 'ok', httpStatus: 200, attempt: 1 })]);
    const direct = await new CohereClientV2({ token: KEY, environment: sim.cohereUrl, maxRetries: 0 }).embed({ model: 'embed-english-v3.0', inputType: 'search_document', texts });
    for (const [i, v] of docs.vectors.entries()) {
      expect(v).toHaveLength(1024);
      expect(cosine(v, direct.embeddings.float![i]!)).toBeCloseTo(1, 6);
    }
    expect(cosine(query.vectors[0]!, docs.vectors[0]!)).toBeGreaterThan(cosine(query.vectors[0]!, docs.vectors[2]!));
  });

  test('packs at most 96 texts per call and keeps the order', async () => {
    const inputs = Array.from({ length: 200 }, (_, i) => `document number ${i}`);
    const res = await provider('cohere/embed-english-light-v3.0', undefined, { concurrency: 3 }).embed(inputs);
    expect(sim.stats().cohere?.embedRequests).toBe(3);
    expect(sim.stats().log.map((e) => e.inputs).sort((a, b) => a! - b!)).toEqual([8, 96, 96]);
    expect(res).toMatchObject({ requests: 3, retries: 0 });
    expect(res.vectors).toHaveLength(200);
    const alone = await provider('cohere/embed-english-light-v3.0').embed([inputs[150]!]);
    expect(Array.from(res.vectors[150]!)).toEqual(Array.from(alone.vectors[0]!));
  });

  test('output_dimension for embed-v4.0; other sizes padded here; sizes nothing can make are refused before any call', async () => {
    const rec = recordingFetch();
    const reduced = await provider('cohere/embed-v4.0', 512, { fetch: rec.fetch }).embed(texts);
    const native = await provider('cohere/embed-v4.0', undefined, { fetch: rec.fetch }).embed(texts);
    const padded = await provider('cohere/embed-english-light-v3.0', 512, { fetch: rec.fetch }).embed(texts);
    expect(rec.bodies.map((b) => b.output_dimension)).toEqual([512, undefined, undefined]);
    expect(sim.stats().log.map((e) => e.dimensions)).toEqual([512, undefined, undefined]);
    for (const i of [0, 1, 2]) {
      expect(reduced.vectors[i]).toHaveLength(512);
      expect(native.vectors[i]).toHaveLength(1536);
      expect(padded.vectors[i]).toHaveLength(512);
      expect(Array.from(padded.vectors[i]!.subarray(384)).every((x) => x === 0)).toBe(true);
      expect(Math.hypot(...padded.vectors[i]!)).toBeCloseTo(1, 5);
    }
    expect(() => resolveModel('cohere/embed-v4.0', 300)).toThrow(UsageError);
    expect(() => resolveModel('cohere/embed-v4.0', 300)).toThrow(/256, 512, 1024, 1536/);
    expect(() => resolveModel('cohere/embed-english-v3.0', 256)).toThrow(/cannot produce 256/);
    expect(sim.stats().cohere?.embedRequests).toBe(3);
  });

  test('a dimension the server refuses is a 400, not retried', async () => {
    const { calls, onCall } = recorder();
    const p = provider('cohere/embed-english-v3.0', 256, {}, { supportsDimensions: true });
    const err = await p.embed(texts, { onCall }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ retryable: false, status: 400 });
    expect((err as Error).message).toMatch(/^cohere\/embed-english-v3\.0: HTTP 400: .*output_dimension is only supported for embed-v4\.0/);
    expect(calls.map((c) => [c.status, c.httpStatus])).toEqual([['error', 400]]);
  });
});

describe('retries', () => {
  test('500 and 429 are retried and every attempt is reported', async () => {
    sim.failNext(1, '500');
    sim.failNext(1, '429');
    const { calls, onCall } = recorder();
    const res = await provider().embed(texts, { onCall });
    expect(res.retries).toBe(2);
    expect(calls.map((c) => [c.attempt, c.status, c.httpStatus])).toEqual([[1, 'retry', 500], [2, 'retry', 429], [3, 'ok', 200]]);
    expect(calls[0]!.error).toMatch(/HTTP 500: internal server error/);
    expect(sim.stats().byStatus).toEqual({ '500': 1, '429': 1, '200': 1 });
  });

  test('timeouts and malformed bodies are retried', async () => {
    sim.failNext(1, 'timeout');
    sim.failNext(1, 'malformed');
    const { calls, onCall } = recorder();
    const res = await provider('cohere/embed-english-v3.0', undefined, { timeoutMs: 300 }).embed(texts, { onCall });
    expect(res.vectors).toHaveLength(3);
    expect(calls.map((c) => c.status)).toEqual(['retry', 'retry', 'ok']);
    expect(calls[0]!.error).toMatch(/timed out after 300 ms/);
    expect(calls[1]!.error).toMatch(/malformed response body/);
  });

  test('a 200 whose body is cut off mid-response is retried, that one request only', async () => {
    sim.intercept(cutMidBody(), '/cohere/v2/embed');
    const { calls, onCall } = recorder();
    const res = await provider().embed(texts, { onCall });
    expect(res.vectors).toHaveLength(3);
    expect(calls.map((c) => [c.attempt, c.status])).toEqual([[1, 'retry'], [2, 'ok']]);
    expect(calls[0]!.error).toMatch(/connection closed before the whole response arrived.*terminated/);
    expect(sim.stats().requests).toBe(2);
  });

  test('a Retry-After longer than maxRetryAfterMs goes up as a retryable error with retryAfterMs', async () => {
    sim.set({ rpm: 1 });
    const p = provider('cohere/embed-english-v3.0', undefined, { maxRetryAfterMs: 1000 });
    await p.embed(['first']);
    const err = await p.embed(['second']).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true, status: 429 });
    expect((err as ProviderError).retryAfterMs).toBeGreaterThan(50_000);
    expect((err as Error).message).toMatch(/more than maxRetryAfterMs 1000/);
  });

  test('gives up after maxAttempts with a retryable error', async () => {
    sim.failNext(3, '500');
    const err = await provider('cohere/embed-english-v3.0', undefined, { maxAttempts: 3 }).embed(texts).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true, status: 500 });
    expect((err as Error).message).toMatch(/gave up after 3 attempts/);
    expect(sim.stats().requests).toBe(3);
  });

  test('401 is not retried, says which setting to check, and never shows the key', async () => {
    const wrong = 'co-wrong-secret-abcdef123456';
    // The simulator's Cohere 401 does not echo the key; make it, to prove the message is scrubbed.
    const echoing: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (res.status !== 401) return res;
      return new Response(JSON.stringify({ message: `invalid api token ${new Headers(init?.headers).get('authorization')}` }), { status: 401, headers: { 'content-type': 'application/json' } });
    };
    const { calls, onCall } = recorder();
    const err = await provider('cohere/embed-english-v3.0', undefined, { apiKey: wrong, fetch: echoing }).embed(texts, { onCall }).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: false, status: 401 });
    expect((err as Error).message).toMatch(/HTTP 401: invalid api token Bearer \[redacted\] \(check COHERE_API_KEY/);
    expect((err as Error).message).not.toContain(wrong);
    expect(String((err as Error).cause ?? '')).not.toContain(wrong);
    expect(calls[0]!.error).not.toContain(wrong);
    expect(sim.stats().requests).toBe(1);
  });

  test('vectors of the wrong size are rejected, not retried', async () => {
    sim.failNext(1, 'wrong-dims');
    const { calls, onCall } = recorder();
    const err = await provider().embed(texts, { onCall }).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: false });
    expect((err as Error).message).toBe('cohere/embed-english-v3.0: provider returned 512-dim vectors, expected 1024');
    expect(calls.map((c) => [c.status, c.httpStatus])).toEqual([['error', 200]]);
  });

  test('the shared limiter: a place per attempt, billed tokens reconciled, a 429 releases and pauses', async () => {
    const seen: string[] = [];
    const limiter: RateLimiter = {
      acquire: async (_k, tokens) => (seen.push(`acquire ${tokens}`), { id: 'p', tokens, estimated: tokens, at: 0 }),
      observe: async () => {},
      pause: async (k) => void seen.push(`pause ${k.provider}/${k.model}`),
      reconcile: async (_k, _p, actual) => void seen.push(`reconcile ${actual}`),
      release: async () => void seen.push('release'),
    };
    sim.failNext(1, '429');
    await provider('cohere/embed-english-v3.0', undefined, { limiter, countTokens: () => 10 }).embed(texts);
    expect(seen).toEqual(['acquire 30', 'release', 'pause cohere/embed-english-v3.0', 'acquire 30', `reconcile ${texts.map(simTokens).reduce((a, b) => a + b)}`]);
  });
});

test('an aborted call sends nothing and rejects with the reason', async () => {
  const reason = new Error('shutting down');
  await expect(provider().embed(texts, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  expect(sim.stats().requests).toBe(0);
});

describe('createProvider', () => {
  const v4 = resolveModel('cohere/embed-v4.0');

  test('a missing key is a ConfigError naming COHERE_API_KEY', async () => {
    await expect(createProvider(v4, {})).rejects.toThrow(ConfigError);
    await expect(createProvider(v4, { cohere: { baseUrl: 'https://api.example.com' } })).rejects.toThrow(/cohere\/embed-v4\.0: COHERE_API_KEY is not set/);
  });

  test('with the configured key and base URL it embeds; a loopback server needs no key', async () => {
    const p = await createProvider(v4, { cohere: { apiKey: KEY, baseUrl: sim.cohereUrl } });
    expect(p).toBeInstanceOf(CohereProvider);
    expect((await p.embed(['x'])).vectors[0]).toHaveLength(1536);
    expect(await createProvider(v4, { cohere: { baseUrl: 'http://127.0.0.1:9/cohere' } })).toBeInstanceOf(CohereProvider);
  });
});
