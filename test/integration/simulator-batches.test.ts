/**
 * The simulator's OpenAI Files and Batch APIs, driven through the official SDK: upload, create,
 * poll through the statuses, download and join on custom_id; failures, expiry, cancellation,
 * validation errors with line numbers, pagination, permissions and the fault knobs.
 */
import OpenAI, { toFile } from 'openai';
import type { Batch } from 'openai/resources/batches';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { decodeFloat32Base64 } from '../../src/providers/vectors.ts';
import { startSimulator, type Simulator } from '../support/simulator/index.ts';
import { DEFAULT_BATCH_KNOBS } from '../support/simulator/batches.ts';
import { DEFAULT_FILE_KNOBS } from '../support/simulator/files.ts';

const MODEL = 'text-embedding-3-small';
const FAST = { batchValidatingMs: 10, batchInProgressMs: 40, batchFinalizingMs: 10, batchCancellingMs: 10 };
const TERMINAL = ['completed', 'failed', 'expired', 'cancelled'];

let sim: Simulator;
let client: OpenAI;
beforeAll(async () => {
  sim = await startSimulator();
  client = new OpenAI({ apiKey: 'x', baseURL: sim.url, maxRetries: 0 });
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.reset();
  sim.set({ ...DEFAULT_BATCH_KNOBS, ...DEFAULT_FILE_KNOBS, ...FAST });
});

type Line = { custom_id: string; method: string; url: string; body: Record<string, unknown> };
const line = (id: string, input: string | string[], extra: Record<string, unknown> = {}): Line => ({ custom_id: id, method: 'POST', url: '/v1/embeddings', body: { model: MODEL, input, ...extra } });
const lines = (n: number) => Array.from({ length: n }, (_, i) => line(`c${i}`, [`document number ${i}`, `another text ${i}`]));

async function upload(content: Line[] | string, filename = 'input.jsonl') {
  const text = typeof content === 'string' ? content : content.map((l) => JSON.stringify(l)).join('\n');
  return client.files.create({ file: await toFile(Buffer.from(text), filename), purpose: 'batch' });
}

async function submit(content: Line[] | string): Promise<Batch> {
  const file = await upload(content);
  return client.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' });
}

/**
 * Polls until `until` holds (default: a terminal status); returns the statuses seen, in order,
 * without repeats, starting with the one `from` was returned in.
 */
async function poll(from: Batch, until = (b: Batch) => TERMINAL.includes(b.status)): Promise<{ batch: Batch; seen: string[] }> {
  const id = from.id;
  const seen: string[] = [from.status];
  for (let i = 0; i < 2000; i++) {
    const batch = await client.batches.retrieve(id);
    if (seen.at(-1) !== batch.status) seen.push(batch.status);
    if (until(batch)) return { batch, seen };
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`batch ${id} never reached the wanted state; saw ${seen.join(' → ')}`);
}

async function jsonl(fileId: string | null | undefined): Promise<any[]> {
  if (!fileId) throw new Error('no file id');
  const text = await (await client.files.content(fileId)).text();
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

describe('the whole flow', () => {
  test('upload, create, statuses in order, output joined on custom_id equals the sync endpoint', async () => {
    sim.set({ batchValidatingMs: 100, batchInProgressMs: 150, batchFinalizingMs: 100 });
    const input = [...lines(10), line('b64', 'base64 please', { encoding_format: 'base64' }), line('dims', 'shorter vector', { dimensions: 256 })];
    const file = await upload(input);
    expect(file).toMatchObject({ id: expect.stringMatching(/^file-/), object: 'file', purpose: 'batch', status: 'processed', filename: 'input.jsonl' });
    expect(file.bytes).toBe(Buffer.byteLength(input.map((l) => JSON.stringify(l)).join('\n')));
    // The clock moves only when the test says, so every status is seen whatever the machine's load.
    const clock = sim.manualClock();
    const created = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h', metadata: { run: 'r1' } });
    expect(created).toMatchObject({ id: expect.stringMatching(/^batch_/), object: 'batch', status: 'validating', input_file_id: file.id, metadata: { run: 'r1' }, request_counts: { total: 0, completed: 0, failed: 0 } });
    expect(created.expires_at! - created.created_at).toBe(86_400);

    const seen: string[] = [];
    for (const step of [99, 1, 149, 1, 99, 1]) {
      clock.tick(step);
      seen.push((await client.batches.retrieve(created.id)).status);
    }
    expect(seen).toEqual(['validating', 'in_progress', 'in_progress', 'finalizing', 'finalizing', 'completed']);
    const { batch } = await poll(created);
    expect(batch).toMatchObject({ model: MODEL, error_file_id: null, request_counts: { total: 12, completed: 12, failed: 0 } });
    for (const k of ['in_progress_at', 'finalizing_at', 'completed_at'] as const) expect(batch[k]).toBeGreaterThanOrEqual(batch.created_at);
    expect(batch.failed_at ?? batch.cancelled_at ?? batch.expired_at ?? null).toBeNull();

    const out = await jsonl(batch.output_file_id);
    expect(out.map((o) => o.custom_id)).not.toEqual(input.map((l) => l.custom_id)); // not in input order
    expect(new Set(out.map((o) => o.custom_id))).toEqual(new Set(input.map((l) => l.custom_id)));
    const byId = new Map(out.map((o) => [o.custom_id, o]));
    expect(byId.get('c3')).toMatchObject({ id: expect.stringMatching(/^batch_req_/), error: null, response: { status_code: 200, request_id: expect.stringMatching(/^req_/) } });
    const sync = await client.embeddings.create({ model: MODEL, input: ['document number 3', 'another text 3'], encoding_format: 'float' });
    expect(byId.get('c3').response.body).toEqual({ ...sync, usage: sync.usage });
    expect(typeof byId.get('b64').response.body.data[0].embedding).toBe('string');
    expect(Array.from(decodeFloat32Base64(byId.get('b64').response.body.data[0].embedding))).toHaveLength(1536);
    expect(byId.get('dims').response.body.data[0].embedding).toHaveLength(256);

    const stats = sim.stats();
    expect(stats.batch).toMatchObject({ filesUploaded: 1, batchesCreated: 1, byStatus: { completed: 1 }, requests: 12, inputs: 22 });
    expect(stats.inputs).toBe(2); // only the sync call above
  });

  test('a fraction of lines fails with 500, an invalid body with 400: both in the error file', async () => {
    sim.set({ batchFailFraction: 0.25 });
    const input = [...lines(8), line('bad', ['ok', ''])];
    const { batch } = await poll(await submit(input));
    expect(batch).toMatchObject({ status: 'completed', request_counts: { total: 9, completed: 6, failed: 3 } });
    const errors = await jsonl(batch.error_file_id);
    expect(errors.map((e) => e.response.status_code).sort()).toEqual([400, 500, 500]);
    expect(errors.find((e) => e.custom_id === 'bad')).toMatchObject({ error: null, response: { body: { error: { type: 'invalid_request_error', message: expect.stringMatching(/empty string/) } } } });
    const out = await jsonl(batch.output_file_id);
    expect(new Set([...out, ...errors].map((o) => o.custom_id)).size).toBe(9);
  });

  test('when every line fails there is no output file', async () => {
    sim.set({ batchFailFraction: 1 });
    const { batch } = await poll(await submit(lines(3)));
    expect(batch).toMatchObject({ status: 'completed', output_file_id: null, request_counts: { completed: 0, failed: 3 } });
    expect(await jsonl(batch.error_file_id)).toHaveLength(3);
  });

  test('an expired batch keeps its partial output; the rest is batch_expired in the error file', async () => {
    sim.set({ batchExpire: true });
    const { batch, seen } = await poll(await submit(lines(10)));
    expect(seen.at(-1)).toBe('expired');
    expect(seen).not.toContain('finalizing');
    expect(batch).toMatchObject({ request_counts: { total: 10, completed: 5, failed: 5 }, expired_at: expect.any(Number) });
    const out = await jsonl(batch.output_file_id);
    const errors = await jsonl(batch.error_file_id);
    expect(out).toHaveLength(5);
    expect(errors).toHaveLength(5);
    for (const e of errors) expect(e).toMatchObject({ response: null, error: { code: 'batch_expired', message: expect.any(String) } });
    expect(new Set([...out, ...errors].map((o) => o.custom_id)).size).toBe(10);
  });
});

describe('cancel', () => {
  test('cancelling a batch that finished its lines keeps them all in the output file', async () => {
    sim.set({ batchStuckFinalizing: true });
    const { batch: stuck } = await poll(await submit(lines(4)), (b) => b.status === 'finalizing');
    const cancelling = await client.batches.cancel(stuck.id);
    expect(cancelling).toMatchObject({ status: 'cancelling', cancelling_at: expect.any(Number) });
    const { batch } = await poll(cancelling);
    expect(batch).toMatchObject({ status: 'cancelled', cancelled_at: expect.any(Number), request_counts: { total: 4, completed: 4 } });
    expect(await jsonl(batch.output_file_id)).toHaveLength(4);
  });

  test('a batch cancelled while validating ends with no files; a finished one cannot be cancelled', async () => {
    const clock = sim.manualClock(); // validating until cancelled, however slow the machine
    const created = await submit(lines(2));
    await client.batches.cancel(created.id);
    clock.tick(FAST.batchCancellingMs);
    const { batch } = await poll(created);
    expect(batch).toMatchObject({ status: 'cancelled', output_file_id: null, error_file_id: null, in_progress_at: null, request_counts: { total: 0 } });
    await expect(client.batches.cancel(created.id)).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/status 'cancelled'/) });
  });

  test('stuck in finalizing stays there', async () => {
    sim.set({ batchStuckFinalizing: true });
    const { batch } = await poll(await submit(lines(1)), (b) => b.status === 'finalizing');
    const clock = sim.manualClock();
    clock.tick(86_400_000);
    expect((await client.batches.retrieve(batch.id)).status).toBe('finalizing');
    expect(sim.stats().batch!.byStatus).toEqual({ finalizing: 1 });
  });
});

describe('validation', () => {
  test('line problems fail the batch with their line numbers', async () => {
    const text = [
      JSON.stringify(line('a', 'x')),
      JSON.stringify(line('a', 'y')),
      JSON.stringify({ ...line('b', 'z'), url: '/v1/chat/completions' }),
      '{"custom_id": "c", "method": ',
      JSON.stringify({ ...line('d', 'w'), body: { model: 'text-embedding-3-large', input: 'w' } }),
      JSON.stringify({ ...line('e', 'v'), method: 'GET' }),
    ].join('\n');
    const { batch, seen } = await poll(await submit(text));
    expect(seen).toEqual(['validating', 'failed']);
    expect(batch).toMatchObject({ failed_at: expect.any(Number), in_progress_at: null, output_file_id: null, request_counts: { total: 0 } });
    expect(batch.errors!.data!.map((e) => [e.line, e.code, e.param])).toEqual([
      [2, 'duplicate_custom_id', 'custom_id'],
      [3, 'invalid_url', 'url'],
      [4, 'invalid_json_line', null],
      [5, 'mismatched_model', 'body.model'],
      [6, 'invalid_method', 'method'],
    ]);
  });

  test.each([
    ['too many requests', { batchMaxRequests: 2 }, 'too_many_requests'],
    ['too many embedding inputs across lines', { batchMaxInputs: 5 }, 'too_many_embedding_inputs'],
    ['a forced validation error', { batchValidationError: true }, 'invalid_request'],
    ['the enqueued token limit', { batchEnqueuedTokenLimit: 10 }, 'token_limit_exceeded'],
  ])('%s', async (_name, knobs, code) => {
    sim.set(knobs);
    const { batch } = await poll(await submit(lines(3))); // 3 lines, 6 inputs, 24 tokens
    expect(batch.status).toBe('failed');
    expect(batch.errors!.data).toEqual([expect.objectContaining({ code, line: null })]);
  });

  test('the real default: more than 50,000 embedding inputs across lines fail validation', async () => {
    const big = Array.from({ length: 25 }, (_, i) => line(`big${i}`, Array.from({ length: 2001 }, (_, j) => `t${j}`)));
    const { batch } = await poll(await submit(big));
    expect(batch.errors!.data).toEqual([expect.objectContaining({ code: 'too_many_embedding_inputs', message: expect.stringMatching(/at most 50000 inputs .* has 50025/) })]);
  });

  test('create-time errors: unknown file, wrong purpose, bad window, no permission (403)', async () => {
    await expect(client.batches.create({ input_file_id: 'file-nope', endpoint: '/v1/embeddings', completion_window: '24h' })).rejects.toMatchObject({ status: 400, param: 'input_file_id' });
    const other = await client.files.create({ file: await toFile(Buffer.from('{}'), 'x.jsonl'), purpose: 'user_data' });
    await expect(client.batches.create({ input_file_id: other.id, endpoint: '/v1/embeddings', completion_window: '24h' })).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/purpose 'batch'/) });
    const file = await upload(lines(1));
    await expect(client.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '48h' as '24h' })).rejects.toMatchObject({ status: 400, param: 'completion_window' });
    // Set over HTTP, as a standalone simulator is.
    await fetch(`${sim.url.replace(/\/v1$/, '')}/_sim/set`, { method: 'POST', body: JSON.stringify({ noBatchPermission: true }) });
    const denied = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(sim.stats().batch!.batchesCreated).toBe(0);
  });
});

describe('files', () => {
  test('batch input must be .jsonl and within the size limit; retrieve, content, delete', async () => {
    await expect(client.files.create({ file: await toFile(Buffer.from('a,b'), 'input.csv'), purpose: 'batch' })).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/Must be \.jsonl/) });
    sim.set({ batchMaxFileBytes: 100 });
    await expect(upload('x'.repeat(101))).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/too large/) });
    const f = await upload('{"a":1}');
    expect(await client.files.retrieve(f.id)).toEqual(f);
    expect((await client.files.list({ purpose: 'batch' })).data.map((x) => x.id)).toEqual([f.id]);
    expect(await (await client.files.content(f.id)).text()).toBe('{"a":1}');
    expect(await client.files.delete(f.id)).toEqual({ id: f.id, object: 'file', deleted: true });
    await expect(client.files.retrieve(f.id)).rejects.toMatchObject({ status: 404 });
    expect(sim.stats().batch).toMatchObject({ filesUploaded: 1, filesDeleted: 1 });
  });

  test('an upload reset mid-body fails without retries and succeeds on the SDK retry', async () => {
    sim.set({ failNextUploads: 1, uploadFaultKind: 'reset' });
    await expect(upload(lines(200))).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
    sim.set({ failNextUploads: 1 });
    const retrying = new OpenAI({ apiKey: 'x', baseURL: sim.url, maxRetries: 1 });
    const f = await retrying.files.create({ file: await toFile(Buffer.from('{}'), 'in.jsonl'), purpose: 'batch' });
    expect(f.id).toMatch(/^file-/);
    sim.set({ failNextUploads: 1, uploadFaultKind: '500' });
    await expect(upload(lines(1))).rejects.toMatchObject({ status: 500 });
    expect(sim.stats().batch).toMatchObject({ filesUploaded: 1, uploadFaults: 3 });
    expect(sim.stats().byStatus).toMatchObject({ reset: 2, '500': 1, '200': 1 });
  });
});

test('list: newest first, cursor pages with has_more', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await submit(lines(1))).id);
  const first = await client.batches.list({ limit: 2 });
  expect(first.data.map((b) => b.id)).toEqual([ids[4], ids[3]]);
  expect(first.has_more).toBe(true);
  const all: string[] = [];
  for await (const b of client.batches.list({ limit: 2 })) all.push(b.id);
  expect(all).toEqual([...ids].reverse());
  const last = await client.batches.list({ limit: 2, after: ids[1] });
  expect(last.data.map((b) => b.id)).toEqual([ids[0]]);
  expect(last.has_more).toBe(false);
  expect(sim.stats().batch!.batchesCreated).toBe(5);
});

describe('output faults', () => {
  test('wrong dims, a malformed line and silently missing custom_ids', async () => {
    sim.set({ batchWrongDims: true, batchMalformedLine: true, batchMissingCustomIds: 2 });
    const { batch } = await poll(await submit(lines(6)));
    expect(batch.request_counts).toMatchObject({ completed: 6, failed: 0 });
    const text = await (await client.files.content(batch.output_file_id!)).text();
    const rows = text.split('\n').filter(Boolean);
    expect(rows).toHaveLength(4);
    const parsed = rows.flatMap((r) => {
      try {
        return [JSON.parse(r)];
      } catch {
        return [];
      }
    });
    expect(parsed).toHaveLength(3);
    for (const p of parsed) expect(p.response.body.data[0].embedding).toHaveLength(768);
  });
});
