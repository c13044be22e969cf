/**
 * The simulator's Cohere API through the official cohere-ai SDK (CohereClientV2 pointed at
 * `sim.cohereUrl`): v2 embed with its types, dimensions and limits; datasets; embed jobs, whose
 * result dataset is read the way Cohere's SDKs read one (fetch each part's URL, decode Avro).
 */
import { Cohere, CohereClientV2, CohereError } from 'cohere-ai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { cosine, decodeFloat32Base64 } from '../../src/providers/vectors.ts';
import { decodeAvroContainer } from '../support/avro-container.ts';
import { startSimulator, type Simulator } from '../support/simulator/index.ts';
import { DEFAULT_COHERE_KNOBS } from '../support/simulator/cohere.ts';

const TOKEN = 'co-test-token';
let sim: Simulator;
let co: CohereClientV2;
beforeAll(async () => {
  sim = await startSimulator({ apiKey: TOKEN });
  co = new CohereClientV2({ token: TOKEN, environment: sim.cohereUrl, maxRetries: 0 });
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.reset();
  sim.set({ ...DEFAULT_COHERE_KNOBS, cohereDatasetQueuedMs: 10, cohereDatasetProcessingMs: 10, cohereJobProcessingMs: 40, cohereJobCancellingMs: 10, faultRate: 0 });
});

/** Polls `get` until `done`; returns the last value and the distinct states seen, in order. */
async function poll<T>(get: () => Promise<T>, state: (t: T) => string, done: (s: string) => boolean): Promise<{ last: T; seen: string[] }> {
  const seen: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const last = await get();
    const s = state(last);
    if (seen.at(-1) !== s) seen.push(s);
    if (done(s)) return { last, seen };
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`never done; saw ${seen.join(' → ')}`);
}

const jsonl = (rows: object[]) => new File([rows.map((r) => JSON.stringify(r)).join('\n')], 'input.jsonl');
const datasetStatus = (id: string) => poll(() => co.datasets.get(id), (d) => d.dataset.validationStatus, (s) => s === 'validated' || s === 'failed');
const jobStatus = (id: string) => poll(() => co.embedJobs.get(id), (j) => j.status, (s) => ['complete', 'failed', 'cancelled'].includes(s));

/** Reads a dataset as Cohere's SDKs do: every part's URL (no auth), Avro records. */
async function readDataset(id: string): Promise<Record<string, any>[]> {
  const { dataset } = await co.datasets.get(id);
  const out: Record<string, any>[] = [];
  for (const part of dataset.datasetParts ?? []) out.push(...(decodeAvroContainer(Buffer.from(await (await fetch(part.url!)).arrayBuffer())).records as Record<string, any>[]));
  return out;
}

describe('v2 embed', () => {
  test('every embedding type, at the requested output_dimension, consistent with each other', async () => {
    const r = await co.embed({ model: 'embed-v4.0', inputType: 'search_document', texts: ['rotate api keys', 'vacuum reclaims space'], embeddingTypes: ['float', 'int8', 'uint8', 'binary', 'ubinary', 'base64'], outputDimension: 512 });
    expect(r).toMatchObject({ id: expect.any(String), responseType: 'embeddings_by_type', texts: ['rotate api keys', 'vacuum reclaims space'], meta: { apiVersion: { version: '2' }, billedUnits: { inputTokens: 10 } } });
    const e = r.embeddings;
    expect(e.float!.map((v) => v.length)).toEqual([512, 512]);
    expect(Math.hypot(...e.float![0]!)).toBeCloseTo(1, 5);
    expect(Array.from(decodeFloat32Base64(e.base64![0]!))).toEqual(e.float![0]!.map((x) => Math.fround(x)));
    expect(e.int8![0]!.every((x) => x >= -128 && x <= 127)).toBe(true);
    expect(e.uint8![0]).toEqual(e.int8![0]!.map((x) => x + 128));
    expect(e.binary![0]).toHaveLength(64);
    expect(e.ubinary![0]).toEqual(e.binary![0]!.map((x) => x + 128));
    expect(cosine(e.int8![0]!, e.float![0]!)).toBeGreaterThan(0.95);
  });

  test('deterministic, one space for queries and documents, Matryoshka output_dimension', async () => {
    const doc = await co.embed({ model: 'embed-v4.0', inputType: 'search_document', texts: ['how to rotate api keys', 'postgres vacuum'] });
    const query = await co.embed({ model: 'embed-v4.0', inputType: 'search_query', texts: ['rotate my api keys'] });
    const [d0, d1] = doc.embeddings.float!;
    const q = query.embeddings.float![0]!;
    expect(d0).toHaveLength(1536);
    expect(cosine(q, d0!)).toBeGreaterThan(cosine(q, d1!));
    const again = await co.embed({ model: 'embed-v4.0', inputType: 'search_query', texts: ['how to rotate api keys'], outputDimension: 256 });
    expect(cosine(again.embeddings.float![0]!, d0!.slice(0, 256))).toBeCloseTo(1, 5);
    const v3 = await co.embed({ model: 'embed-english-light-v3.0', inputType: 'clustering', inputs: [{ content: [{ type: 'text', text: 'postgres vacuum' }] }] });
    expect(v3.embeddings.float![0]).toHaveLength(384);
    expect(v3.texts).toBeUndefined();
    const v3Texts = await co.embed({ model: 'embed-english-light-v3.0', inputType: 'clustering', texts: ['postgres vacuum'] });
    expect(v3.embeddings.float).toEqual(v3Texts.embeddings.float);
  });

  test.each([
    ['97 texts', { model: 'embed-v4.0', inputType: 'search_document', texts: Array(97).fill('a') }, 400, 'invalid request: total number of texts must be at most 96 - received 97'],
    ['output_dimension on a v3 model', { model: 'embed-english-v3.0', inputType: 'search_document', texts: ['a'], outputDimension: 512 }, 400, /only supported for embed-v4\.0/],
    ['an output_dimension not offered', { model: 'embed-v4.0', inputType: 'search_document', texts: ['a'], outputDimension: 300 }, 400, /must be one of 256, 512, 1024, 1536/],
    ['an unknown model', { model: 'embed-nope', inputType: 'search_document', texts: ['a'] }, 404, /model 'embed-nope' not found/],
    ['text too long with truncate NONE', { model: 'embed-english-v3.0', inputType: 'search_document', texts: ['abcd'.repeat(600)], truncate: 'NONE' }, 400, /longer than 512 tokens/],
  ] as const)('rejects %s (through the SDK)', async (_name, request, status, message) => {
    const err = await co.embed(request as Cohere.V2EmbedRequest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CohereError);
    expect(err).toMatchObject({ statusCode: status, body: { message: expect.stringMatching(message) } });
  });

  test('input_type is required from v3 on (the SDK types require it, so over plain HTTP)', async () => {
    const post = (body: object) => fetch(`${sim.cohereUrl}/v2/embed`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const res = await post({ model: 'embed-english-v3.0', texts: ['a'] });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ message: 'invalid request: valid input_type must be provided with the provided model' });
    expect((await post({ model: 'embed-english-v2.0', texts: ['a'] })).status).toBe(200);
  });

  test('over-long text is cut (END by default) and billed at the limit', async () => {
    const r = await co.embed({ model: 'embed-english-v3.0', inputType: 'search_document', texts: ['abcd'.repeat(600)] });
    expect(r.meta?.billedUnits?.inputTokens).toBe(512);
  });

  test('faults and auth come back as the SDK error classes', async () => {
    sim.failNext(1, '500');
    await expect(co.embed({ model: 'embed-v4.0', inputType: 'search_document', texts: ['a'] })).rejects.toBeInstanceOf(Cohere.InternalServerError);
    sim.failNext(1, '429');
    await expect(co.embed({ model: 'embed-v4.0', inputType: 'search_document', texts: ['a'] })).rejects.toBeInstanceOf(Cohere.TooManyRequestsError);
    const wrong = new CohereClientV2({ token: 'nope', environment: sim.cohereUrl, maxRetries: 0 });
    await expect(wrong.embed({ model: 'embed-v4.0', inputType: 'search_document', texts: ['a'] })).rejects.toBeInstanceOf(Cohere.UnauthorizedError);
    expect(sim.stats().cohere).toMatchObject({ embedRequests: 2 });
    expect(sim.stats().byStatus).toMatchObject({ '500': 1, '429': 1, '401': 1 });
  });
});

describe('datasets', () => {
  test('queued → processing → validated; kept and optional fields; an Avro part behind its URL', async () => {
    // The clock moves only when the test says, so each status is seen whatever the machine's load.
    sim.set({ cohereDatasetQueuedMs: 150, cohereDatasetProcessingMs: 150 });
    const clock = sim.manualClock();
    const rows = [{ text: 'alpha', id: 'a1', lang: 'en', drop: 1 }, { text: 'beta', id: 'b2' }];
    const { id } = await co.datasets.create(jsonl(rows), undefined, { name: 'Docs v1', type: 'embed-input', keepFields: ['id'], optionalFields: ['lang'] });
    expect(id).toMatch(/^docs-v1-/);
    const seen: unknown[] = [];
    for (const step of [0, 149, 1, 149, 1]) {
      clock.tick(step);
      seen.push((await co.datasets.get(id!)).dataset.validationStatus);
    }
    expect(seen).toEqual(['queued', 'queued', 'processing', 'processing', 'validated']);
    const { last } = await datasetStatus(id!);
    expect(last.dataset).toMatchObject({ id, name: 'Docs v1', datasetType: 'embed-input', requiredFields: ['text'], preserveFields: ['id', 'lang'], createdAt: expect.any(Date) });
    expect(last.dataset.datasetParts).toEqual([expect.objectContaining({ numRows: 2, url: expect.stringContaining('/cohere-storage/') })]);
    expect(await readDataset(id!)).toEqual([{ text: 'alpha', id: 'a1', lang: 'en' }, { text: 'beta', id: 'b2', lang: null }]);
  });

  test('validation fails on a missing keep_field or empty text, unless malformed rows are skipped', async () => {
    const rows = [{ text: 'ok', id: 1 }, { text: 'no id' }, { text: '', id: 3 }];
    const failed = await co.datasets.create(jsonl(rows), undefined, { name: 'bad', type: 'embed-input', keepFields: ['id'] });
    const { last } = await datasetStatus(failed.id!);
    expect(last.dataset).toMatchObject({ validationStatus: 'failed', validationError: "row 2 is missing the keep_field 'id'", datasetParts: [] });
    const skipped = await co.datasets.create(jsonl(rows), undefined, { name: 'skip', type: 'embed-input', keepFields: ['id'], skipMalformedInput: true });
    const ok = await datasetStatus(skipped.id!);
    expect(ok.last.dataset).toMatchObject({ validationStatus: 'validated', validationWarnings: [expect.stringMatching(/^row 2/), expect.stringMatching(/^row 3 has no non-empty 'text'/)] });
    expect(await readDataset(skipped.id!)).toEqual([{ text: 'ok', id: 1 }]);
  });

  test('list filters by type; delete makes it 404', async () => {
    const { id } = await co.datasets.create(jsonl([{ text: 'x' }]), undefined, { name: 'gone', type: 'embed-input' });
    expect((await co.datasets.list({ datasetType: 'embed-input' })).datasets?.map((d) => d.id)).toEqual([id]);
    expect((await co.datasets.list({ datasetType: 'embed-result' })).datasets).toEqual([]);
    await co.datasets.delete(id!);
    await expect(co.datasets.get(id!)).rejects.toBeInstanceOf(Cohere.NotFoundError);
  });
});

describe('embed jobs', () => {
  test('processing → complete; the result dataset keeps input order, kept fields and the sync vectors', async () => {
    const texts = ['first document', 'second document about vacuum', 'third: api keys'];
    const ds = await co.datasets.create(jsonl(texts.map((text, i) => ({ text, doc: `d${i}` }))), undefined, { name: 'corpus', type: 'embed-input', keepFields: ['doc'] });
    await datasetStatus(ds.id!);
    sim.set({ cohereJobProcessingMs: 150 });
    const clock = sim.manualClock();
    const created = await co.embedJobs.create({ model: 'embed-english-v3.0', datasetId: ds.id!, inputType: 'search_document', embeddingTypes: ['float', 'int8'], name: 'nightly' });
    expect((await co.embedJobs.get(created.jobId)).status).toBe('processing');
    clock.tick(150);
    const { last: job, seen } = await jobStatus(created.jobId);
    expect(seen).toEqual(['complete']);
    expect(job).toMatchObject({ jobId: created.jobId, name: 'nightly', inputDatasetId: ds.id, model: 'embed-english-v3.0', truncate: 'END', meta: { billedUnits: { inputTokens: expect.any(Number) } } });
    const { dataset } = await co.datasets.get(job.outputDatasetId!);
    expect(dataset).toMatchObject({ datasetType: 'embed-result', validationStatus: 'validated' });
    const records = await readDataset(job.outputDatasetId!);
    expect(records.map((r) => [r.text, r.doc])).toEqual(texts.map((t, i) => [t, `d${i}`]));
    const sync = await co.embed({ model: 'embed-english-v3.0', inputType: 'search_document', texts, embeddingTypes: ['float', 'int8'] });
    for (const [i, r] of records.entries()) {
      expect(r.embeddings.float.map(Math.fround)).toEqual(sync.embeddings.float![i]!.map(Math.fround));
      expect(r.embeddings.int8).toEqual(sync.embeddings.int8![i]);
      expect(r.embeddings).toMatchObject({ uint8: null, binary: null, ubinary: null });
    }
    expect((await co.embedJobs.list()).embedJobs?.map((j) => j.jobId)).toEqual([created.jobId]);
    expect(sim.stats().cohere).toMatchObject({ datasetsCreated: 1, embedJobsCreated: 1, jobInputs: 3, jobsByStatus: { complete: 1 } });
  });

  test('needs a validated embed-input dataset and a v3 model', async () => {
    sim.set({ cohereDatasetQueuedMs: 10_000 });
    const ds = await co.datasets.create(jsonl([{ text: 'x' }]), undefined, { name: 'slow', type: 'embed-input' });
    const create = (over: Partial<Cohere.CreateEmbedJobRequest>) => co.embedJobs.create({ model: 'embed-english-v3.0', datasetId: ds.id!, inputType: 'search_document', ...over }).catch((e: unknown) => e);
    expect(await create({})).toMatchObject({ statusCode: 400, body: { message: expect.stringMatching(/validation status queued/) } });
    expect(await create({ datasetId: 'nope' })).toBeInstanceOf(Cohere.NotFoundError);
    expect(await create({ model: 'embed-v4.0' })).toMatchObject({ statusCode: 400, body: { message: expect.stringMatching(/not supported by embed jobs/) } });
  });

  test('cancel: cancelling → cancelled with no output; a failed job has none either', async () => {
    const ds = await co.datasets.create(jsonl([{ text: 'x' }, { text: 'y' }]), undefined, { name: 'c', type: 'embed-input' });
    await datasetStatus(ds.id!);
    sim.set({ cohereJobProcessingMs: 10_000, cohereJobCancellingMs: 150 });
    const clock = sim.manualClock();
    const { jobId } = await co.embedJobs.create({ model: 'embed-english-light-v3.0', datasetId: ds.id!, inputType: 'search_document' });
    await co.embedJobs.cancel(jobId);
    expect((await co.embedJobs.get(jobId)).status).toBe('cancelling');
    clock.tick(150);
    const { last, seen } = await jobStatus(jobId);
    expect(seen).toEqual(['cancelled']);
    expect(last.outputDatasetId).toBeUndefined();
    await expect(co.embedJobs.cancel(jobId)).rejects.toBeInstanceOf(Cohere.BadRequestError);
    sim.set({ cohereJobProcessingMs: 10, cohereJobFail: true });
    const failed = await co.embedJobs.create({ model: 'embed-english-light-v3.0', datasetId: ds.id!, inputType: 'search_document' });
    clock.tick(10);
    const { last: failedJob } = await jobStatus(failed.jobId);
    expect(failedJob.status).toBe('failed');
    expect(failedJob.outputDatasetId).toBeUndefined();
    expect((await co.datasets.list({ datasetType: 'embed-result' })).datasets).toEqual([]);
  });
});
