/**
 * The Gemini provider through the real @google/genai SDK against the in-process simulator:
 * taskType per input type, outputDimensionality and the vectors normalized here, packing into
 * batches of 100 (and under a token cap), Google's errors (a wrong key is a 400, a per-day quota
 * is not retried, RetryInfo and Retry-After honoured), billed tokens, and the key never shown.
 */
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { GoogleGenAI } from '@google/genai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { ProviderError } from '../../src/errors.ts';
import { GeminiProvider, type GeminiProviderOptions } from '../../src/providers/gemini.ts';
import { chooseDimAdapter, modelKey } from '../../src/providers/models.ts';
import type { RateLimiter } from '../../src/providers/rate-limiter.ts';
import type { ModelSpec, ResolvedModel } from '../../src/providers/types.ts';
import { cosine } from '../../src/providers/vectors.ts';
import { googleError } from '../support/simulator/gemini.ts';
import { startSimulator, type Simulator } from '../support/simulator/index.ts';
import { cutMidBody } from '../support/simulator/intercept.ts';
import { recorder } from '../support/provider-tests.ts';

const KEY = 'AIzaSyTest-secret-0123456789abcdefghijk';
const PATH = '/gemini/v1beta/models/gemini-embedding-001:batchEmbedContents';
const texts = ['how do I rotate my API keys', 'To rotate API keys, open settings.', 'Postgres vacuum reclaims dead tuples.'];
const simTokens = (t: string) => Math.max(1, Math.ceil(Buffer.byteLength(t, 'utf8') / 4));
const norm = (v: ArrayLike<number>) => Math.hypot(...Array.from(v));

/** gemini-embedding-001 as the catalogue will describe it; the provider name is not a ModelSpec one yet. */
const SPEC: ModelSpec = {
  provider: 'gemini',
    kind: 'gemini',
    inputTypes: true,
  model: 'gemini-embedding-001',
  version: '1',
  nativeDims: 3072,
  maxInputTokens: 2048,
  tokenizer: 'cl100k_base',
  priceSyncPerMTok: 0.15,
  priceBatchPerMTok: null,
  supportsDimensions: true,
  matryoshka: true,
  maxInputsPerRequest: 100,
  maxTokensPerRequest: 100 * 2048,
};

function resolved(dims = SPEC.nativeDims, overrides: Partial<ModelSpec> = {}): ResolvedModel {
  const spec = { ...SPEC, ...overrides };
  return { spec, dims, dimAdapter: chooseDimAdapter(spec, dims), key: modelKey(spec, dims) };
}

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ apiKey: KEY });
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.reset();
  sim.set({ latencyMs: 0, rpm: 0, tpm: 0, faultRate: 0, retryAfterMs: 20 });
});

function provider(model = resolved(), opts: Partial<GeminiProviderOptions> = {}) {
  // Tiny backoff: these tests are about what is retried, not how long the jitter is.
  return new GeminiProvider(model, { apiKey: KEY, baseUrl: sim.geminiUrl, backoff: { baseMs: 5, capMs: 20 }, ...opts });
}

/** Request bodies as they left the SDK. */
function recordingFetch(): { bodies: { requests: Record<string, unknown>[] }[]; urls: string[]; fetch: typeof fetch } {
  const bodies: { requests: Record<string, unknown>[] }[] = [];
  const urls: string[] = [];
  return {
    bodies,
    urls,
    fetch: (input, init) => {
      urls.push(String(input));
      if (typeof init?.body === 'string') bodies.push(JSON.parse(init.body) as { requests: Record<string, unknown>[] });
      return fetch(input, init);
    },
  };
}

const direct = () => new GoogleGenAI({ apiKey: KEY, vertexai: false, httpOptions: { baseUrl: sim.geminiUrl, apiVersion: 'v1beta' } });

describe('requests', () => {
  test('documents and queries reach batchEmbedContents with their taskType; billed tokens are usageMetadata’s', async () => {
    const rec = recordingFetch();
    const { calls, onCall } = recorder();
    // An estimate far from the truth, so billed tokens are visibly what is reported.
    const p = provider(resolved(), { fetch: rec.fetch, countTokens: () => 1000 });
    const docs = await p.embed(texts, { onCall });
    const query = await p.embed(['rotate my api keys'], { inputType: 'query' });
    expect(rec.urls).toEqual([`${sim.geminiUrl}/v1beta/models/gemini-embedding-001:batchEmbedContents`, `${sim.geminiUrl}/v1beta/models/gemini-embedding-001:batchEmbedContents`]);
    expect(rec.bodies.map((b) => b.requests.map((r) => [r.model, r.taskType, r.outputDimensionality]))).toEqual([
      texts.map(() => ['models/gemini-embedding-001', 'RETRIEVAL_DOCUMENT', undefined]),
      [['models/gemini-embedding-001', 'RETRIEVAL_QUERY', undefined]],
    ]);
    expect(rec.bodies[0]!.requests[1]!.content).toEqual({ role: 'user', parts: [{ text: texts[1] }] });
    const billed = texts.map(simTokens).reduce((a, b) => a + b);
    expect(docs).toMatchObject({ tokens: billed, requests: 1, retries: 0 });
    expect(calls).toEqual([expect.objectContaining({ inputs: 3, tokens: billed, status: 'ok', httpStatus: 200, attempt: 1 })]);
    const raw = await direct().models.embedContent({ model: 'gemini-embedding-001', contents: texts.map((text) => ({ parts: [{ text }] })), config: { taskType: 'RETRIEVAL_DOCUMENT' } });
    for (const [i, v] of docs.vectors.entries()) {
      expect(v).toHaveLength(3072);
      expect(cosine(v, raw.embeddings![i]!.values!)).toBeCloseTo(1, 6);
    }
    expect(cosine(query.vectors[0]!, docs.vectors[0]!)).toBeGreaterThan(cosine(query.vectors[0]!, docs.vectors[2]!));
  });

  test('outputDimensionality for reduced sizes, and the vectors come back unit length although the server’s are not', async () => {
    const rec = recordingFetch();
    const reduced = await provider(resolved(768), { fetch: rec.fetch }).embed(texts);
    expect(rec.bodies[0]!.requests.map((r) => r.outputDimensionality)).toEqual([768, 768, 768]);
    expect(sim.stats().log.map((e) => e.dimensions)).toEqual([768]);
    const server = await direct().models.embedContent({ model: 'gemini-embedding-001', contents: [{ parts: [{ text: texts[0]! }] }], config: { outputDimensionality: 768 } });
    expect(server.embeddings![0]!.values).toHaveLength(768);
    expect(norm(server.embeddings![0]!.values!)).toBeLessThan(0.99);
    for (const v of reduced.vectors) {
      expect(v).toHaveLength(768);
      expect(norm(v)).toBeCloseTo(1, 5);
    }
    expect(cosine(reduced.vectors[0]!, server.embeddings![0]!.values!)).toBeCloseTo(1, 6);
  });

  test('without the provider’s dimension field: truncated here when Matryoshka, padded above the native size', async () => {
    const rec = recordingFetch();
    const cut = await provider(resolved(256, { supportsDimensions: false }), { fetch: rec.fetch }).embed(texts);
    const padded = await provider(resolved(4096), { fetch: rec.fetch }).embed(texts);
    expect(rec.bodies.map((b) => b.requests[0]!.outputDimensionality)).toEqual([undefined, undefined]);
    const full = await provider().embed(texts);
    for (const i of [0, 1, 2]) {
      expect(cut.vectors[i]).toHaveLength(256);
      expect(norm(cut.vectors[i]!)).toBeCloseTo(1, 5);
      expect(cosine(cut.vectors[i]!, full.vectors[i]!.subarray(0, 256))).toBeCloseTo(1, 5);
      expect(padded.vectors[i]).toHaveLength(4096);
      expect(Array.from(padded.vectors[i]!.subarray(3072)).every((x) => x === 0)).toBe(true);
      expect(norm(padded.vectors[i]!)).toBeCloseTo(1, 5);
    }
  });

  test('packs at most 100 texts per batch and keeps the order', async () => {
    const inputs = Array.from({ length: 250 }, (_, i) => `document number ${i}`);
    const res = await provider(resolved(), { concurrency: 3 }).embed(inputs);
    expect(sim.stats().log.map((e) => e.inputs).sort((a, b) => a! - b!)).toEqual([50, 100, 100]);
    expect(res).toMatchObject({ requests: 3, retries: 0 });
    const alone = await provider().embed([inputs[170]!]);
    expect(Array.from(res.vectors[170]!)).toEqual(Array.from(alone.vectors[0]!));
  });

  test('packs under the tokens-per-request cap', async () => {
    const inputs = Array.from({ length: 7 }, (_, i) => `chunk ${i}`);
    const res = await provider(resolved(3072, { maxTokensPerRequest: 100 }), { countTokens: () => 30 }).embed(inputs);
    expect(sim.stats().log.map((e) => e.inputs)).toEqual([3, 3, 1]);
    expect(res.vectors).toHaveLength(7);
  });

  test('more than 100 texts in one batch is Google’s 400, not retried', async () => {
    const { calls, onCall } = recorder();
    const inputs = Array.from({ length: 101 }, (_, i) => `t${i}`);
    const err = await provider(resolved(3072, { maxInputsPerRequest: 150 })).embed(inputs, { onCall }).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: false, status: 400 });
    expect((err as Error).message).toBe('gemini/gemini-embedding-001: HTTP 400 INVALID_ARGUMENT: * BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch');
    expect(calls.map((c) => [c.status, c.httpStatus])).toEqual([['error', 400]]);
  });

  test('an input over the model’s limit is a 400 that says so, not retried', async () => {
    const err = await provider().embed(['x'.repeat(9000)]).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: false, status: 400 });
    expect((err as Error).message).toMatch(/HTTP 400 INVALID_ARGUMENT: The input token count \(2250\) exceeds .*\(an input is longer than the model accepts/);
    expect(sim.stats().requests).toBe(1);
  });

  test('an unknown model is a 404 that names the base URL', async () => {
    const err = await provider(resolved(3072, { model: 'gemini-embedding-999' })).embed(texts).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: false, status: 404 });
    expect((err as Error).message).toMatch(/^gemini\/gemini-embedding-999: HTTP 404 NOT_FOUND: models\/gemini-embedding-999 is not found .*is the model served at http/);
  });

  test('without usageMetadata the estimate is kept', async () => {
    sim.intercept(async (_req, _state, next) => {
      const reply = await next();
      return { ...reply, body: { embeddings: (reply.body as { embeddings: unknown }).embeddings } };
    }, PATH);
    const res = await provider(resolved(), { countTokens: () => 7 }).embed(texts);
    expect(res.tokens).toBe(21);
  });

  test('GOOGLE_GENAI_USE_VERTEXAI, GOOGLE_GEMINI_BASE_URL and GEMINI_API_KEY in the environment change nothing', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { GOOGLE_GENAI_USE_VERTEXAI: 'true', GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:9', GEMINI_API_KEY: 'AIzaSyWrong-env-key-0000000000000000000' });
    try {
      const p = provider();
      expect((await p.embed(['x'])).vectors[0]).toHaveLength(3072);
    } finally {
      for (const k of ['GOOGLE_GENAI_USE_VERTEXAI', 'GOOGLE_GEMINI_BASE_URL', 'GEMINI_API_KEY']) if (saved[k] === undefined) delete process.env[k];
    }
  });
});

describe('errors and retries', () => {
  test('500 and a per-minute 429 are retried (the 429 after RetryInfo’s wait) and every attempt is reported', async () => {
    sim.failNext(1, '500');
    sim.failNext(1, '429');
    const { calls, onCall } = recorder();
    const res = await provider().embed(texts, { onCall });
    expect(res.retries).toBe(2);
    expect(calls.map((c) => [c.attempt, c.status, c.httpStatus])).toEqual([[1, 'retry', 500], [2, 'retry', 429], [3, 'ok', 200]]);
    expect(calls[0]!.error).toMatch(/HTTP 500 INTERNAL: An internal error has occurred/);
    expect(calls[1]!.error).toMatch(/HTTP 429 RESOURCE_EXHAUSTED: You exceeded your current quota/);
    expect(sim.stats().byStatus).toEqual({ '500': 1, '429': 1, '200': 1 });
  });

  test('RetryInfo’s wait is the error’s retryAfterMs; one longer than maxRetryAfterMs goes up retryable', async () => {
    sim.set({ retryAfterMs: 37_500 });
    sim.failNext(1, '429');
    const err = await provider(resolved(), { maxRetryAfterMs: 1000 }).embed(texts).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true, status: 429, retryAfterMs: 37_500 });
    expect((err as Error).message).toMatch(/more than maxRetryAfterMs 1000/);
  });

  test('a Retry-After header wins over the body’s RetryInfo', async () => {
    sim.intercept(() => ({ ...googleError(429, 'Resource has been exhausted (e.g. check quota).', [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1s' }]), headers: { 'retry-after': '7' } }), PATH);
    const err = await provider(resolved(), { maxRetryAfterMs: 500 }).embed(texts).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true, status: 429, retryAfterMs: 7000 });
  });

  test('a per-day quota is not retried and says why', async () => {
    sim.failNext(1, 'quota');
    const err = await provider().embed(texts).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: false, status: 429 });
    expect((err as Error).message).toMatch(/daily quota is used up: retrying will not help/);
    expect(sim.stats().requests).toBe(1);
  });

  test('gives up after maxAttempts with a retryable error', async () => {
    sim.failNext(3, '500');
    const err = await provider(resolved(), { maxAttempts: 3 }).embed(texts).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true, status: 500 });
    expect((err as Error).message).toMatch(/gave up after 3 attempts/);
    expect(sim.stats().requests).toBe(3);
  });

  test('timeouts, malformed bodies and bodies cut off mid-response are retried', async () => {
    sim.failNext(1, 'timeout');
    sim.failNext(1, 'malformed');
    const { calls, onCall } = recorder();
    const res = await provider(resolved(), { timeoutMs: 300 }).embed(texts, { onCall });
    expect(res.vectors).toHaveLength(3);
    expect(calls.map((c) => c.status)).toEqual(['retry', 'retry', 'ok']);
    expect(calls[0]!.error).toMatch(/timed out after 300 ms/);
    expect(calls[0]!.outcomeUnknown).toBe(true);
    expect(calls[1]!.error).toMatch(/malformed response body/);
    sim.intercept(cutMidBody(), PATH);
    const cut = recorder();
    await provider().embed(texts, { onCall: cut.onCall });
    expect(cut.calls.map((c) => c.status)).toEqual(['retry', 'ok']);
    expect(cut.calls[0]!.error).toMatch(/connection closed before the whole response arrived/);
  });

  test('a server that cannot be reached is retryable and named', async () => {
    // A port that was just free and is closed again: nothing listens there.
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const err = await provider(resolved(), { baseUrl: `http://127.0.0.1:${port}`, maxAttempts: 1 }).embed(texts).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true });
    expect((err as Error).message).toMatch(new RegExp(`^gemini/gemini-embedding-001: could not reach http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
  });

  test('a wrong key is Google’s 400 API_KEY_INVALID: not retried, says what to check, never shows the key', async () => {
    const wrong = 'AIzaSyWrong-secret-abcdef1234567890XYZ';
    // Google echoes the key in DebugInfo; this server also puts it in the message, to prove the scrub.
    const echoing: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (res.status !== 400) return res;
      const body = (await res.json()) as { error: { message: string } };
      body.error.message += ` (key ${new Headers(init?.headers).get('x-goog-api-key')}, see ${String(input)}?key=${wrong})`;
      return new Response(JSON.stringify(body), { status: 400, headers: { 'content-type': 'application/json' } });
    };
    const { calls, onCall } = recorder();
    const err = await provider(resolved(), { apiKey: wrong, fetch: echoing }).embed(texts, { onCall }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ retryable: false, status: 400 });
    expect((err as Error).message).toMatch(/HTTP 400 INVALID_ARGUMENT: API key not valid\. .*\[redacted\].*key=\[redacted\].*\(the API key is invalid: check GEMINI_API_KEY\)/);
    for (const text of [(err as Error).message, String((err as Error).cause ?? ''), calls[0]!.error ?? '']) expect(text).not.toContain(wrong);
    expect(sim.stats().requests).toBe(1);
  });

  test('vectors of the wrong size are rejected, not retried', async () => {
    sim.failNext(1, 'wrong-dims');
    const err = await provider().embed(texts).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: false });
    expect((err as Error).message).toBe('gemini/gemini-embedding-001: provider returned 1536-dim vectors, expected 3072');
  });

  test('the shared limiter: a place per attempt, billed tokens reconciled, a 429 releases and pauses (Gemini sends no rate-limit headers)', async () => {
    const seen: string[] = [];
    const limiter: RateLimiter = {
      acquire: async (_k, tokens) => (seen.push(`acquire ${tokens}`), { id: 'p', tokens, estimated: tokens, at: 0 }),
      observe: async () => void seen.push('observe'),
      pause: async (k) => void seen.push(`pause ${k.provider}/${k.model}`),
      reconcile: async (_k, _p, actual) => void seen.push(`reconcile ${actual}`),
      release: async () => void seen.push('release'),
    };
    sim.failNext(1, '429');
    await provider(resolved(), { limiter, countTokens: () => 10 }).embed(texts);
    expect(seen).toEqual(['acquire 30', 'release', 'pause gemini/gemini-embedding-001', 'acquire 30', `reconcile ${texts.map(simTokens).reduce((a, b) => a + b)}`]);
  });
});

test('an aborted call sends nothing and rejects with the reason', async () => {
  const reason = new Error('shutting down');
  await expect(provider().embed(texts, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  expect(sim.stats().requests).toBe(0);
});
