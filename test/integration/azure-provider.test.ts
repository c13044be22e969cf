/**
 * An `azure-openai` provider through the factory and the real SDK's AzureOpenAI client against the
 * simulator's Azure route: the deployment path, `api-version` and `api-key` on the wire (and no
 * environment variable of the SDK's taking over), `dimensions`, the same vectors as OpenAI's route
 * for the same model and size (one vector space, so one may stand in for the other), errors that
 * name the provider and never the key, a 429 retried after its wait, and packing at the limits.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { parseConfig } from '../../src/config/schema.ts';
import { createProvider } from '../../src/providers/index.ts';
import { resolveModel } from '../../src/providers/models.ts';
import type { RateLimiter } from '../../src/providers/rate-limiter.ts';
import { failure, recorder } from '../support/provider-tests.ts';
import { startSimulator, type Simulator } from '../support/simulator/index.ts';

const KEY = 'azure-test-secret-0123456789';
const texts = ['how do I rotate my API keys', 'To rotate API keys, open settings.', 'Postgres vacuum reclaims dead tuples.'];
const PATH = '/openai/deployments/emb-small/embeddings';

let sim: Simulator;
let endpoint: string;
beforeAll(async () => {
  sim = await startSimulator({ apiKey: KEY });
  endpoint = sim.azureUrl.replace(/\/openai$/, '');
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.reset();
  sim.set({ latencyMs: 0, rpm: 0, tpm: 0, retryAfterMs: 20, models: undefined, azureDeployments: { 'emb-small': 'text-embedding-3-small' } });
});

function config(over: Record<string, unknown> = {}, models: Record<string, unknown> = {}) {
  return parseConfig({
    openai: { apiKey: KEY, baseUrl: sim.url },
    providers: { azure: { kind: 'azure-openai', baseUrl: endpoint, apiKey: KEY, models: { 'text-embedding-3-small': { deployment: 'emb-small', ...models } }, ...over } },
  });
}

/** What left the SDK: the URL, the two auth headers and the JSON body of every request. */
function wire() {
  const sent: { url: string; apiKey: string | null; authorization: string | null; body: Record<string, unknown> }[] = [];
  const fetcher: typeof fetch = (input, init) => {
    const h = new Headers(init?.headers);
    sent.push({ url: String(input), apiKey: h.get('api-key'), authorization: h.get('authorization'), body: JSON.parse(String(init?.body)) as Record<string, unknown> });
    return fetch(input, init);
  };
  return { sent, fetch: fetcher };
}

async function azure(dims?: number, cfg = config(), opts: Parameters<typeof createProvider>[2] = {}) {
  return createProvider(resolveModel('azure/text-embedding-3-small', dims, {}, cfg.providers), cfg, { backoff: { baseMs: 5, capMs: 20 }, ...opts });
}

describe('the wire', () => {
  test('POST <endpoint>/openai/deployments/<deployment>/embeddings?api-version=…, the key in api-key, dimensions when asked of the provider', async () => {
    const w = wire();
    const res = await (await azure(512, config(), { fetch: w.fetch })).embed(texts);
    expect(res.vectors.map((v) => v.length)).toEqual([512, 512, 512]);
    expect(w.sent).toEqual([
      { url: `${endpoint}${PATH}?api-version=2024-10-21`, apiKey: KEY, authorization: null, body: { model: 'text-embedding-3-small', input: texts, encoding_format: 'base64', dimensions: 512 } },
    ]);
    expect(sim.stats().log).toEqual([expect.objectContaining({ method: 'POST', path: PATH, status: 200, model: 'text-embedding-3-small', inputs: 3, dimensions: 512 })]);
    // The native size sends no dimensions; a configured apiVersion is the one sent.
    const v = wire();
    await (await azure(undefined, config({ apiVersion: '2025-04-01-preview' }), { fetch: v.fetch })).embed(texts);
    expect(v.sent.map((s) => [s.url, s.body.dimensions])).toEqual([[`${endpoint}${PATH}?api-version=2025-04-01-preview`, undefined]]);
  });

  test('the SDK’s environment variables do not leak in: key, version and endpoint are the config’s', async () => {
    vi.stubEnv('AZURE_OPENAI_API_KEY', 'env-key-0123456789');
    vi.stubEnv('OPENAI_API_VERSION', '1999-01-01');
    vi.stubEnv('OPENAI_BASE_URL', 'http://127.0.0.1:9/v1');
    vi.stubEnv('AZURE_OPENAI_ENDPOINT', 'http://127.0.0.1:9');
    try {
      const w = wire();
      await (await azure(256, config(), { fetch: w.fetch })).embed(texts);
      expect(w.sent.map((s) => [s.url, s.apiKey])).toEqual([[`${endpoint}${PATH}?api-version=2024-10-21`, KEY]]);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  test('the same vectors as OpenAI’s route for the same model and size: one vector space', async () => {
    const cfg = config();
    const viaOpenAI = await createProvider(resolveModel('openai/text-embedding-3-small', 512), cfg);
    const [a, o] = [await (await azure(512, cfg)).embed(texts), await viaOpenAI.embed(texts)];
    expect(a.vectors.map((v) => Array.from(v))).toEqual(o.vectors.map((v) => Array.from(v)));
    expect(a.tokens).toBe(o.tokens);
    expect(sim.stats().log.map((e) => e.path)).toEqual([PATH, '/v1/embeddings']);
  });
});

describe('errors', () => {
  test('a wrong key is a 401 naming the provider and model, never the key, not retried', async () => {
    const wrong = 'azure-wrong-secret-9876543210';
    const { calls, onCall } = recorder();
    const err = await failure((await azure(undefined, config({ apiKey: wrong }))).embed(texts, { onCall }));
    expect(err).toMatchObject({ retryable: false, status: 401 });
    expect(err.message).toMatch(/^azure\/text-embedding-3-small: HTTP 401: Access denied due to invalid subscription key/);
    // The hint names the setting of this provider, not OpenAI's environment variable.
    expect(err.message).toMatch(/\(check the key of providers\.azure \(apiKey or apiKeyEnv\)\)$/);
    for (const text of [err.message, calls[0]!.error!]) {
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(KEY);
    }
    expect(calls.map((c) => [c.status, c.httpStatus])).toEqual([['error', 401]]);
  });

  test('a deployment the resource lacks is a 404 DeploymentNotFound, not retried', async () => {
    const err = await failure((await azure(undefined, config({}, { deployment: 'gone' }))).embed(texts));
    expect(err).toMatchObject({ retryable: false, status: 404 });
    expect(err.message).toMatch(/^azure\/text-embedding-3-small: HTTP 404 DeploymentNotFound: The API deployment for this resource does not exist/);
    expect(sim.stats().log.map((e) => [e.path, e.status])).toEqual([['/openai/deployments/gone/embeddings', 404]]);
  });

  test('a 429 is retried after its Retry-After, the limiter paused for everyone, then succeeds', async () => {
    sim.failNext(1, '429');
    const seen: string[] = [];
    const limiter: RateLimiter = {
      acquire: async (_k, tokens) => ({ id: 'p', tokens, estimated: tokens, at: 0 }),
      observe: async () => {},
      pause: async (k, ms) => void seen.push(`pause ${k.provider}/${k.model} ${ms}`),
      reconcile: async () => {},
      release: async () => {},
    };
    const { calls, onCall } = recorder();
    const res = await (await azure(512, config(), { limiter })).embed(texts, { onCall });
    expect(res).toMatchObject({ requests: 1, retries: 1 });
    expect(calls.map((c) => [c.attempt, c.status, c.httpStatus])).toEqual([[1, 'retry', 429], [2, 'ok', 200]]);
    expect(calls[0]!.error).toMatch(/^azure\/text-embedding-3-small: HTTP 429: Requests to the Embeddings_Create Operation under Azure OpenAI API version 2024-10-21/);
    expect(seen).toEqual(['pause azure/text-embedding-3-small 20']);
  });
});

describe('request limits', () => {
  test('packs at the configured inputs and tokens per request, in order', async () => {
    const cfg = config({}, { maxInputsPerRequest: 3, maxTokensPerRequest: 40 });
    const inputs = Array.from({ length: 7 }, (_, i) => `document number ${i}`);
    const res = await (await azure(256, cfg, { countTokens: () => 10 })).embed(inputs);
    expect(sim.stats().log.map((e) => [e.path, e.inputs])).toEqual([[PATH, 3], [PATH, 3], [PATH, 1]]);
    const tokens = await (await azure(256, cfg, { countTokens: () => 15 })).embed(inputs.slice(0, 5));
    expect(sim.stats().log.slice(3).map((e) => e.inputs)).toEqual([2, 2, 1]);
    expect(res.requests + tokens.requests).toBe(6);
    const alone = await (await azure(256, cfg)).embed([inputs[6]!]);
    expect(Array.from(res.vectors[6]!)).toEqual(Array.from(alone.vectors[0]!));
  });
});

describe('the simulator’s Azure route', () => {
  const post = (path: string, headers: Record<string, string> = { 'api-key': KEY }) =>
    fetch(`${endpoint}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ input: 'x' }) }).then(async (r) => [r.status, await r.json()]);

  test('no api-version is a 404 Resource not found; no or a wrong api-key a 401; both in Azure’s body', async () => {
    expect(await post(PATH)).toEqual([404, { error: { code: '404', message: 'Resource not found' } }]);
    expect(await post(`${PATH}?api-version=2024-10-21`, {})).toEqual([401, { error: { code: '401', message: expect.stringMatching(/^Access denied/) } }]);
    expect(await post(`${PATH}?api-version=2024-10-21`, { authorization: `Bearer ${KEY}` })).toEqual([401, expect.anything()]);
    const [status, body] = await post(`${PATH}?api-version=2024-10-21`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ object: 'list', model: 'text-embedding-3-small', data: [{ index: 0 }] });
  });
});
