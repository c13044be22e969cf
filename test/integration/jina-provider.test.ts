/**
 * The Jina provider over HTTP (Jina has no SDK) against the in-process simulator: task from the
 * input type, dimensions (Jina's own, or truncated / padded here), packing at the per-request
 * limits, rate-limit headers, billed tokens, retries and the failures that must not be retried,
 * and that neither the key nor a URL's password shows in an error.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { ProviderError } from '../../src/errors.ts';
import { JinaProvider, type JinaProviderOptions } from '../../src/providers/jina.ts';
import { chooseDimAdapter, modelKey } from '../../src/providers/models.ts';
import type { RateLimiter } from '../../src/providers/rate-limiter.ts';
import type { RateLimitInfo } from '../../src/providers/retry.ts';
import type { ModelSpec, ResolvedModel } from '../../src/providers/types.ts';
import { cosine } from '../../src/providers/vectors.ts';
import { startSimulator, type Simulator } from '../support/simulator/index.ts';
import { cutMidBody } from '../support/simulator/intercept.ts';
import { createLocalEmbedder } from '../../src/providers/local.ts';
import { recorder, recordingFetch } from '../support/provider-tests.ts';

const KEY = 'jina_test0123456789abcdefsecret';
const texts = ['how do I rotate my API keys', 'To rotate API keys, open settings.', 'Postgres vacuum reclaims dead tuples.'];
const simTokens = (t: string) => Math.max(1, Math.ceil(Buffer.byteLength(t, 'utf8') / 4));
const PATH = '/jina/v1/embeddings';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ apiKey: KEY });
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.reset();
  sim.set({ latencyMs: 0, rpm: 0, tpm: 0, faultRate: 0, retryAfterMs: 250 });
});

/** A Jina model as the catalogue will describe it (the lead's catalogue does not exist yet). */
function jinaModel(model = 'jina-embeddings-v3', dims?: number, over: Partial<ModelSpec> = {}): ResolvedModel {
  const spec: ModelSpec = {
    provider: 'jina',
    kind: 'jina',
    inputTypes: true,
    model,
    version: '1',
    nativeDims: model === 'jina-embeddings-v4' ? 2048 : 1024,
    maxInputTokens: model === 'jina-embeddings-v4' ? 32_768 : 8192,
    tokenizer: 'cl100k_base',
    // Prices are not under test here.
    priceSyncPerMTok: 0,
    priceBatchPerMTok: null,
    supportsDimensions: true,
    matryoshka: true,
    maxInputsPerRequest: model === 'jina-embeddings-v4' ? 512 : 2048,
    maxTokensPerRequest: 1_000_000,
    ...over,
  };
  const out = dims ?? spec.nativeDims;
  return { spec, dims: out, dimAdapter: chooseDimAdapter(spec, out), key: modelKey(spec, out) };
}

function provider(model = jinaModel(), opts: Partial<JinaProviderOptions> = {}) {
  // Tiny backoff: these tests are about what is retried, not how long the jitter is.
  return new JinaProvider(model, { apiKey: KEY, baseUrl: sim.jinaUrl, backoff: { baseMs: 5, capMs: 20 }, ...opts });
}

const jinaLog = () => sim.stats().log.filter((e) => e.path === PATH);

describe('requests', () => {
  test('documents go as retrieval.passage, queries as retrieval.query; billed tokens are usage.total_tokens', async () => {
    const rec = recordingFetch();
    const { calls, onCall } = recorder();
    // An estimate far from the truth, so billed tokens are visibly what is reported.
    const p = provider(jinaModel(), { fetch: rec.fetch, countTokens: () => 1000 });
    const docs = await p.embed(texts, { onCall });
    const query = await p.embed(['rotate my api keys'], { inputType: 'query' });
    expect(rec.bodies.map((b) => [b.model, b.task, b.embedding_type, b.dimensions, b.late_chunking, b.normalized])).toEqual([
      ['jina-embeddings-v3', 'retrieval.passage', 'float', undefined, undefined, undefined],
      ['jina-embeddings-v3', 'retrieval.query', 'float', undefined, undefined, undefined],
    ]);
    const billed = texts.map(simTokens).reduce((a, b) => a + b);
    expect(docs).toMatchObject({ tokens: billed, requests: 1, retries: 0 });
    expect(calls).toEqual([expect.objectContaining({ inputs: 3, tokens: billed, status: 'ok', httpStatus: 200, attempt: 1 })]);
    // The simulator's vectors are the OpenAI route's for the same model name and size.
    const expected = createLocalEmbedder(1024, 'jina-embeddings-v3', { nested: true });
    for (const [i, t] of texts.entries()) {
      expect(docs.vectors[i]).toHaveLength(1024);
      expect(cosine(docs.vectors[i]!, expected(t).vector)).toBeCloseTo(1, 6);
    }
    expect(cosine(query.vectors[0]!, docs.vectors[0]!)).toBeGreaterThan(cosine(query.vectors[0]!, docs.vectors[2]!));
  });

  test('dimensions: Jina shortens them, or they are truncated or padded here', async () => {
    const rec = recordingFetch();
    const viaJina = await provider(jinaModel('jina-embeddings-v3', 256), { fetch: rec.fetch }).embed(texts);
    const truncated = await provider(jinaModel('jina-embeddings-v3', 256, { supportsDimensions: false }), { fetch: rec.fetch }).embed(texts);
    const padded = await provider(jinaModel('jina-embeddings-v3', 1536), { fetch: rec.fetch }).embed(texts);
    const v4 = await provider(jinaModel('jina-embeddings-v4', 512), { fetch: rec.fetch }).embed(texts);
    expect(rec.bodies.map((b) => b.dimensions)).toEqual([256, undefined, undefined, 512]);
    expect(jinaLog().map((e) => e.dimensions)).toEqual([256, undefined, undefined, 512]);
    for (const i of [0, 1, 2]) {
      expect(viaJina.vectors[i]).toHaveLength(256);
      expect(cosine(viaJina.vectors[i]!, truncated.vectors[i]!)).toBeCloseTo(1, 5);
      expect(padded.vectors[i]).toHaveLength(1536);
      expect(Array.from(padded.vectors[i]!.subarray(1024)).every((x) => x === 0)).toBe(true);
      expect(Math.hypot(...padded.vectors[i]!)).toBeCloseTo(1, 5);
      expect(v4.vectors[i]).toHaveLength(512);
      expect(Math.hypot(...v4.vectors[i]!)).toBeCloseTo(1, 5);
    }
  });

  test('packs under the model’s inputs and tokens per request, keeping the order', async () => {
    const inputs = Array.from({ length: 2100 }, (_, i) => `document number ${i}`);
    const byInputs = await provider(jinaModel(), { concurrency: 2 }).embed(inputs);
    expect(jinaLog().map((e) => e.inputs).sort((a, b) => a! - b!)).toEqual([52, 2048]);
    expect(byInputs).toMatchObject({ requests: 2, retries: 0 });
    const alone = await provider().embed([inputs[2070]!]);
    expect(Array.from(byInputs.vectors[2070]!)).toEqual(Array.from(alone.vectors[0]!));

    sim.reset();
    // 10 tokens each by our count, at most 35 per request: 3 + 3 + 1.
    await provider(jinaModel('jina-embeddings-v3', undefined, { maxTokensPerRequest: 35 }), { countTokens: () => 10 }).embed(inputs.slice(0, 7));
    expect(jinaLog().map((e) => e.inputs)).toEqual([3, 3, 1]);
  });

  test('Jina’s own input cap is a 4xx, not retried, that says to send fewer inputs', async () => {
    const { calls, onCall } = recorder();
    const many = Array.from({ length: 600 }, (_, i) => `text ${i}`);
    const err = await provider(jinaModel('jina-embeddings-v4', undefined, { maxInputsPerRequest: 1000 })).embed(many, { onCall }).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: false, status: 422 });
    expect((err as Error).message).toMatch(/^jina\/jina-embeddings-v4: HTTP 422: .*at most 512 items.*\(too many inputs in one request/);
    const v3 = await provider(jinaModel('jina-embeddings-v3', undefined, { maxInputsPerRequest: 4096 })).embed(Array.from({ length: 2049 }, (_, i) => `t${i}`)).catch((e: unknown) => e);
    expect(v3).toMatchObject({ retryable: false, status: 400 });
    expect((v3 as Error).message).toMatch(/"input" length 2049 is larger than the largest allowed size 2048 \(too many inputs/);
    expect(calls.map((c) => [c.status, c.httpStatus])).toEqual([['error', 422]]);
  });

  test('an input longer than the context is refused as input too long, or cut with truncate', async () => {
    const long = 'word '.repeat(8000); // 40,000 bytes: 10,000 tokens by the simulator's count
    const err = await provider().embed([long]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ retryable: false, status: 400 });
    expect((err as Error).message).toMatch(/^jina\/jina-embeddings-v3: HTTP 400: .*\(input too long for the model/);
    const rec = recordingFetch();
    const cut = await provider(jinaModel(), { truncate: true, fetch: rec.fetch }).embed([long]);
    expect(rec.bodies[0]!.truncate).toBe(true);
    expect(cut).toMatchObject({ tokens: 8192, requests: 1 });
  });

  test('X-RateLimit-Remaining-* headers reach onRateLimit and the limiter', async () => {
    sim.set({ rpm: 100, tpm: 100_000 });
    const seen: RateLimitInfo[] = [];
    const observed: RateLimitInfo[] = [];
    const limiter: RateLimiter = {
      acquire: async (_k, tokens) => ({ id: 'p', tokens, estimated: tokens, at: 0 }),
      observe: async (_k, info) => void observed.push(info),
      pause: async () => {},
      reconcile: async () => {},
      release: async () => {},
    };
    await provider(jinaModel(), { onRateLimit: (i) => seen.push(i), limiter }).embed(texts);
    const info = { remainingRequests: 99, remainingTokens: 100_000 - texts.map(simTokens).reduce((a, b) => a + b) };
    // Jina documents only the remaining counts: no limit, no reset.
    expect(seen).toEqual([info]);
    expect(observed).toEqual([info]);
  });
});

describe('errors and retries', () => {
  test('a 429 with Retry-After pauses the model for that long, then succeeds', async () => {
    sim.set({ retryAfterMs: 40 });
    sim.failNext(1, '429');
    const pauses: number[] = [];
    const limiter: RateLimiter = {
      acquire: async (_k, tokens) => ({ id: 'p', tokens, estimated: tokens, at: 0 }),
      observe: async () => {},
      pause: async (_k, ms) => void pauses.push(ms),
      reconcile: async () => {},
      release: async () => {},
    };
    const { calls, onCall } = recorder();
    const res = await provider(jinaModel(), { limiter }).embed(texts, { onCall });
    expect(res).toMatchObject({ retries: 1 });
    expect(calls.map((c) => [c.attempt, c.status, c.httpStatus])).toEqual([[1, 'retry', 429], [2, 'ok', 200]]);
    expect(calls[0]!.error).toMatch(/^jina\/jina-embeddings-v3: HTTP 429 RATE_REQUEST_LIMIT_EXCEEDED: Request rate limit exceeded/);
    expect(pauses).toEqual([40]);
  });

  test('5xx, timeouts, malformed and cut-off bodies are retried', async () => {
    sim.failNext(2, '500');
    sim.failNext(1, 'timeout');
    sim.failNext(1, 'malformed');
    const { calls, onCall } = recorder();
    const res = await provider(jinaModel(), { timeoutMs: 300 }).embed(texts, { onCall });
    expect(res.vectors).toHaveLength(3);
    expect(calls.map((c) => [c.status, c.httpStatus])).toEqual([['retry', 500], ['retry', 500], ['retry', undefined], ['retry', 200], ['ok', 200]]);
    expect(calls[0]!.error).toMatch(/^jina\/jina-embeddings-v3: HTTP 500 INTERNAL_ERROR: An unexpected error/);
    expect(calls[2]).toMatchObject({ outcomeUnknown: true, error: expect.stringMatching(/timed out after 300 ms/) });
    expect(calls[3]!.error).toMatch(/malformed response body/);

    sim.intercept(cutMidBody(), PATH);
    const cut = recorder();
    await provider().embed(texts, { onCall: cut.onCall });
    expect(cut.calls.map((c) => c.status)).toEqual(['retry', 'ok']);
    expect(cut.calls[0]!.error).toMatch(/connection closed before the whole response arrived.*terminated/);
  });

  test('gives up after maxAttempts with a retryable error that says so', async () => {
    sim.failNext(3, '500');
    const err = await provider(jinaModel(), { maxAttempts: 3 }).embed(texts).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true, status: 500 });
    expect((err as Error).message).toMatch(/^jina\/jina-embeddings-v3: HTTP 500 INTERNAL_ERROR: .*\(gave up after 3 attempts\)$/);
    expect(jinaLog()).toHaveLength(3);
  });

  test('an empty account (403 AUTHZ_INSUFFICIENT_BALANCE) is not retried', async () => {
    sim.failNext(1, 'quota');
    const err = await provider().embed(texts).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: false, status: 403 });
    expect((err as Error).message).toMatch(/HTTP 403 AUTHZ_INSUFFICIENT_BALANCE: .*\(the account is out of tokens/);
    expect(jinaLog()).toHaveLength(1);
  });

  test('401 is not retried, says authentication failed, and never shows the key', async () => {
    const wrong = 'jina_wrong0123456789abcdefsecret';
    // Jina's 401 does not echo the key; make it, to prove the message is scrubbed.
    const echoing: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (res.status !== 401) return res;
      const detail = `Invalid API key ${new Headers(init?.headers).get('authorization')}`;
      return new Response(JSON.stringify({ detail, code: 'AUTH_INVALID_API_KEY' }), { status: 401, headers: { 'content-type': 'application/json' } });
    };
    const { calls, onCall } = recorder();
    const err = await provider(jinaModel(), { apiKey: wrong, fetch: echoing }).embed(texts, { onCall }).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: false, status: 401 });
    expect((err as Error).message).toMatch(/^jina\/jina-embeddings-v3: HTTP 401 AUTH_INVALID_API_KEY: Invalid API key Bearer \[redacted\] \(authentication failed/);
    for (const text of [(err as Error).message, (err as Error).stack ?? '', String((err as Error).cause), calls[0]!.error ?? '']) expect(text).not.toContain(wrong);
    expect(jinaLog()).toHaveLength(1);
  });

  test('a base URL with credentials is refused without showing its password; an unreachable one is retryable', async () => {
    const url = new URL(sim.jinaUrl);
    url.username = 'proxy';
    url.password = 'hunter2-secret';
    const err = await provider(jinaModel(), { baseUrl: url.toString() }).embed(texts).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: false });
    expect((err as Error).message).toMatch(/^jina\/jina-embeddings-v3: .*includes credentials: http:\/\/proxy:\*\*\*@/);
    expect(`${(err as Error).message}${(err as Error).stack}`).not.toContain('hunter2-secret');
    const down = await provider(jinaModel(), { baseUrl: 'http://127.0.0.1:9/v1', maxAttempts: 1 }).embed(texts).catch((e: unknown) => e);
    expect(down).toMatchObject({ retryable: true });
    expect((down as Error).message).toMatch(/could not reach http:\/\/127\.0\.0\.1:9\/v1/);
  });

  test('vectors of the wrong size are rejected, not retried', async () => {
    sim.failNext(1, 'wrong-dims');
    const err = await provider().embed(texts).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: false });
    expect((err as Error).message).toBe('jina/jina-embeddings-v3: provider returned 512-dim vectors, expected 1024');
  });

  test('an aborted call sends nothing and rejects with the reason', async () => {
    const reason = new Error('shutting down');
    await expect(provider().embed(texts, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(sim.stats().requests).toBe(0);
  });
});
