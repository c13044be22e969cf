/**
 * The Voyage provider through the real voyageai SDK against the in-process simulator: input
 * types, output_dimension and the local size adapters, packing under 1,000 texts and the
 * per-model token cap, retries (and what each attempt reports), failures that must not be
 * retried, and what an error may say.
 */
import { VoyageAIClient } from 'voyageai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { ProviderError } from '../../src/errors.ts';
import type { RateLimiter } from '../../src/providers/rate-limiter.ts';
import type { ModelSpec, ResolvedModel } from '../../src/providers/types.ts';
import { cosine } from '../../src/providers/vectors.ts';
import { VoyageProvider, type VoyageProviderOptions } from '../../src/providers/voyage.ts';
import { startSimulator, type Simulator } from '../support/simulator/index.ts';
import { cutMidBody } from '../support/simulator/intercept.ts';
import { recorder, recordingFetch } from '../support/provider-tests.ts';

const KEY = 'pa-test-secret-0123456789';
const FLEXIBLE = [256, 512, 1024, 2048];
const texts = ['how do I rotate my API keys', 'To rotate API keys, open settings.', 'Postgres vacuum reclaims dead tuples.'];
/** The simulator's count: 4 UTF-8 bytes a token. */
const simTokens = (t: string) => Math.max(1, Math.ceil(Buffer.byteLength(t, 'utf8') / 4));
/** A text of exactly `n` simulator tokens. */
const ofTokens = (n: number, tag: string) => `${tag} `.padEnd(4 * n, 'abcd ');

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ apiKey: KEY });
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.reset();
  sim.set({ latencyMs: 0, rpm: 0, tpm: 0, faultRate: 0, retryAfterMs: 0 });
});

interface Shape {
  nativeDims?: number;
  providerDims?: readonly number[];
  maxInputTokens?: number;
  maxInputsPerRequest?: number;
  maxTokensPerRequest?: number;
}

/** A Voyage model as the catalogue will resolve it, built here so the test needs no catalogue. */
function voyageModel(model: string, dims?: number, shape: Shape = {}): ResolvedModel {
  const spec: ModelSpec = {
    provider: 'voyage',
    kind: 'voyage',
    inputTypes: true,
    model,
    version: '1',
    nativeDims: shape.nativeDims ?? 1024,
    maxInputTokens: shape.maxInputTokens ?? 32_000,
    tokenizer: 'voyage',
    priceSyncPerMTok: 0,
    priceBatchPerMTok: null,
    supportsDimensions: shape.providerDims !== undefined,
    ...(shape.providerDims ? { providerDims: shape.providerDims } : {}),
    matryoshka: true,
    maxInputsPerRequest: shape.maxInputsPerRequest ?? 1000,
    maxTokensPerRequest: shape.maxTokensPerRequest ?? 320_000,
  };
  const out = dims ?? spec.nativeDims;
  const dimAdapter = out === spec.nativeDims ? 'native' : spec.providerDims?.includes(out) ? 'provider' : out > spec.nativeDims ? 'pad' : 'truncate';
  return { spec, dims: out, dimAdapter, key: `voyage/${model}@1:${out}` };
}

function provider(model = voyageModel('voyage-3.5', undefined, { providerDims: FLEXIBLE }), opts: Partial<VoyageProviderOptions> = {}) {
  // Tiny backoff: these tests are about what is retried, not how long the jitter is.
  return new VoyageProvider(model, { apiKey: KEY, baseUrl: sim.voyageUrl, backoff: { baseMs: 5, capMs: 20 }, ...opts });
}

const failure = (p: Promise<unknown>) => p.then(() => expect.unreachable('the call succeeded'), (e: unknown) => e as ProviderError);

describe('requests', () => {
  test('documents and queries reach Voyage with their input_type; base64 vectors; billed tokens from usage', async () => {
    const rec = recordingFetch();
    const { calls, onCall } = recorder();
    // An estimate far from the truth, so billed tokens are visibly what is reported.
    const p = provider(undefined, { fetch: rec.fetch, countTokens: () => 1000 });
    const docs = await p.embed(texts, { onCall });
    const query = await p.embed(['rotate my api keys'], { inputType: 'query' });
    expect(rec.bodies.map((b) => [b.input_type, b.truncation, b.encoding_format, b.output_dimension])).toEqual([
      ['document', true, 'base64', undefined],
      ['query', true, 'base64', undefined],
    ]);
    const billed = texts.map(simTokens).reduce((a, b) => a + b);
    expect(docs).toMatchObject({ tokens: billed, requests: 1, retries: 0 });
    expect(calls).toEqual([expect.objectContaining({ inputs: 3, tokens: billed, status: 'ok', httpStatus: 200, attempt: 1 })]);
    // The same texts as plain floats through the SDK: the base64 decode changes nothing.
    const direct = await new VoyageAIClient({ apiKey: KEY, baseUrl: sim.voyageUrl, maxRetries: 0 }).embed({ model: 'voyage-3.5', inputType: 'document', input: texts });
    for (const [i, v] of docs.vectors.entries()) {
      expect(v).toHaveLength(1024);
      expect(cosine(v, direct.data![i]!.embedding!)).toBeCloseTo(1, 6);
    }
    expect(cosine(query.vectors[0]!, docs.vectors[0]!)).toBeGreaterThan(cosine(query.vectors[0]!, docs.vectors[2]!));
  });

  test('output_dimension where the model takes it; other sizes truncated or padded here', async () => {
    const rec = recordingFetch();
    const at = (model: ResolvedModel) => provider(model, { fetch: rec.fetch }).embed(texts);
    const reduced = await at(voyageModel('voyage-3.5', 512, { providerDims: FLEXIBLE }));
    const larger = await at(voyageModel('voyage-4', 2048, { providerDims: FLEXIBLE }));
    const native = await at(voyageModel('voyage-3.5', undefined, { providerDims: FLEXIBLE }));
    const truncated = await at(voyageModel('voyage-finance-2', 300));
    const padded = await at(voyageModel('voyage-law-2', 1536));
    expect(rec.bodies.map((b) => b.output_dimension)).toEqual([512, 2048, undefined, undefined, undefined]);
    expect(sim.stats().log.map((e) => e.dimensions)).toEqual([512, 2048, undefined, undefined, undefined]);
    for (const i of [0, 1, 2]) {
      expect(reduced.vectors[i]).toHaveLength(512);
      expect(larger.vectors[i]).toHaveLength(2048);
      expect(native.vectors[i]).toHaveLength(1024);
      expect(truncated.vectors[i]).toHaveLength(300);
      expect(padded.vectors[i]).toHaveLength(1536);
      expect(Array.from(padded.vectors[i]!.subarray(1024)).every((x) => x === 0)).toBe(true);
      for (const v of [reduced, larger, truncated, padded]) expect(Math.hypot(...v.vectors[i]!)).toBeCloseTo(1, 5);
    }
  });

  test('a size the server refuses is a 400, not retried', async () => {
    const { calls, onCall } = recorder();
    const err = await failure(provider(voyageModel('voyage-finance-2', 256, { providerDims: [256] })).embed(texts, { onCall }));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ retryable: false, status: 400 });
    expect(err.message).toBe('voyage/voyage-finance-2: HTTP 400: Model voyage-finance-2 does not support output_dimension.');
    expect(calls.map((c) => [c.status, c.httpStatus])).toEqual([['error', 400]]);
  });
});

describe('request limits', () => {
  test('at most 1,000 texts a request, in order', async () => {
    const inputs = Array.from({ length: 2300 }, (_, i) => `document number ${i}`);
    const res = await provider(undefined, { concurrency: 3 }).embed(inputs);
    expect(sim.stats().log.map((e) => e.inputs).sort((a, b) => a! - b!)).toEqual([300, 1000, 1000]);
    expect(res).toMatchObject({ requests: 3, retries: 0 });
    const alone = await provider().embed([inputs[1500]!]);
    expect(Array.from(res.vectors[1500]!)).toEqual(Array.from(alone.vectors[0]!));
  });

  test('packs under the token cap per request, counting an over-long input at the context length as Voyage does', async () => {
    const model = voyageModel('voyage-3-large', undefined, { providerDims: FLEXIBLE, maxTokensPerRequest: 120_000 });
    const p = provider(model, { countTokens: simTokens });
    // 40K tokens count as 32K once truncated: 32K + 30K + 30K + 28K is exactly the 120K cap.
    const fits = [ofTokens(40_000, 'a'), ofTokens(30_000, 'b'), ofTokens(30_000, 'c'), ofTokens(28_000, 'd')];
    expect(await p.embed(fits)).toMatchObject({ requests: 1, tokens: 120_000 });
    sim.reset();
    const over = [ofTokens(30_000, 'e'), ofTokens(30_000, 'f'), ofTokens(30_000, 'g'), ofTokens(30_000, 'h'), ofTokens(1, 'i')];
    expect(await p.embed(over)).toMatchObject({ requests: 2, tokens: 120_001 });
    expect(sim.stats().log.map((e) => [e.inputs, e.tokens]).sort((a, b) => b[0]! - a[0]!)).toEqual([[4, 120_000], [1, 1]]);
  });

  test('a request over the token cap is Voyage’s 400, not retried, naming the setting to lower', async () => {
    const { calls, onCall } = recorder();
    const model = voyageModel('voyage-3-large', undefined, { providerDims: FLEXIBLE, maxTokensPerRequest: 1_000_000 });
    const err = await failure(provider(model, { countTokens: simTokens }).embed(['a', 'b', 'c', 'd'].map((t) => ofTokens(31_000, t)), { onCall }));
    expect(err).toMatchObject({ retryable: false, status: 400 });
    expect(err.message).toMatch(/^voyage\/voyage-3-large: HTTP 400: .*The max allowed tokens per submitted batch is 120000\. Your batch has 124000 tokens after truncation/);
    expect(err.message).toMatch(/lower maxTokensPerRequest/);
    expect(calls.map((c) => c.status)).toEqual(['error']);
  });

  test('with truncation off, an input over the context is a 400 naming maxInputTokens', async () => {
    const err = await failure(provider(undefined, { truncation: false }).embed([ofTokens(33_000, 'a')]));
    expect(err).toMatchObject({ retryable: false, status: 400 });
    expect(err.message).toMatch(/more than the context length of voyage-3\.5 \(32000\).*\(an input is longer than the model's context: lower maxInputTokens/);
  });
});

describe('retries', () => {
  test('500 and 429 are retried, the 429 after its Retry-After, and every attempt is reported', async () => {
    sim.failNext(1, '500');
    sim.failNext(1, '429');
    const { calls, onCall } = recorder();
    const res = await provider().embed(texts, { onCall });
    expect(res.retries).toBe(2);
    expect(calls.map((c) => [c.attempt, c.status, c.httpStatus])).toEqual([[1, 'retry', 500], [2, 'retry', 429], [3, 'ok', 200]]);
    expect(calls[0]!.error).toMatch(/^voyage\/voyage-3\.5: HTTP 500: Internal server error/);
    expect(calls[1]!.error).toMatch(/HTTP 429: Rate limit exceeded/);
    expect(sim.stats().byStatus).toEqual({ '500': 1, '429': 1, '200': 1 });
  });

  test('a Retry-After longer than maxRetryAfterMs goes up as a retryable error carrying it', async () => {
    sim.set({ retryAfterMs: 5000 });
    sim.failNext(1, '429');
    const err = await failure(provider(undefined, { maxRetryAfterMs: 1000 }).embed(texts));
    expect(err).toMatchObject({ retryable: true, status: 429, retryAfterMs: 5000 });
    expect(err.message).toMatch(/more than maxRetryAfterMs 1000/);
  });

  test('timeouts, malformed bodies and bodies cut off mid-response are retried', async () => {
    sim.failNext(1, 'timeout');
    sim.failNext(1, 'malformed');
    const { calls, onCall } = recorder();
    const res = await provider(undefined, { timeoutMs: 300 }).embed(texts, { onCall });
    expect(res.vectors).toHaveLength(3);
    expect(calls.map((c) => c.status)).toEqual(['retry', 'retry', 'ok']);
    expect(calls[0]).toMatchObject({ outcomeUnknown: true, error: expect.stringMatching(/timed out after 300 ms/) });
    expect(calls[1]!.error).toMatch(/malformed response body/);

    sim.intercept(cutMidBody(), '/voyage/v1/embeddings');
    const cut = recorder();
    expect((await provider().embed(texts, { onCall: cut.onCall })).vectors).toHaveLength(3);
    expect(cut.calls.map((c) => [c.attempt, c.status])).toEqual([[1, 'retry'], [2, 'ok']]);
    expect(cut.calls[0]).toMatchObject({ outcomeUnknown: true, error: expect.stringMatching(/connection closed before the whole response arrived \(terminated/) });
  });

  test('gives up after maxAttempts with a retryable error', async () => {
    sim.failNext(3, '500');
    const err = await failure(provider(undefined, { maxAttempts: 3 }).embed(texts));
    expect(err).toMatchObject({ retryable: true, status: 500 });
    expect(err.message).toMatch(/gave up after 3 attempts/);
    expect(sim.stats().requests).toBe(3);
  });

  test('vectors of the wrong size are rejected, not retried', async () => {
    sim.failNext(1, 'wrong-dims');
    const err = await failure(provider().embed(texts));
    expect(err).toMatchObject({ retryable: false });
    expect(err.message).toBe('voyage/voyage-3.5: provider returned 512-dim vectors, expected 1024');
  });

  test('the shared limiter: a place per attempt, billed tokens reconciled, a 429 releases and pauses', async () => {
    const seen: string[] = [];
    const limiter: RateLimiter = {
      acquire: async (_k, tokens) => (seen.push(`acquire ${tokens}`), { id: 'p', tokens, estimated: tokens, at: 0 }),
      observe: async () => {},
      pause: async (k, ms) => void seen.push(`pause ${k.provider}/${k.model} ${ms}`),
      reconcile: async (_k, _p, actual) => void seen.push(`reconcile ${actual}`),
      release: async () => void seen.push('release'),
    };
    sim.failNext(1, '429');
    await provider(undefined, { limiter, countTokens: () => 10 }).embed(texts);
    expect(seen).toEqual(['acquire 30', 'release', 'pause voyage/voyage-3.5 0', 'acquire 30', `reconcile ${texts.map(simTokens).reduce((a, b) => a + b)}`]);
  });
});

describe('what an error may say', () => {
  test('401 is not retried, says which key to check, and never shows the key', async () => {
    const wrong = 'pa-wrong-secret-abcdef123456';
    const { calls, onCall } = recorder();
    const err = await failure(provider(undefined, { apiKey: wrong }).embed(texts, { onCall }));
    expect(err).toMatchObject({ retryable: false, status: 401 });
    // The simulator's 401 echoes the key it was sent.
    expect(err.message).toMatch(/^voyage\/voyage-3\.5: HTTP 401: Incorrect API key provided: \[redacted\]\. \(the API key is missing or invalid: check VOYAGE_API_KEY/);
    for (const text of [err.message, String(err.cause ?? ''), calls[0]!.error]) expect(text).not.toContain(wrong);
    expect(sim.stats().requests).toBe(1);
  });

  test('an unreachable server is retried and named, without the password of its URL', async () => {
    const refused = await failure(provider(undefined, { baseUrl: 'http://127.0.0.1:9/voyage/v1', maxAttempts: 2 }).embed(texts));
    expect(refused).toMatchObject({ retryable: true });
    expect(refused.message).toMatch(/^voyage\/voyage-3\.5: could not reach http:\/\/127\.0\.0\.1:9\/voyage\/v1: fetch failed: .+ \(gave up after 2 attempts\)$/);
    const withPassword = await failure(provider(undefined, { baseUrl: `http://user:s3cr3t-pass@127.0.0.1:${sim.port}/voyage/v1`, maxAttempts: 1 }).embed(texts));
    expect(withPassword.message).toContain('user:***@127.0.0.1');
    expect(withPassword.message).not.toContain('s3cr3t-pass');
  });

  test('an aborted call sends nothing and rejects with the reason', async () => {
    const reason = new Error('shutting down');
    await expect(provider().embed(texts, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(sim.stats().requests).toBe(0);
  });
});
