/**
 * The Mistral provider through the real @mistralai/mistralai SDK against the in-process
 * simulator: no input type, output_dimension and the local truncate/pad adapters, packing at the
 * per-request limits, the per-minute rate-limit headers, retries (and what each attempt
 * reports), failures that must not be retried, and that neither the key nor a URL's password
 * shows in an error.
 */
import { Mistral } from '@mistralai/mistralai';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { ProviderError } from '../../src/errors.ts';
import { MistralProvider, type MistralProviderOptions } from '../../src/providers/mistral.ts';
import { chooseDimAdapter } from '../../src/providers/models.ts';
import type { RateLimiter } from '../../src/providers/rate-limiter.ts';
import type { RateLimitInfo } from '../../src/providers/retry.ts';
import type { ModelSpec, ResolvedModel } from '../../src/providers/types.ts';
import { cosine } from '../../src/providers/vectors.ts';
import { startSimulator, type Simulator } from '../support/simulator/index.ts';
import { cutMidBody } from '../support/simulator/intercept.ts';
import { MISTRAL_MAX_INPUTS, MISTRAL_MAX_REQUEST_TOKENS } from '../support/simulator/mistral.ts';
import { failure, recorder } from '../support/provider-tests.ts';

const KEY = 'mistral-test-secret-0123456789';
const PATH = '/mistral/v1/embeddings';
const texts = ['how do I rotate my API keys', 'To rotate API keys, open settings.', 'Postgres vacuum reclaims dead tuples.'];
const simTokens = (t: string) => Math.max(1, Math.ceil(Buffer.byteLength(t, 'utf8') / 4));

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ apiKey: KEY });
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.reset();
  sim.set({ latencyMs: 0, rpm: 0, tpm: 0, faultRate: 0, retryAfterMs: 20, models: undefined });
});

type Name = 'mistral-embed' | 'codestral-embed';

/** The catalogue row is the lead's to write; this is what the adapter needs of one, by hand. */
function mistralModel(model: Name, dims?: number, over: Partial<ModelSpec> = {}): ResolvedModel {
  const code = model === 'codestral-embed';
  const spec: ModelSpec = {
    provider: 'mistral',
    kind: 'mistral',
    inputTypes: false,
    model,
    version: '1',
    nativeDims: code ? 1536 : 1024,
    maxInputTokens: 8192,
    tokenizer: 'cl100k_base',
    priceSyncPerMTok: code ? 0.15 : 0.1,
    priceBatchPerMTok: null,
    supportsDimensions: code,
    matryoshka: code,
    maxInputsPerRequest: MISTRAL_MAX_INPUTS,
    maxTokensPerRequest: MISTRAL_MAX_REQUEST_TOKENS,
    ...over,
  };
  const size = dims ?? spec.nativeDims;
  return { spec, dims: size, dimAdapter: chooseDimAdapter(spec, size), key: `mistral/${model}@1:${size}` };
}

function provider(model: Name = 'mistral-embed', dims?: number, opts: Partial<MistralProviderOptions> = {}, over: Partial<ModelSpec> = {}) {
  // Tiny backoff: these tests are about what is retried, not how long the jitter is.
  return new MistralProvider(mistralModel(model, dims, over), { apiKey: KEY, baseUrl: sim.mistralUrl, backoff: { baseMs: 5, capMs: 20 }, ...opts });
}

/** Request bodies as they left the SDK (it hands its fetcher a Request). */
function recordingFetch(): { bodies: Record<string, unknown>[]; fetch: typeof fetch } {
  const bodies: Record<string, unknown>[] = [];
  return {
    bodies,
    fetch: async (input, init) => {
      if (input instanceof Request) bodies.push((await input.clone().json()) as Record<string, unknown>);
      return fetch(input, init);
    },
  };
}

describe('requests', () => {
  test('queries and documents send the same body (Mistral has no input type); vectors are the SDK’s; billed tokens from usage', async () => {
    const rec = recordingFetch();
    const { calls, onCall } = recorder();
    // An estimate far from the truth, so billed tokens are visibly what is reported.
    const p = provider('mistral-embed', undefined, { fetch: rec.fetch, countTokens: () => 1000 });
    const docs = await p.embed(texts, { onCall });
    const query = await p.embed(['rotate my api keys'], { inputType: 'query' });
    expect(rec.bodies).toEqual([{ model: 'mistral-embed', input: texts }, { model: 'mistral-embed', input: ['rotate my api keys'] }]);
    const billed = texts.map(simTokens).reduce((a, b) => a + b);
    expect(docs).toMatchObject({ tokens: billed, requests: 1, retries: 0 });
    expect(calls).toEqual([expect.objectContaining({ inputs: 3, tokens: billed, status: 'ok', httpStatus: 200, attempt: 1 })]);
    const direct = await new Mistral({ apiKey: KEY, serverURL: sim.mistralUrl }).embeddings.create({ model: 'mistral-embed', inputs: texts });
    expect(direct.usage.promptTokens).toBe(billed);
    for (const [i, v] of docs.vectors.entries()) {
      expect(v).toHaveLength(1024);
      expect(cosine(v, direct.data[i]!.embedding!)).toBeCloseTo(1, 6);
    }
    expect(cosine(query.vectors[0]!, docs.vectors[0]!)).toBeGreaterThan(cosine(query.vectors[0]!, docs.vectors[2]!));
    // The OpenAI route serves the same vector for the same model name and size.
    sim.set({ models: { 'mistral-embed': { dims: 1024, dimensions: false } } });
    const openai = (await (await fetch(`${sim.url}/embeddings`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'mistral-embed', input: texts[0] }) })).json()) as { data: { embedding: number[] }[] };
    expect(cosine(docs.vectors[0]!, openai.data[0]!.embedding)).toBeCloseTo(1, 6);
  });

  test('codestral-embed: output_dimension when the size is asked of the provider; its native size without; truncate and pad here otherwise', async () => {
    const rec = recordingFetch();
    const reduced = await provider('codestral-embed', 512, { fetch: rec.fetch }).embed(texts);
    const native = await provider('codestral-embed', undefined, { fetch: rec.fetch }).embed(texts);
    const truncated = await provider('codestral-embed', 256, { fetch: rec.fetch }, { supportsDimensions: false }).embed(texts);
    const padded = await provider('mistral-embed', 1536, { fetch: rec.fetch }).embed(texts);
    expect(rec.bodies.map((b) => [b.model, b.output_dimension])).toEqual([
      ['codestral-embed', 512],
      ['codestral-embed', undefined],
      ['codestral-embed', undefined],
      ['mistral-embed', undefined],
    ]);
    for (const i of [0, 1, 2]) {
      expect(reduced.vectors[i]).toHaveLength(512);
      expect(native.vectors[i]).toHaveLength(1536);
      expect(truncated.vectors[i]).toHaveLength(256);
      expect(padded.vectors[i]).toHaveLength(1536);
      expect(Array.from(padded.vectors[i]!.subarray(1024)).every((x) => x === 0)).toBe(true);
      for (const v of [reduced, native, truncated, padded]) expect(Math.hypot(...v.vectors[i]!)).toBeCloseTo(1, 5);
      // A provider-reduced vector is the native one's prefix, renormalised, as Mistral documents.
      expect(cosine(reduced.vectors[i]!, native.vectors[i]!.subarray(0, 512))).toBeCloseTo(1, 5);
    }
  });

  test('output_dimension on mistral-embed is a 400, not retried, naming the provider and model', async () => {
    const { calls, onCall } = recorder();
    const err = await failure(provider('mistral-embed', 512, {}, { supportsDimensions: true }).embed(texts, { onCall }));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ retryable: false, status: 400 });
    expect(err.message).toMatch(/^mistral\/mistral-embed: HTTP 400: output_dimension is not supported/);
    expect(calls.map((c) => [c.status, c.httpStatus])).toEqual([['error', 400]]);
  });
});

describe('request limits', () => {
  test('packs at most maxInputsPerRequest inputs per request and keeps the order', async () => {
    const inputs = Array.from({ length: 1100 }, (_, i) => `document number ${i}`);
    const res = await provider('mistral-embed', undefined, { concurrency: 3 }).embed(inputs);
    expect(sim.stats().log.map((e) => e.inputs).sort((a, b) => a! - b!)).toEqual([76, 512, 512]);
    expect(res).toMatchObject({ requests: 3, retries: 0 });
    const alone = await provider().embed([inputs[1050]!]);
    expect(Array.from(res.vectors[1050]!)).toEqual(Array.from(alone.vectors[0]!));
  });

  test('packs under maxTokensPerRequest by the estimate', async () => {
    // 4,000 bytes: 1,334 tokens by the estimate (bytes / 3), 1,000 by the simulator (bytes / 4).
    const inputs = Array.from({ length: 30 }, (_, i) => `${i} `.padEnd(4000, 'x'));
    const res = await provider().embed(inputs);
    expect(sim.stats().log.map((e) => e.inputs)).toEqual([12, 12, 6]);
    expect(res.tokens).toBe(30 * 1000);
  });

  test('over the server’s limits: too many inputs, too many tokens, an input too long are 400s with a hint, not retried', async () => {
    const many = Array.from({ length: 600 }, (_, i) => `doc ${i}`);
    const inputs = await failure(provider('mistral-embed', undefined, {}, { maxInputsPerRequest: 1000 }).embed(many));
    expect(inputs).toMatchObject({ retryable: false, status: 400 });
    expect(inputs.message).toBe('mistral/mistral-embed: HTTP 400 3210: Too many inputs in request, split into more batches. (more inputs in one request than Mistral takes: lower maxInputsPerRequest for this model)');
    const big = Array.from({ length: 20 }, () => 'y'.repeat(4000));
    const tokens = await failure(provider('mistral-embed', undefined, {}, { maxTokensPerRequest: 1_000_000 }).embed(big));
    expect(tokens.message).toMatch(/HTTP 400 3210: Too many tokens overall.*lower maxTokensPerRequest/);
    const long = await failure(provider().embed(['z'.repeat(40_000)]));
    expect(long).toMatchObject({ retryable: false, status: 400 });
    expect(long.message).toMatch(/exceeding max 8192 tokens.*an input is longer than the model takes/);
    expect(sim.stats().byStatus).toEqual({ '400': 3 });
  });
});

describe('rate limits', () => {
  test('the per-minute headers of an answer reach the hook and the shared limiter', async () => {
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
    await provider('mistral-embed', undefined, { limiter, onRateLimit: (i) => seen.push(i) }).embed(texts);
    const used = texts.map(simTokens).reduce((a, b) => a + b);
    expect(seen).toEqual([{ limitRequests: 100, remainingRequests: 99, limitTokens: 100_000, remainingTokens: 100_000 - used }]);
    expect(observed).toEqual(seen);
  });

  test('a 429 is retried after its Retry-After, the limiter paused for everyone', async () => {
    sim.failNext(1, '429');
    const seen: string[] = [];
    const limiter: RateLimiter = {
      acquire: async (_k, tokens) => (seen.push('acquire'), { id: 'p', tokens, estimated: tokens, at: 0 }),
      observe: async () => {},
      pause: async (k, ms) => void seen.push(`pause ${k.provider}/${k.model} ${ms}`),
      reconcile: async (_k, _p, actual) => void seen.push(`reconcile ${actual}`),
      release: async () => void seen.push('release'),
    };
    const { calls, onCall } = recorder();
    const res = await provider('mistral-embed', undefined, { limiter }).embed(texts, { onCall });
    expect(res.retries).toBe(1);
    expect(calls.map((c) => [c.attempt, c.status, c.httpStatus])).toEqual([[1, 'retry', 429], [2, 'ok', 200]]);
    expect(calls[0]!.error).toBe('mistral/mistral-embed: HTTP 429: Requests rate limit exceeded');
    expect(seen).toEqual(['acquire', 'release', 'pause mistral/mistral-embed 20', 'acquire', `reconcile ${texts.map(simTokens).reduce((a, b) => a + b)}`]);
  });

  test('a Retry-After longer than maxRetryAfterMs goes up as a retryable error with retryAfterMs; the 429’s headers are read', async () => {
    sim.set({ rpm: 1 });
    const seen: RateLimitInfo[] = [];
    const p = provider('mistral-embed', undefined, { maxRetryAfterMs: 1000, onRateLimit: (i) => seen.push(i) });
    await p.embed(['first']);
    const err = await failure(p.embed(['second']));
    // The 429's own headers are read too.
    expect(seen).toEqual([{ limitRequests: 1, remainingRequests: 0 }, { limitRequests: 1, remainingRequests: 0 }]);
    expect(err).toMatchObject({ retryable: true, status: 429 });
    expect(err.retryAfterMs).toBeGreaterThan(50_000);
    expect(err.message).toMatch(/more than maxRetryAfterMs 1000/);
  });
});

describe('retries and errors', () => {
  test('5xx is retried and every attempt is reported', async () => {
    sim.failNext(2, '500');
    const { calls, onCall } = recorder();
    const res = await provider().embed(texts, { onCall });
    expect(res.retries).toBe(2);
    expect(calls.map((c) => [c.attempt, c.status, c.httpStatus])).toEqual([[1, 'retry', 500], [2, 'retry', 500], [3, 'ok', 200]]);
    expect(calls[0]!.error).toBe('mistral/mistral-embed: HTTP 500: Internal server error');
  });

  test('gives up after maxAttempts with a retryable error saying so', async () => {
    sim.failNext(3, '500');
    const err = await failure(provider('mistral-embed', undefined, { maxAttempts: 3 }).embed(texts));
    expect(err).toMatchObject({ retryable: true, status: 500 });
    expect(err.message).toBe('mistral/mistral-embed: HTTP 500: Internal server error (gave up after 3 attempts)');
    expect(sim.stats().requests).toBe(3);
  });

  test('timeouts, malformed bodies and a body cut off mid-response are retried', async () => {
    sim.failNext(1, 'timeout');
    sim.failNext(1, 'malformed');
    const { calls, onCall } = recorder();
    const res = await provider('mistral-embed', undefined, { timeoutMs: 300 }).embed(texts, { onCall });
    expect(res.vectors).toHaveLength(3);
    expect(calls.map((c) => c.status)).toEqual(['retry', 'retry', 'ok']);
    expect(calls[0]!.error).toMatch(/timed out after 300 ms/);
    expect(calls[0]!.outcomeUnknown).toBe(true);
    expect(calls[1]!.error).toMatch(/^mistral\/mistral-embed: returned a malformed response body \(invalid JSON/);
    sim.intercept(cutMidBody(), PATH);
    const cut = recorder();
    await provider().embed(texts, { onCall: cut.onCall });
    expect(cut.calls.map((c) => c.status)).toEqual(['retry', 'ok']);
    expect(cut.calls[0]!.error).toMatch(/connection closed before the whole response arrived.*terminated/);
  });

  test('vectors of the wrong size are rejected, not retried', async () => {
    sim.failNext(1, 'wrong-dims');
    const err = await failure(provider().embed(texts));
    expect(err).toMatchObject({ retryable: false });
    expect(err.message).toBe('mistral/mistral-embed: provider returned 512-dim vectors, expected 1024');
  });

  test('401 is not retried, says which key to check, and never shows the key', async () => {
    const wrong = 'mistral-wrong-secret-abcdef123456';
    // The simulator's Mistral 401 does not echo the key; make it, to prove the message is scrubbed.
    const echoing: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (res.status !== 401) return res;
      const auth = input instanceof Request ? input.headers.get('authorization') : null;
      return new Response(JSON.stringify({ object: 'error', message: `Unauthorized: ${auth}`, type: 'authentication_error', param: null, code: null }), { status: 401, headers: { 'content-type': 'application/json' } });
    };
    const { calls, onCall } = recorder();
    const err = await failure(provider('mistral-embed', undefined, { apiKey: wrong, fetch: echoing }).embed(texts, { onCall }));
    expect(err).toMatchObject({ retryable: false, status: 401 });
    expect(err.message).toBe('mistral/mistral-embed: HTTP 401: Unauthorized: Bearer [redacted] (check the Mistral API key (MISTRAL_API_KEY))');
    for (const text of [err.message, String(err.cause), calls[0]!.error]) expect(text).not.toContain(wrong);
    expect(sim.stats().requests).toBe(1);
  });

  test('an unreachable server is retryable and the message shows no password of the URL', async () => {
    // A port that was free a moment ago: nothing listens there.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const { port } = closed.address() as AddressInfo;
    await new Promise((r) => closed.close(r));
    const plain = await failure(provider('mistral-embed', undefined, { baseUrl: `http://127.0.0.1:${port}`, maxAttempts: 1 }).embed(texts));
    expect(plain).toMatchObject({ retryable: true });
    expect(plain.message).toMatch(new RegExp(`^mistral/mistral-embed: could not reach http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*gave up after 1 attempt`));
    const secret = await failure(provider('mistral-embed', undefined, { baseUrl: `http://user:s3cret-pass@127.0.0.1:${port}`, maxAttempts: 1 }).embed(texts));
    expect(secret.message).toContain('user:***@127.0.0.1');
    expect(secret.message).not.toContain('s3cret-pass');
  });

  test('an aborted call sends nothing and rejects with the reason', async () => {
    const reason = new Error('shutting down');
    await expect(provider().embed(texts, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(sim.stats().requests).toBe(0);
  });
});
