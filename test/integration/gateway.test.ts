/**
 * `embedq serve` as an OpenAI-compatible gateway (issue #13), on a real port, driven by the
 * official `openai` SDK against real Redis and Postgres, with the simulator as the provider:
 * vectors equal the provider's, the cache ingest wrote serves another path's request, keys
 * decide who gets in, and every refusal is OpenAI's error envelope.
 */
import { serve } from '@hono/node-server';
import { encode } from 'gpt-tokenizer/encoding/cl100k_base';
import OpenAI from 'openai';
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { formatLog, runLog } from '../../src/cli/commands/log.ts';
import { runSpend } from '../../src/cli/commands/spend.ts';
import type { Context } from '../../src/context.ts';
import { createApiKey, revokeApiKey, updateApiKey } from '../../src/gateway/keys.ts';
import { openServer } from '../../src/server/app.ts';
import { setBudget } from '../../src/store/budgets.ts';
import { writeCorpus } from '../support/corpus.ts';
import { parseExposition } from '../support/prom-parse.ts';
import { expect, test } from '../support/fixtures.ts';
import { withSim } from '../support/sim-context.ts';
import type { Simulator } from '../support/simulator/index.ts';

const MODEL = 'openai/text-embedding-3-small';
const CONFIG = { aliases: { 'text-embedding-3-small': MODEL } };

/** The context's server on a free loopback port; `fn` gets its base URL. */
async function withGateway<T>(ctx: Context, fn: (url: string) => Promise<T>): Promise<T> {
  const server = openServer(ctx);
  const http = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const h = serve({ fetch: server.app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(h));
  });
  try {
    const addr = http.address();
    return await fn(`http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`);
  } finally {
    await new Promise((r) => http.close(r));
    await server.close();
  }
}

function gatewayTest(name: string, fn: (p: { sim: Simulator; ctx: Context; url: string; client: (secret: string) => OpenAI; direct: OpenAI }) => Promise<void>) {
  test(name, () =>
    withSim(
      (sim, ctx) =>
        withGateway(ctx, (url) =>
          fn({ sim, ctx, url, client: (secret) => new OpenAI({ apiKey: secret, baseURL: `${url}/v1`, maxRetries: 0 }), direct: new OpenAI({ apiKey: 'sk-test-0123456789', baseURL: sim.url, maxRetries: 0 }) }),
        ),
      CONFIG,
    ),
  );
}

const expectClose = (got: number[], want: number[]) => {
  expect(got).toHaveLength(want.length);
  for (let i = 0; i < want.length; i++) if (Math.abs(got[i]! - want[i]!) > 1e-6) throw new Error(`component ${i}: ${got[i]} vs ${want[i]}`);
};

gatewayTest('the SDK gets the provider\'s vectors, in order, with its default base64 and with float, for 1 and 2,048 inputs', async ({ ctx, client, direct }) => {
  const { secret } = await createApiKey(ctx.db, 'acme');
  const openai = client(secret);
  const texts = Array.from({ length: 2048 }, (_, i) => `input number ${i} for the gateway`);
  const want = await direct.embeddings.create({ model: 'text-embedding-3-small', input: texts, encoding_format: 'float' });
  const viaBase64 = await openai.embeddings.create({ model: 'text-embedding-3-small', input: texts });
  expect(viaBase64.data.map((d) => d.index)).toEqual(texts.map((_, i) => i));
  for (const i of [0, 1, 1000, 2047]) expectClose(viaBase64.data[i]!.embedding, want.data[i]!.embedding);
  const one = await openai.embeddings.create({ model: MODEL, input: texts[5]!, encoding_format: 'float' });
  expect(one.data).toHaveLength(1);
  expectClose(one.data[0]!.embedding, want.data[5]!.embedding);
  // Asked again: every input is a hit now.
  const again = await openai.embeddings.create({ model: MODEL, input: texts.slice(0, 3) }).withResponse();
  expect(again.response.headers.get('x-embedq-cache-hits')).toBe('3/3');
  expect(again.response.headers.get('x-embedq-deployment')).toBe('cache');
  expect(again.response.headers.get('x-embedq-cost-usd')).toBe('0');
});

gatewayTest('an ingested chunk is a hit for its tenant with no provider call; another tenant\'s key does not see it', async ({ sim, ctx, client }) => {
  const TEXT = 'Refunds are issued within five working days of the returned item arriving.';
  await runIngest(ctx, { paths: [writeCorpus({ 'refunds.txt': TEXT })], index: 'kb', model: MODEL, tenant: 'acme' });
  const before = sim.stats().requests;
  const acme = (await createApiKey(ctx.db, 'acme', { name: 'search' })).secret;
  const globex = (await createApiKey(ctx.db, 'globex')).secret;
  const hit = await client(acme).embeddings.create({ model: MODEL, input: TEXT, user: 'u-42' }).withResponse();
  expect(sim.stats().requests).toBe(before);
  const h = hit.response.headers;
  expect(h.get('x-embedq-cache-hits')).toBe('1/1');
  expect(h.get('x-embedq-model-version')).toBe(`${MODEL}@1:1536`);
  expect(h.get('x-embedq-provider')).toBe('openai');
  expect(h.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
  expect(Number(h.get('x-embedq-saved-usd'))).toBeGreaterThan(0);
  expect(hit.data.usage.prompt_tokens).toBe(0);

  const miss = await client(globex).embeddings.create({ model: MODEL, input: TEXT }).withResponse();
  expect(miss.response.headers.get('x-embedq-cache-hits')).toBe('0/1');
  expect(miss.response.headers.get('x-embedq-deployment')).toBe('openai');
  expect(sim.stats().requests).toBe(before + 1);
  expectClose(miss.data.data[0]!.embedding, hit.data.data[0]!.embedding);

  // One request row each, beside globex's provider attempt; spend by key counts the attempt once.
  const { rows } = await ctx.db.query(`SELECT tenant, status, cache_hits, end_user, http_status, tokens FROM ledger WHERE mode = 'online' ORDER BY id`);
  expect(rows).toEqual([
    { tenant: 'acme', status: 'served', cache_hits: 1, end_user: 'u-42', http_status: 200, tokens: '0' },
    { tenant: 'globex', status: 'ok', cache_hits: null, end_user: null, http_status: 200, tokens: expect.any(String) },
    { tenant: 'globex', status: 'served', cache_hits: 0, end_user: null, http_status: 200, tokens: rows[1].tokens },
  ]);
  const log = await runLog(ctx, { limit: 10 });
  expect(log.rows.find((r) => r.status === 'served' && r.tenant === 'acme')).toMatchObject({ mode: 'online', key: `${acme.slice(0, 11)}…`, cacheHits: 1, endUser: 'u-42' });
  const line = formatLog(log).split('\n').find((l) => l.includes(' served ') && l.includes(' acme '))!;
  expect(line.split(/\s{2,}/).slice(5, 9)).toEqual(['online', 'served 200', '1', '1']);
  expect(line).toContain(`${acme.slice(0, 11)}…`);
  const spend = await runSpend(ctx, { by: 'key' });
  const byKey = new Map(spend.rows.map((r) => [r.key.split(' ')[1]!, r]));
  expect(byKey.get(`${globex.slice(0, 11)}…`)).toMatchObject({ calls: 1, tokens: Number(rows[1].tokens) });
  expect(byKey.get(`${acme.slice(0, 11)}…`)).toMatchObject({ calls: 0, tokens: 0 });
  expect(byKey.get(`${acme.slice(0, 11)}…`)!.cacheSavedUsd).toBeGreaterThan(0);
});

gatewayTest('keys: none, wrong, revoked and expired are 401; a model off the allow-list is 403; an unknown model 404', async ({ ctx, client }) => {
  const { secret, key } = await createApiKey(ctx.db, 'acme', { models: ['text-embedding-3-small'] });
  const openai = client(secret);
  expect((await openai.embeddings.create({ model: 'text-embedding-3-small', input: 'ok' })).data).toHaveLength(1);
  await expect(openai.embeddings.create({ model: 'openai/text-embedding-3-large', input: 'x' })).rejects.toMatchObject({ status: 403, code: 'model_not_allowed', param: 'model' });
  await expect(openai.embeddings.create({ model: 'nope/nothing', input: 'x' })).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  await expect(client(`${secret}x`).embeddings.create({ model: MODEL, input: 'x' })).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
  const expired = await createApiKey(ctx.db, 'acme', { expiresInMs: 1 }, Date.now() - 10_000);
  await expect(client(expired.secret).embeddings.create({ model: MODEL, input: 'x' })).rejects.toMatchObject({ status: 401, message: expect.stringMatching(/expired/) });
  await revokeApiKey(ctx.db, key.id);
  await expect(openai.embeddings.create({ model: 'text-embedding-3-small', input: 'ok' })).rejects.toMatchObject({ status: 401, message: expect.stringMatching(/revoked/) });
});

gatewayTest('a key changed after use holds from the very next request of each process, with nothing sent on the old terms', async ({ sim, ctx, client }) => {
  const { secret, key } = await createApiKey(ctx.db, 'acme');
  const openai = client(secret);
  await openai.embeddings.create({ model: MODEL, input: 'first, to be remembered' });
  const sent = () => sim.stats().inputs;
  const before = sent();
  // Narrowed to another model: a new text for this one is refused, and never reaches the provider.
  await updateApiKey(ctx.db, key.id, { models: ['openai/text-embedding-3-large'] });
  await expect(openai.embeddings.create({ model: MODEL, input: 'a miss on the old allow-list' })).rejects.toMatchObject({ status: 403, code: 'model_not_allowed' });
  // Widened again: the same request passes.
  await updateApiKey(ctx.db, key.id, { models: null });
  expect((await openai.embeddings.create({ model: MODEL, input: 'a miss on the old allow-list' })).data).toHaveLength(1);
  expect(sent()).toBe(before + 1);
  // A token limit below the request: refused (the hint had none).
  await updateApiKey(ctx.db, key.id, { tpm: 2 });
  await expect(openai.embeddings.create({ model: MODEL, input: 'a longer text than two tokens allow' })).rejects.toMatchObject({ status: 429, code: 'rate_limit_exceeded' });
  // Revoked: refused, even for a text the cache holds.
  await updateApiKey(ctx.db, key.id, { tpm: null });
  await revokeApiKey(ctx.db, key.id);
  await expect(openai.embeddings.create({ model: MODEL, input: 'first, to be remembered' })).rejects.toMatchObject({ status: 401, message: expect.stringMatching(/revoked/) });
  await expect(openai.embeddings.create({ model: MODEL, input: 'one more miss' })).rejects.toMatchObject({ status: 401 });
  expect(sent()).toBe(before + 1);
  const { rows } = await ctx.db.query<{ status: string; n: string }>(`SELECT status, count(*)::text AS n FROM ledger WHERE api_key_id = $1 AND status IN ('served', 'refused') GROUP BY status ORDER BY status`, [key.id]);
  // The refusals after a key was known are in the ledger (the 401s have no key to charge).
  expect(rows).toEqual([{ status: 'refused', n: '2' }, { status: 'served', n: '2' }]);
});

gatewayTest('wire: token ids, dimensions, and every refusal in the OpenAI envelope naming its param', async ({ ctx, url, client, direct }) => {
  const { secret } = await createApiKey(ctx.db, 'acme');
  const openai = client(secret);
  // Token ids (one array, and an array of arrays) are the texts they encode.
  const ids = encode('hello tokens');
  const byIds = await openai.embeddings.create({ model: MODEL, input: [ids, encode('second')], encoding_format: 'float' });
  const byText = await direct.embeddings.create({ model: 'text-embedding-3-small', input: ['hello tokens', 'second'], encoding_format: 'float' });
  expectClose(byIds.data[0]!.embedding, byText.data[0]!.embedding);
  expectClose(byIds.data[1]!.embedding, byText.data[1]!.embedding);
  expect((await openai.embeddings.create({ model: MODEL, input: ids })).data).toHaveLength(1);
  const small = await openai.embeddings.create({ model: MODEL, input: 'sized', dimensions: 256 }).withResponse();
  expect(small.data.data[0]!.embedding).toHaveLength(256);
  expect(small.response.headers.get('x-embedq-model-version')).toBe(`${MODEL}@1:256`);

  const refused = [
    [{ model: MODEL, input: '' }, 400, 'input'],
    [{ model: MODEL, input: ['a', ''] }, 400, 'input[1]'],
    [{ model: MODEL, input: Array.from({ length: 2049 }, () => 'x') }, 400, 'input'],
    [{ model: MODEL, input: 'word '.repeat(9000) }, 400, 'input'],
    [{ model: MODEL, input: 'x', dimensions: 0 }, 400, 'dimensions'],
    [{ model: MODEL, input: 'x', encoding_format: 'int8' }, 400, 'encoding_format'],
    [{ model: 'cohere/embed-english-v3.0', input: [1, 2, 3] }, 400, 'input'],
    [{ model: MODEL, input: 'x', colour: 'red' }, 400, 'colour'],
  ] as const;
  for (const [body, status, param] of refused) {
    const res = await fetch(`${url}/v1/embeddings`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect({ body, status: res.status }).toEqual({ body, status });
    const j = (await res.json()) as { error: { message: string; type: string; param: string | null; code: string | null } };
    expect(j.error).toMatchObject({ type: 'invalid_request_error', param });
    expect(j.error.message.length).toBeGreaterThan(10);
  }
  const post = (body: string, type: string) => fetch(`${url}/v1/embeddings`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': type }, body });
  const badJson = await post('{"model":', 'application/json');
  expect([badJson.status, ((await badJson.json()) as { error: { code: string } }).error.code]).toEqual([400, 'invalid_json']);
  const wrongType = await post(JSON.stringify({ model: MODEL, input: 'x' }), 'text/plain');
  expect([wrongType.status, ((await wrongType.json()) as { error: { code: string } }).error.code]).toEqual([415, 'unsupported_media_type']);
  const unknown = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${secret}` } });
  expect([unknown.status, ((await unknown.json()) as { error: { code: string } }).error.code]).toEqual([404, 'unknown_url']);
  // Refusals once the key and model were known (the over-long input, the token ids Cohere cannot
  // take) are ledgered with their status; the others failed before a model was named.
  const { rows } = await ctx.db.query(`SELECT http_status, error FROM ledger WHERE mode = 'online' AND status = 'refused' ORDER BY id`);
  expect(rows.map((r) => r.http_status)).toEqual([400, 400]);
  expect(rows[0].error).toMatch(/takes at most 8191 per input/);
  expect(rows[1].error).toMatch(/does not take token ids/);
});

gatewayTest('concurrent requests for one model reach the provider together, not a worker\'s four at a time', async ({ sim, ctx, client }) => {
  const openai = client((await createApiKey(ctx.db, 'acme')).secret);
  const gate = sim.hold();
  // Twelve clients, each with its own new text: every one is a miss the provider must answer.
  const answers = Array.from({ length: 12 }, (_, i) => openai.embeddings.create({ model: MODEL, input: `concurrent miss ${i}` }));
  // With a worker's provider concurrency (4) the fifth request would wait for a held one: this never resolves.
  await gate.arrived(12);
  gate.release();
  const done = await Promise.all(answers);
  expect(done.map((d) => d.data[0]!.embedding.length)).toEqual(Array(12).fill(1536));
  expect(sim.stats().inputs).toBe(12);
  // Their cache rows, written together, are all there: the same twelve again cost nothing.
  const { rows } = await ctx.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM embedding_cache`);
  expect(rows[0]!.n).toBe('12');
  const again = await Promise.all(Array.from({ length: 12 }, (_, i) => openai.embeddings.create({ model: MODEL, input: `concurrent miss ${i}` }).withResponse()));
  expect(again.map((a) => a.response.headers.get('x-embedq-cache-hits'))).toEqual(Array(12).fill('1/1'));
  expect(again.map((a) => a.data.data[0]!.embedding)).toEqual(done.map((d) => d.data[0]!.embedding));
  expect(sim.stats().inputs).toBe(12);
});

gatewayTest('token ids that encode no text (a cut inside a character, a split the tokenizer would not make) go to OpenAI as they are, with a cache entry of their own', async ({ sim, ctx, client, direct }) => {
  const openai = client((await createApiKey(ctx.db, 'acme')).secret);
  const check = encode('tick ✓');
  const cut = check.slice(0, -1); // ends inside the ✓
  const split = [...encode('hel'), ...encode('lo')]; // "hello", as the tokenizer never splits it
  const lastLog = () => sim.stats().log.at(-1)!;
  const got = await openai.embeddings.create({ model: MODEL, input: [cut, split, encode('whole words')], encoding_format: 'float' }).withResponse();
  // One request, every input as ids (OpenAI takes no mix of text and ids).
  expect(lastLog()).toMatchObject({ inputs: 3, tokenInputs: 3, tokens: cut.length + split.length + encode('whole words').length });
  const want = await direct.embeddings.create({ model: 'text-embedding-3-small', input: [cut, split], encoding_format: 'float' });
  expectClose(got.data.data[0]!.embedding, want.data[0]!.embedding);
  expectClose(got.data.data[1]!.embedding, want.data[1]!.embedding);
  // Not the text "hello": a different token sequence is a different input.
  const hello = await direct.embeddings.create({ model: 'text-embedding-3-small', input: 'hello', encoding_format: 'float' });
  expect(got.data.data[1]!.embedding).not.toEqual(hello.data[0]!.embedding);
  expect(got.data.usage.prompt_tokens).toBe(cut.length + split.length + encode('whole words').length);
  // Asked again, the ids are hits; the text "hello" is not one of them, and "whole words" as text is.
  const before = sim.stats().requests;
  const again = await openai.embeddings.create({ model: MODEL, input: [split, cut] }).withResponse();
  expect(again.response.headers.get('x-embedq-cache-hits')).toBe('2/2');
  expect((await openai.embeddings.create({ model: MODEL, input: 'whole words' }).withResponse()).response.headers.get('x-embedq-cache-hits')).toBe('1/1');
  expect(sim.stats().requests).toBe(before);
  expect((await openai.embeddings.create({ model: MODEL, input: 'hello' }).withResponse()).response.headers.get('x-embedq-cache-hits')).toBe('0/1');
  // A text beside new ids (a mix OpenAI's types leave out and embedq takes) goes as its own encoding.
  await openai.embeddings.create({ model: MODEL, input: ['plain text here', [...encode('wor'), ...encode('ld')]] as unknown as string[] });
  expect(lastLog()).toMatchObject({ inputs: 2, tokenInputs: 2, tokens: encode('plain text here').length + 2 });
});

gatewayTest('GET /v1/models lists the aliases and models the key may use; /v1/models/{id} finds one', async ({ ctx, client }) => {
  const all = client((await createApiKey(ctx.db, 'acme')).secret);
  const ids = (await all.models.list()).data.map((m) => m.id);
  expect(ids[0]).toBe('text-embedding-3-small');
  expect(ids).toContain(MODEL);
  expect(ids).toContain('cohere/embed-v4.0');
  expect(await all.models.retrieve(MODEL)).toMatchObject({ id: MODEL, object: 'model', owned_by: 'openai' });
  await expect(all.models.retrieve('nope/nothing')).rejects.toMatchObject({ status: 404 });
  const narrow = client((await createApiKey(ctx.db, 'acme', { models: [MODEL] })).secret);
  expect((await narrow.models.list()).data.map((m) => m.id)).toEqual(['text-embedding-3-small', MODEL]);
});

gatewayTest('a key\'s rpm and tpm: 429 with the real Retry-After, the limit kind, and OpenAI\'s rate-limit envelope', async ({ ctx, url }) => {
  const post = (secret: string, input: string | string[]) =>
    fetch(`${url}/v1/embeddings`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, input }) });
  const rpm = (await createApiKey(ctx.db, 'acme', { rpm: 2 })).secret;
  const first = await post(rpm, 'one');
  expect([first.status, first.headers.get('x-ratelimit-limit-requests'), first.headers.get('x-ratelimit-remaining-requests')]).toEqual([200, '2', '1']);
  expect(first.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+s$/);
  expect((await post(rpm, 'two')).headers.get('x-ratelimit-remaining-requests')).toBe('0');
  const third = await post(rpm, 'three');
  expect(third.status).toBe(429);
  expect(third.headers.get('x-embedq-limit-kind')).toBe('rpm');
  const wait = Number(third.headers.get('retry-after'));
  // The first request leaves the minute's window at most 60 s after it was counted.
  expect(wait).toBeGreaterThan(0);
  expect(wait).toBeLessThanOrEqual(60);
  expect(await third.json()).toEqual({ error: { message: expect.stringMatching(/2 requests per minute/), type: 'requests', param: null, code: 'rate_limit_exceeded' } });

  const tpm = (await createApiKey(ctx.db, 'acme', { tpm: 12 })).secret;
  // Eight tokens each (cl100k): the first fits in 12, the second does not.
  expect(encode(' one two three four five six seven eight').length).toBe(8);
  expect((await post(tpm, ' one two three four five six seven eight')).status).toBe(200);
  const over = await post(tpm, ' nine ten eleven twelve thirteen fourteen fifteen sixteen');
  expect([over.status, over.headers.get('x-embedq-limit-kind'), over.headers.get('x-ratelimit-limit-tokens')]).toEqual([429, 'tpm', '12']);
  expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(((await over.json()) as { error: { type: string } }).error.type).toBe('tokens');
  // More tokens than the whole limit never fit: no Retry-After that would only lead to another 429.
  const never = await post((await createApiKey(ctx.db, 'acme', { tpm: 3 })).secret, 'this input has more than three tokens');
  expect([never.status, never.headers.get('retry-after'), never.headers.get('x-embedq-limit-kind')]).toEqual([429, null, 'tpm']);
});

gatewayTest('budgets: two requests racing for the last of a budget, exactly one passes; an exhausted budget is insufficient_quota', async ({ sim, ctx, url }) => {
  const { secret } = await createApiKey(ctx.db, 'acme');
  const texts = ['the first of two racing requests for the last part of this budget', 'the second of two racing requests for the last part of this budget'];
  // Room for either of the two requests (exact token counts), not both.
  const budget = Math.max(...texts.map((t) => encode(t).length)) + 2;
  await setBudget(ctx.db, { tenant: 'acme', usdPerDay: null, usdPerMonth: null, tokensPerDay: budget, tokensPerMonth: null, onExceed: 'delay' });
  const post = (input: string) => fetch(`${url}/v1/embeddings`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, input }) });
  const before = sim.stats().requests;
  const racers = await Promise.all(texts.map(post));
  expect(racers.map((r) => r.status).sort()).toEqual([200, 429]);
  const refused = racers.find((r) => r.status === 429)!;
  expect(refused.headers.get('x-embedq-limit-kind')).toBe('budget');
  expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(await refused.json()).toEqual({ error: { message: expect.stringMatching(new RegExp(`budget ${budget} tokens`)), type: 'insufficient_quota', param: null, code: 'insufficient_quota' } });
  expect(sim.stats().requests).toBe(before + 1);
  // The winner's tokens are spent now; the next miss is refused before the provider too, and a hit still passes.
  expect((await post(' word'.repeat(budget))).status).toBe(429);
  expect(sim.stats().requests).toBe(before + 1);
  const winner = racers.find((r) => r.status === 200)!;
  expect(winner.headers.get('x-embedq-cache-hits')).toBe('0/1');
  const { rows } = await ctx.db.query(`SELECT count(*)::int AS n FROM budget_reservations`);
  expect(rows[0].n).toBe(0); // every hold released
});

gatewayTest('LangChain.js OpenAIEmbeddings pointed at the gateway gets the provider\'s vectors in order, for 2,048 documents and for a query', async ({ ctx, url, direct }) => {
  const { OpenAIEmbeddings } = await import('@langchain/openai');
  const { secret } = await createApiKey(ctx.db, 'acme');
  const embeddings = new OpenAIEmbeddings({ model: 'text-embedding-3-small', apiKey: secret, configuration: { baseURL: `${url}/v1` }, maxRetries: 0 });
  // 2,048 documents: LangChain splits them into requests of its batchSize (512) and puts them back in order.
  const docs = Array.from({ length: 2048 }, (_, i) => `LangChain document number ${i} goes through embedq.`);
  const got = await embeddings.embedDocuments(docs);
  const want = await direct.embeddings.create({ model: 'text-embedding-3-small', input: docs, encoding_format: 'float' });
  expect(got).toHaveLength(2048);
  for (const i of [0, 1, 511, 512, 1500, 2047]) expectClose(got[i]!, want.data[i]!.embedding);
  expectClose(await embeddings.embedQuery(docs[1]!), want.data[1]!.embedding);
});

gatewayTest('/metrics counts online requests by outcome, their latency and cache-hit ratio, and no request twice as a provider call', async ({ ctx, url, client }) => {
  const openai = client((await createApiKey(ctx.db, 'acme')).secret);
  await openai.embeddings.create({ model: MODEL, input: ['metrics one', 'metrics two'] });
  await openai.embeddings.create({ model: MODEL, input: ['metrics one', 'metrics three'] }); // one hit of two
  await expect(openai.embeddings.create({ model: MODEL, input: '' })).rejects.toMatchObject({ status: 400 });
  const m = parseExposition(await (await fetch(`${url}/metrics`)).text());
  const model = `${MODEL}@1:1536`;
  expect(m.value('embedq_online_requests_total', { model, status: 'served', code: '200' })).toBe(2);
  expect(m.value('embedq_online_inputs_total', { model })).toBe(4);
  expect(m.value('embedq_online_cache_hits_total', { model })).toBe(1);
  expect(m.value('embedq_online_cache_hit_ratio')).toBe(0.25);
  expect(m.value('embedq_online_latency_seconds_count', { provider: 'openai', model })).toBe(2);
  expect(m.value('embedq_online_requests_in_flight')).toBe(0);
  // Two provider calls (one per request's misses), never a request row counted as a call.
  expect(m.samples('embedq_provider_requests_total').map((s) => [s.labels.mode, s.labels.status, s.value])).toEqual([['online', 'ok', 2]]);
});

test('serve --no-auth: requests without a key count for the default tenant; refused beyond loopback; says so at start', async () => {
  const { startupLine } = await import('../../src/cli/commands/serve.ts');
  await withSim(async (sim, ctx) => {
    const server = openServer(ctx, { noAuthTenant: 'default' });
    try {
      const res = await server.app.request('/v1/embeddings', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, input: 'no key at all' }) });
      expect(res.status).toBe(200);
      expect(sim.stats().inputs).toBe(1);
      const { rows } = await ctx.db.query(`SELECT tenant, api_key_id FROM ledger WHERE status = 'served'`);
      expect(rows).toEqual([{ tenant: 'default', api_key_id: null }]);
    } finally {
      await server.close();
    }
    const { startServe } = await import('../../src/cli/commands/serve.ts');
    await expect(startServe({ ...ctx, config: { ...ctx.config, adminToken: 'test-admin-token-0123456789abcdef' } } as Context, { port: 0, host: '0.0.0.0', auth: false })).rejects.toThrow(/--no-auth .* loopback only, not 0\.0\.0\.0/);
  });
  const line = startupLine({ url: 'http://127.0.0.1:8080', access: 'token', dashboardPath: '/admin/queues', dashboardUrl: '', metricsNeedToken: false, noAuthTenant: 'default' }, 'embedq');
  expect(line).toMatch(/NO AUTH, as tenant default, loopback only/);
  expect(line).toMatch(/warning: --no-auth: anyone who can reach/);
});

gatewayTest('a client that hangs up before the answer is ledgered as 499 refused, not as a 500 failure', async ({ sim, ctx }) => {
  const { secret } = await createApiKey(ctx.db, 'acme');
  const server = openServer(ctx);
  try {
    const gate = sim.hold();
    const hangUp = new AbortController();
    const reply = server.app.request('/v1/embeddings', {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, input: 'the client will not wait for this' }),
      signal: hangUp.signal,
    });
    await gate.arrived(1);
    hangUp.abort();
    gate.release();
    const res = await reply;
    expect(res.status).toBe(499);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('client_closed_request');
    const { rows } = await ctx.db.query(`SELECT status, http_status, error FROM ledger WHERE mode = 'online' AND http_status IS NOT NULL AND status IN ('served', 'refused', 'failed')`);
    expect(rows).toEqual([{ status: 'refused', http_status: 499, error: expect.stringMatching(/client closed the request/) }]);
  } finally {
    await server.close();
  }
});
