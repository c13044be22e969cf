/**
 * The simulator itself: OpenAI's wire format as the official SDK sees it, error envelopes, rate
 * limits, knobs, and the standalone process.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { parseGoDuration } from '../../src/providers/retry.ts';
import { cosine } from '../../src/providers/vectors.ts';
import { startSimulator, type Simulator } from '../support/simulator/index.ts';

let sim: Simulator;
let client: OpenAI;
beforeAll(async () => {
  sim = await startSimulator();
  client = new OpenAI({ apiKey: 'x', baseURL: sim.url, maxRetries: 0 });
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.reset();
  sim.set({ rpm: 0, tpm: 0, faultRate: 0, models: undefined });
});

async function post(body: unknown, path = '/embeddings'): Promise<{ status: number; headers: Headers; json: any }> {
  const res = await fetch(`${sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, headers: res.headers, json: await res.json() };
}

describe('POST /v1/embeddings', () => {
  test('the SDK default (base64, decoded by the SDK) equals float', async () => {
    const input = ['alpha beta', 'gamma delta'];
    const decoded = await client.embeddings.create({ model: 'text-embedding-3-small', input });
    const float = await client.embeddings.create({ model: 'text-embedding-3-small', input, encoding_format: 'float' });
    expect(sim.stats().log.map((e) => e.encoding)).toEqual(['base64', 'float']);
    expect(decoded.data.map((d) => d.index)).toEqual([0, 1]);
    expect(decoded.data[0]!.embedding).toHaveLength(1536);
    expect(decoded.data[1]!.embedding).toEqual(float.data[1]!.embedding.map((x) => Math.fround(x)));
    expect(float).toMatchObject({ object: 'list', model: 'text-embedding-3-small', usage: { prompt_tokens: 6, total_tokens: 6 } });
  });

  test('honours dimensions by truncating and re-normalizing', async () => {
    const full = await client.embeddings.create({ model: 'text-embedding-3-large', input: 'some text', encoding_format: 'float' });
    const cut = await client.embeddings.create({ model: 'text-embedding-3-large', input: 'some text', encoding_format: 'float', dimensions: 256 });
    expect(full.data[0]!.embedding).toHaveLength(3072);
    expect(cut.data[0]!.embedding).toHaveLength(256);
    expect(cosine(cut.data[0]!.embedding, full.data[0]!.embedding.slice(0, 256))).toBeCloseTo(1, 6);
    expect(Math.hypot(...cut.data[0]!.embedding)).toBeCloseTo(1, 5);
  });

  test('models named *random* are deterministic per input but carry no meaning', async () => {
    const [a, b, c] = (await client.embeddings.create({ model: 'random-v1', input: ['rotate api keys', 'rotate the api keys', 'rotate api keys'], encoding_format: 'float' })).data.map((d) => d.embedding);
    expect(a).toEqual(c);
    expect(Math.abs(cosine(a!, b!))).toBeLessThan(0.2);
    const [x, y] = (await client.embeddings.create({ model: 'text-embedding-3-small', input: ['rotate api keys', 'rotate the api keys'], encoding_format: 'float' })).data.map((d) => d.embedding);
    expect(cosine(x!, y!)).toBeGreaterThan(0.5);
  });

  test.each([
    ['an empty string', { model: 'text-embedding-3-small', input: ['a', ''] }, 400, /input\[1\].*empty string/],
    ['more than 2048 inputs', { model: 'text-embedding-3-small', input: Array(2049).fill('a') }, 400, /at most 2048 inputs/],
    ['dims above native', { model: 'text-embedding-3-small', input: 'a', dimensions: 2000 }, 400, /from 1 to 1536/],
    ['dimensions on ada-002', { model: 'text-embedding-ada-002', input: 'a', dimensions: 256 }, 400, /does not support specifying dimensions/],
    ['an input over 8191 tokens', { model: 'text-embedding-3-small', input: 'abcd'.repeat(8192) }, 400, /maximum context length/],
    ['a bad encoding_format', { model: 'text-embedding-3-small', input: 'a', encoding_format: 'int8' }, 400, /encoding_format/],
    ['no model', { input: 'a' }, 400, /model/],
    ['invalid JSON', '{"model":', 400, /could not parse the JSON body/],
  ])('rejects %s with the error envelope', async (_name, body, status, message) => {
    const res = await post(body);
    expect(res.status).toBe(status);
    expect(Object.keys(res.json.error)).toEqual(['message', 'type', 'param', 'code']);
    expect(res.json.error).toMatchObject({ message: expect.stringMatching(message), type: 'invalid_request_error' });
  });

  test('with an allow-list, other models are 404 model_not_found (and the SDK says so)', async () => {
    sim.set({ models: { 'bge-small': { dims: 384, dimensions: false } } });
    expect((await post({ model: 'bge-small', input: 'a', encoding_format: 'float' })).json.data[0].embedding).toHaveLength(384);
    const err = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'a' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 404, code: 'model_not_found' });
  });

  test('unknown routes answer 404 in the same envelope', async () => {
    const res = await post({}, '/nope');
    expect(res).toMatchObject({ status: 404, json: { error: { message: 'Invalid URL (POST /v1/nope)' } } });
  });
});

describe('rate limits and faults', () => {
  test('TPM over a sliding window: a real 429 with Retry-After and x-ratelimit-* headers', async () => {
    sim.set({ tpm: 10 });
    const ok = await post({ model: 'text-embedding-3-small', input: 'abcd'.repeat(8) }); // 8 tokens
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-ratelimit-limit-tokens')).toBe('10');
    expect(ok.headers.get('x-ratelimit-remaining-tokens')).toBe('2');
    expect(parseGoDuration(ok.headers.get('x-ratelimit-reset-tokens'))).toBeGreaterThan(50_000);
    const limited = await post({ model: 'text-embedding-3-small', input: 'abcd'.repeat(4) });
    expect(limited.status).toBe(429);
    expect(limited.json.error).toMatchObject({ type: 'tokens', code: 'rate_limit_exceeded', message: expect.stringMatching(/TPM\): Limit 10, Used 8, Requested 4\. Please try again in \d+(\.\d+)?s/) });
    expect(Number(limited.headers.get('retry-after-ms'))).toBeGreaterThan(50_000);
    expect(limited.headers.get('retry-after')).toBe('60');
    expect(sim.stats()).toMatchObject({ requests: 2, inputs: 1, tokens: 8, byStatus: { '200': 1, '429': 1 } });
  });

  test('RPM limits count requests, and set() applies at run time', async () => {
    sim.set({ rpm: 1 });
    expect((await post({ model: 'm', input: 'a' })).status).toBe(200);
    expect((await post({ model: 'm', input: 'a' })).json.error.type).toBe('requests');
    sim.set({ rpm: 0 });
    expect((await post({ model: 'm', input: 'a' })).status).toBe(200);
  });

  test('faultRate 1 fails every request with one of faultKinds; failNext takes precedence', async () => {
    sim.set({ faultRate: 1, faultKinds: ['500'] });
    sim.failNext(1, 'quota');
    expect((await post({ model: 'm', input: 'a' })).json.error.code).toBe('insufficient_quota');
    expect((await post({ model: 'm', input: 'a' })).status).toBe(500);
    expect(sim.stats().log.map((e) => e.fault)).toEqual(['quota', '500']);
    expect(() => sim.failNext(1, 'nope' as never)).toThrow(/unknown fault kind/);
  });

  test('reset() zeroes counters and forgets queued faults', async () => {
    sim.failNext(3, '500');
    await post({ model: 'm', input: 'a' });
    sim.reset();
    expect(sim.stats()).toEqual({ requests: 0, inputs: 0, tokens: 0, byStatus: {}, log: [] });
    expect((await post({ model: 'm', input: 'a' })).status).toBe(200);
  });
});

test('runs as a standalone process, controlled over HTTP', async () => {
  const script = join(import.meta.dirname, '..', 'support', 'simulator', 'index.ts');
  const child = spawn(process.execPath, [script, '--port', '0', '--latency-ms', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
    const { url } = JSON.parse(line) as { url: string };
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const base = url.replace(/\/v1$/, '');
    await fetch(`${base}/_sim/fail-next`, { method: 'POST', body: JSON.stringify({ n: 1, kind: '500' }) });
    const remote = new OpenAI({ apiKey: 'x', baseURL: url, maxRetries: 0 });
    await expect(remote.embeddings.create({ model: 'm', input: 'a' })).rejects.toMatchObject({ status: 500 });
    expect((await remote.embeddings.create({ model: 'm', input: 'a' })).data[0]!.embedding).toHaveLength(1536);
    expect(await (await fetch(`${base}/_sim/stats`)).json()).toMatchObject({ requests: 2, byStatus: { '500': 1, '200': 1 } });
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
});
