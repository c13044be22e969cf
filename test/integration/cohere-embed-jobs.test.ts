/**
 * Cohere Embed Jobs through the real cohere-ai SDK against the simulator: a JSONL dataset
 * uploaded and validated, a job created, polled, cancelled or failed, found again by name after
 * a crash, and its Avro result dataset streamed back as vectors mapped by custom_id.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { NonRetryableError, ProviderError } from '../../src/errors.ts';
import { CohereEmbedJobsClient, type CohereEmbedJob, type CohereEmbedJobsOptions, type EmbedJobResult } from '../../src/providers/cohere-embed-jobs.ts';
import { CohereProvider } from '../../src/providers/cohere.ts';
import { resolveModel } from '../../src/providers/models.ts';
import { cosine } from '../../src/providers/vectors.ts';
import { startSimulator, type Simulator } from '../support/simulator/index.ts';
import { DEFAULT_COHERE_KNOBS } from '../support/simulator/cohere.ts';

const KEY = 'co-test-secret-0123456789';
let sim: Simulator;
let dir: string;
beforeAll(async () => {
  sim = await startSimulator({ apiKey: KEY });
  dir = await mkdtemp(join(tmpdir(), 'embedq-cohere-jobs-'));
});
afterAll(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  sim.reset();
  sim.set({ ...DEFAULT_COHERE_KNOBS, cohereDatasetQueuedMs: 10, cohereDatasetProcessingMs: 10, cohereJobProcessingMs: 40, cohereJobCancellingMs: 10, faultRate: 0 });
});

const client = (opts: Partial<CohereEmbedJobsOptions> = {}) => new CohereEmbedJobsClient({ apiKey: KEY, baseUrl: sim.cohereUrl, pollIntervalMs: 5, ...opts });

let files = 0;
async function jsonl(rows: object[]): Promise<string> {
  const path = join(dir, `input-${++files}.jsonl`);
  await writeFile(path, rows.map((r) => JSON.stringify(r)).join('\n'));
  return path;
}

/** Polls until the job ends; returns the last state and the distinct statuses seen. */
async function settle(c: CohereEmbedJobsClient, jobId: string): Promise<{ job: CohereEmbedJob; seen: string[] }> {
  const seen: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const job = await c.retrieve(jobId);
    if (seen.at(-1) !== job.status) seen.push(job.status);
    if (['complete', 'failed', 'cancelled'].includes(job.status)) return { job, seen };
    await sleep(5);
  }
  throw new Error(`job ${jobId} never ended; saw ${seen.join(' → ')}`);
}

async function collect(it: AsyncIterable<EmbedJobResult>): Promise<EmbedJobResult[]> {
  const out: EmbedJobResult[] = [];
  for await (const r of it) out.push(r);
  return out;
}

/** Uploads rows and waits for validation. */
async function dataset(c: CohereEmbedJobsClient, rows: object[], name = 'embedq-input'): Promise<string> {
  const id = await c.uploadDataset(await jsonl(rows), name);
  await c.waitValidated(id);
  return id;
}

describe('the batch flow', () => {
  test('upload → validated → job complete → results by custom_id, equal to the sync embeddings', async () => {
    const c = client();
    const texts = Array.from({ length: 150 }, (_, i) => `document ${i} about ${i % 2 ? 'vacuum' : 'api keys'}`);
    // custom_ids out of text order, and one numeric, to show results are joined by id, not position.
    const ids = texts.map((_, i) => (i === 7 ? 7 : `chunk-${(i * 37) % 150}`));
    const datasetId = await c.uploadDataset(await jsonl(texts.map((text, i) => ({ text, custom_id: ids[i], extra: 'dropped' }))), 'embedq batch 1');
    expect(await c.waitValidated(datasetId)).toEqual({ warnings: [] });
    // The simulator's clock stands still until the test moves it: `processing` is seen however
    // slow the machine, and `complete` exactly when the job's time is up.
    const clock = sim.manualClock();
    const jobId = await c.createJob(datasetId, 'embed-english-v3.0', 'document', 'embedq-batch-1');
    expect((await c.retrieve(jobId)).status).toBe('processing');
    clock.tick(39);
    expect((await c.retrieve(jobId)).status).toBe('processing');
    clock.tick(1);
    const { job, seen } = await settle(c, jobId);
    expect(seen).toEqual(['complete']);
    expect(job).toMatchObject({ id: jobId, name: 'embedq-batch-1', status: 'complete', model: 'embed-english-v3.0', inputDatasetId: datasetId, outputDatasetId: expect.any(String), billedTokens: expect.any(Number) });
    expect(job.error).toBeUndefined();

    const results = await collect(c.results(job.outputDatasetId!, { dims: 1024 }));
    expect(results.map((r) => r.customId)).toEqual(ids.map(String));
    const sync = await new CohereProvider(resolveModel('cohere/embed-english-v3.0'), { apiKey: KEY, baseUrl: sim.cohereUrl }).embed(texts);
    for (const [i, r] of results.entries()) {
      if (!('vector' in r)) throw new Error(`result ${i}: ${r.error}`);
      expect(r.vector).toHaveLength(1024);
      expect(cosine(r.vector, sync.vectors[i]!)).toBeCloseTo(1, 6);
    }
    expect(sim.stats().cohere).toMatchObject({ datasetsCreated: 1, embedJobsCreated: 1, jobInputs: 150 });
  });

  test('a vector of another size than expected is an error result, not a vector', async () => {
    const c = client();
    const jobId = await c.createJob(await dataset(c, [{ text: 'a', custom_id: 'x' }]), 'embed-english-light-v3.0', 'document', 'dims');
    const { job } = await settle(c, jobId);
    expect(await collect(c.results(job.outputDatasetId!, { dims: 1024 }))).toEqual([{ customId: 'x', error: 'provider returned a 384-dim vector, expected 1024' }]);
  });

  test('validation failure names Cohere’s reason', async () => {
    const c = client();
    const id = await c.uploadDataset(await jsonl([{ text: 'ok', custom_id: 'a' }, { text: 'no id' }]), 'bad input');
    const err = await c.waitValidated(id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonRetryableError);
    expect((err as Error).message).toBe(`Cohere dataset ${id} (bad input) failed validation: row 2 is missing the keep_field 'custom_id'. Fix the input file and upload it again`);
  });

  test('a model embed jobs do not serve is refused with Cohere’s message', async () => {
    const c = client();
    const err = await c.createJob(await dataset(c, [{ text: 'a', custom_id: 'x' }]), 'embed-v4.0', 'document', 'v4').catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: false, status: 400 });
    expect((err as Error).message).toMatch(/^cohere embed jobs: HTTP 400: .*not supported by embed jobs/);
  });
});

describe('jobs that end without results', () => {
  test('cancel: cancelling → cancelled, no output, and the reason says so', async () => {
    const c = client();
    const datasetId = await dataset(c, [{ text: 'x', custom_id: '1' }, { text: 'y', custom_id: '2' }]);
    const clock = sim.manualClock();
    const jobId = await c.createJob(datasetId, 'embed-english-light-v3.0', 'document', 'to-cancel');
    await c.cancel(jobId);
    expect((await c.retrieve(jobId)).status).toBe('cancelling');
    clock.tick(10);
    const { job, seen } = await settle(c, jobId);
    expect(seen).toEqual(['cancelled']);
    expect(job.outputDatasetId).toBeUndefined();
    expect(job.error).toMatch(/was cancelled; Cohere returns no partial results/);
    expect(sim.stats().cohere?.jobsByStatus).toEqual({ cancelled: 1 });
  });

  test('a failed job surfaces its status as the reason, naming the job, model and dataset', async () => {
    const c = client();
    const datasetId = await dataset(c, [{ text: 'x', custom_id: '1' }]);
    sim.set({ cohereJobFail: true });
    const jobId = await c.createJob(datasetId, 'embed-english-v3.0', 'query', 'will-fail');
    const { job } = await settle(c, jobId);
    expect(job).toMatchObject({ status: 'failed', error: `Cohere embed job ${jobId} (embed-english-v3.0, dataset ${datasetId}) failed without giving a reason` });
    expect(job.outputDatasetId).toBeUndefined();
  });
});

describe('recovery and downloads', () => {
  test('findJobByName finds a job created before a crash kept its id from being recorded', async () => {
    const before = client();
    const datasetId = await dataset(before, [{ text: 'x', custom_id: '1' }]);
    await before.createJob(datasetId, 'embed-english-v3.0', 'document', 'embedq-batch-other');
    const lost = await before.createJob(datasetId, 'embed-english-v3.0', 'document', 'embedq-batch-7');
    // A new process: a new client, nothing remembered.
    const after = client();
    expect(await after.findJobByName('embedq-batch-7')).toMatchObject({ id: lost, name: 'embedq-batch-7', inputDatasetId: datasetId });
    expect(await after.findJobByName('embedq-batch-never')).toBeUndefined();
    expect(sim.stats().cohere?.embedJobsCreated).toBe(2);
  });

  test('a failed part download is retryable and keeps the presigned query out of the message', async () => {
    const c = client();
    const { job } = await settle(c, await c.createJob(await dataset(c, [{ text: 'x', custom_id: '1' }]), 'embed-english-v3.0', 'document', 'dl'));
    // Real part URLs are presigned (a signature in the query); the simulator's are not, so sign them.
    const via = (part: () => Response): typeof fetch => async (input, init) => {
      const url = String(input);
      if (url.includes('/cohere-storage/')) return part();
      const res = await fetch(input, init);
      if (!url.includes('/v1/datasets/')) return res;
      return new Response((await res.text()).replace(/(cohere-storage\/[^"]+?\.avro)/g, '$1?X-Sig=s3cr3t'), res);
    };
    const err = await collect(client({ fetch: via(() => new Response('slow down', { status: 503 })) }).results(job.outputDatasetId!)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ retryable: true, status: 503 });
    expect((err as Error).message).toMatch(/downloading part part-0\.avro of dataset .*\/cohere-storage\/.*part-0\.avro\) failed with HTTP 503/);
    expect((err as Error).message).not.toContain('s3cr3t');
    const corrupt = client({ fetch: via(() => new Response('<Error>AccessDenied</Error>', { status: 200 })) });
    await expect(collect(corrupt.results(job.outputDatasetId!))).rejects.toThrow(/is not readable: avro: not an object container file/);
  });
});
