/**
 * The simulator's Voyage Batch API (driven by the `openai` SDK on Voyage's base URL, as Voyage
 * documents) and Mistral's batch jobs (driven by `@mistralai/mistralai`): their create bodies and
 * refusals, statuses by the manual clock, result lines equal to the sync endpoints' answers,
 * list, cancel and failed lines.
 */
import { Mistral } from '@mistralai/mistralai';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { DEFAULT_BATCH_KNOBS } from '../support/simulator/batches.ts';
import { startSimulator, type Simulator } from '../support/simulator/index.ts';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.reset();
  sim.set({ ...DEFAULT_BATCH_KNOBS, batchValidatingMs: 100, batchInProgressMs: 100, batchFinalizingMs: 100, batchCancellingMs: 100 });
});

const jsonl = (lines: unknown[]) => lines.map((l) => JSON.stringify(l)).join('\n');
const bodyLines = (n: number, extra: Record<string, unknown> = {}) => Array.from({ length: n }, (_, i) => ({ custom_id: `c${i}`, body: { input: [`document ${i}`, `more text ${i}`], ...extra } }));
const parse = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));

describe('Voyage', () => {
  let voyage: OpenAI;
  beforeAll(() => {
    voyage = new OpenAI({ apiKey: 'pa-test', baseURL: sim.voyageUrl, maxRetries: 0 });
  });
  const params = { model: 'voyage-3.5', input_type: 'document', output_dimension: 256 };
  const create = (fileId: string, body: Record<string, unknown> = {}) =>
    voyage.batches.create({ input_file_id: fileId, endpoint: '/v1/embeddings', completion_window: '12h', request_params: params, metadata: { run: 'r1' }, ...body } as never);
  const upload = async (lines: unknown[]) => voyage.files.create({ file: await toFile(Buffer.from(jsonl(lines)), 'in.jsonl'), purpose: 'batch' });

  test('a batch runs through its statuses; each output line equals the sync endpoint for its inputs', async () => {
    const file = await upload(bodyLines(3));
    expect(file).toMatchObject({ object: 'file', purpose: 'batch', created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    const clock = sim.manualClock();
    const created = await create(file.id);
    expect(created).toMatchObject({ object: 'batch', status: 'validating', completion_window: '12h', metadata: { run: 'r1' }, created_at: expect.stringMatching(/Z$/) });
    const c = created as unknown as { created_at: string; expected_completion_at: string };
    expect(Date.parse(c.expected_completion_at) - Date.parse(c.created_at)).toBe(12 * 3_600_000);
    const seen: string[] = [];
    for (const step of [100, 100, 100]) {
      clock.tick(step);
      seen.push((await voyage.batches.retrieve(created.id)).status);
    }
    expect(seen).toEqual(['in_progress', 'finalizing', 'completed']);
    const done = await voyage.batches.retrieve(created.id);
    expect(done).toMatchObject({ request_counts: { total: 3, completed: 3, failed: 0 }, error_file_id: null, model: 'voyage-3.5' });
    const out = parse(await (await voyage.files.content(done.output_file_id!)).text());
    expect(out.map((o) => o.custom_id).sort()).toEqual(['c0', 'c1', 'c2']);
    const c1 = out.find((o) => o.custom_id === 'c1');
    const sync = await (await fetch(`${sim.voyageUrl}/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer pa-test' }, body: JSON.stringify({ ...params, input: ['document 1', 'more text 1'] }) })).json() as { data: unknown[]; usage: unknown };
    expect(c1.response.status_code).toBe(200);
    expect(c1.response.body.data).toEqual(sync.data);
    expect(c1.response.body.data[0].embedding).toHaveLength(256);
    expect(c1.response.body.usage).toEqual(sync.usage);
    expect(sim.stats().voyageBatch).toMatchObject({ batchesCreated: 1, requests: 3, inputs: 6 });
    expect(sim.stats().batch).toBeUndefined(); // OpenAI's batch API saw nothing
  });

  test('refusals: the 24h window, no request_params.model; a line naming a model fails validation', async () => {
    const file = await upload(bodyLines(1));
    await expect(create(file.id, { completion_window: '24h' })).rejects.toMatchObject({ status: 400, error: { detail: expect.stringMatching(/completion_window must be "12h"/) } });
    await expect(create(file.id, { request_params: { input_type: 'document' } })).rejects.toMatchObject({ status: 400, error: { detail: expect.stringMatching(/request_params.model is required/) } });
    const clock = sim.manualClock();
    const bad = await create((await upload([{ custom_id: 'x', body: { model: 'voyage-3.5', input: ['a'] } }])).id);
    clock.tick(100);
    const failed = await voyage.batches.retrieve(bad.id);
    expect(failed.status).toBe('failed');
    expect(failed.errors?.data?.[0]).toMatchObject({ code: 'invalid_parameter', line: 1, param: 'body.model' });
  });

  test('list is newest first; a validating batch can be cancelled', async () => {
    const clock = sim.manualClock();
    const file = await upload(bodyLines(1));
    const a = await create(file.id);
    const b = await create(file.id);
    const page = await voyage.batches.list({ limit: 1 });
    expect(page.data.map((x) => x.id)).toEqual([b.id]);
    expect(page.has_more).toBe(true);
    expect((await voyage.batches.cancel(a.id)).status).toBe('cancelling');
    clock.tick(100);
    expect((await voyage.batches.retrieve(a.id)).status).toBe('cancelled');
  });
});

describe('Mistral', () => {
  let mistral: Mistral;
  beforeAll(() => {
    mistral = new Mistral({ apiKey: 'mi-test', serverURL: sim.mistralUrl, retryConfig: { strategy: 'none' } });
  });
  const upload = (lines: unknown[]) => mistral.files.upload({ file: { fileName: 'in.jsonl', content: Buffer.from(jsonl(lines)) }, purpose: 'batch' });
  const create = (fileId: string) => mistral.batch.jobs.create({ inputFiles: [fileId], endpoint: '/v1/embeddings', model: 'codestral-embed', metadata: { run: 'r1' } });
  const text = async (fileId: string) => new Response(await mistral.files.download({ fileId })).text();

  test('a job runs QUEUED, RUNNING, SUCCESS; each output line equals the sync endpoint for its inputs', async () => {
    const file = await upload(bodyLines(3, { output_dimension: 256 }));
    expect(file).toMatchObject({ object: 'file', purpose: 'batch', sampleType: 'batch_request', source: 'upload', numLines: 3 });
    const clock = sim.manualClock();
    const job = await create(file.id);
    expect(job).toMatchObject({ object: 'batch', status: 'QUEUED', inputFiles: [file.id], model: 'codestral-embed', metadata: { run: 'r1' }, totalRequests: 0 });
    const seen: string[] = [];
    for (const step of [100, 100, 100]) {
      clock.tick(step);
      seen.push((await mistral.batch.jobs.get({ jobId: job.id })).status);
    }
    expect(seen).toEqual(['RUNNING', 'RUNNING', 'SUCCESS']);
    const done = await mistral.batch.jobs.get({ jobId: job.id });
    expect(done).toMatchObject({ totalRequests: 3, succeededRequests: 3, failedRequests: 0, completedRequests: 3, errorFile: null, errors: [] });
    const out = parse(await text(done.outputFile!));
    const c2 = out.find((o) => o.custom_id === 'c2');
    const sync = await mistral.embeddings.create({ model: 'codestral-embed', inputs: ['document 2', 'more text 2'], outputDimension: 256 });
    expect(c2.response.status_code).toBe(200);
    expect(c2.response.body.data.map((d: { embedding: number[] }) => d.embedding)).toEqual(sync.data.map((d) => d.embedding));
    expect(c2.response.body.data[0].embedding).toHaveLength(256);
    expect(sim.stats().mistralBatch).toMatchObject({ batchesCreated: 1, requests: 3, inputs: 6 });
  });

  test('failed lines land in the error file and are counted; list pages by number; cancel', async () => {
    sim.set({ batchFailFraction: 0.5 });
    const clock = sim.manualClock();
    const file = await upload(bodyLines(4));
    const job = await create(file.id);
    clock.tick(300);
    const done = await mistral.batch.jobs.get({ jobId: job.id });
    expect(done).toMatchObject({ status: 'SUCCESS', totalRequests: 4, succeededRequests: 2, failedRequests: 2 });
    const errors = parse(await text(done.errorFile!));
    expect(errors).toHaveLength(2);
    expect(errors[0].response).toMatchObject({ status_code: 500, body: { object: 'error', type: 'server_error' } });

    sim.set({ batchFailFraction: 0 });
    const second = await create(file.id);
    const page = await mistral.batch.jobs.list({ page: 1, pageSize: 1 });
    expect(page.total).toBe(2);
    expect(page.data?.map((j) => j.id)).toEqual([job.id]); // page 0 holds the newest
    expect((await mistral.batch.jobs.cancel({ jobId: second.id })).status).toBe('CANCELLATION_REQUESTED');
    clock.tick(100);
    expect((await mistral.batch.jobs.get({ jobId: second.id })).status).toBe('CANCELLED');
    await expect(mistral.batch.jobs.cancel({ jobId: job.id })).rejects.toMatchObject({ statusCode: 400 });
  });
});
