/** Batch mode end to end: OpenAI Batch API (simulated) through the official SDK, real services. */
import { runIngest } from '../../src/cli/commands/ingest.ts';
import type { Context } from '../../src/context.ts';
import { submitBatch } from '../../src/pipeline/batch-submit.ts';
import { OpenAIBatchClient } from '../../src/providers/openai-batch.ts';
import { resolveModel } from '../../src/providers/models.ts';
import { queuePending, listBatches } from '../../src/store/batches.ts';
import { getIndex } from '../../src/store/indexes.ts';
import { countRows, samePairs } from '../support/assert.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { expect, test } from '../support/fixtures.ts';
import { withSim } from '../support/sim-context.ts';
import { waitFor } from '../support/wait.ts';

const MODEL = 'openai/text-embedding-3-small';
const FAST = { batch: { pollMs: 100, autoThreshold: 10_000 } };
/** Small request lines, so a fraction of failed lines means something. */
const SMALL_LINES = { ...FAST, models: { 'openai/text-embedding-3-small': { maxInputsPerRequest: 8 } } };
const SIM = { batchValidatingMs: 20, batchInProgressMs: 50, batchFinalizingMs: 20 };

function corpus(n: number): string {
  return writeCorpus(Object.fromEntries(Array.from({ length: n }, (_, i) => [`d${i}.txt`, prose(i + 500, 12)])));
}

async function indexed(ctx: Context, index: string): Promise<{ rows: number; chunks: number }> {
  const t = (await getIndex(ctx.db, index))!.live.tableName;
  const { rows } = await ctx.db.query(
    `SELECT (SELECT count(*)::int FROM ${t}) AS rows, (SELECT count(*)::int FROM chunks WHERE index_id = (SELECT id FROM indexes WHERE name = $1)) AS chunks`,
    [index],
  );
  return rows[0];
}

test('a corpus indexed in batch mode equals the same corpus indexed in sync mode', () =>
  withSim(
    async (sim, ctx) => {
      const dir = corpus(8);
      const s = await runIngest(ctx, { paths: [dir], index: 'via_sync', model: MODEL, dims: 64, tenant: 'a', chunkTokens: 60, chunkOverlap: 0, mode: 'sync' });
      const b = await runIngest(ctx, { paths: [dir], index: 'via_batch', model: MODEL, dims: 64, tenant: 'b', chunkTokens: 60, chunkOverlap: 0, mode: 'batch' });
      expect(b.mode).toBe('batch');
      expect(b.embedded).toBe(s.embedded);
      expect(b.failedJobs).toBe(0);
      expect(await samePairs(ctx, 'via_sync', 'via_batch')).toEqual({ pairs: s.chunks, equal: s.chunks });
      const [batch] = await listBatches(ctx.db);
      expect(batch).toMatchObject({ status: 'ingested', completed: s.chunks, failed: 0 });
      const { rows: ledger } = await ctx.db.query(`SELECT mode, sum(cost_usd)::float AS cost, sum(tokens)::int AS tokens FROM ledger WHERE status = 'ok' GROUP BY mode ORDER BY mode`);
      // Same tokens, half the price.
      expect(ledger[0].tokens).toBe(ledger[1].tokens);
      expect(ledger[0].cost).toBeCloseTo(ledger[1].cost / 2, 12);
      expect(sim.stats().batch?.batchesCreated).toBe(1);
    },
    FAST,
    SIM,
  ));

test('a batch with 5% failed requests completes after re-queueing them through the sync path', () =>
  withSim(
    async (_sim, ctx) => {
      const dir = corpus(20);
      const r = await runIngest(ctx, { paths: [dir], index: 'flaky', model: MODEL, dims: 64, chunkTokens: 20, chunkOverlap: 0, mode: 'batch' });
      expect(r.failedJobs).toBe(0);
      expect(await indexed(ctx, 'flaky')).toEqual({ rows: r.chunks, chunks: r.chunks });
      const [batch] = await listBatches(ctx.db);
      expect(batch!.failed).toBeGreaterThan(0);
      expect(batch!.completed + batch!.failed).toBe(r.chunks);
      const n = await countRows(ctx, 'ledger', `mode = 'batch' AND status = 'error' AND error LIKE 'batch error%'`);
      expect(n).toBeGreaterThan(0);
    },
    SMALL_LINES,
    { ...SIM, batchFailFraction: 0.05 },
  ));

test('an expired batch keeps its partial results and the rest is finished', () =>
  withSim(
    async (_sim, ctx) => {
      const dir = corpus(10);
      const r = await runIngest(ctx, { paths: [dir], index: 'late', model: MODEL, dims: 64, chunkTokens: 20, chunkOverlap: 0, mode: 'batch' });
      expect(r.failedJobs).toBe(0);
      expect(await indexed(ctx, 'late')).toEqual({ rows: r.chunks, chunks: r.chunks });
      const [batch] = await listBatches(ctx.db);
      expect(batch!.status).toBe('ingested');
      expect(batch!.completed).toBeGreaterThan(0);
      expect(batch!.failed).toBeGreaterThan(0);
    },
    SMALL_LINES,
    { ...SIM, batchExpire: true },
  ));

test('vectors of the wrong size are rejected, never written, and the batch says why', () =>
  withSim(
    async (_sim, ctx) => {
      const dir = corpus(3);
      await runIngest(ctx, { paths: [dir], index: 'wrongdims', model: MODEL, dims: 64, chunkTokens: 40, chunkOverlap: 0, mode: 'batch', wait: false });
      const { startWorkers } = await import('../../workers/runtime.ts');
      const w = await startWorkers(ctx);
      try {
        const b = await waitFor(async () => (await listBatches(ctx.db)).find((x) => x.ingestedAt), 'the batch to be ingested');
        expect(b!.status).toBe('rejected');
        expect(JSON.stringify(b!.errors)).toMatch(/expected 64: rows rejected, never written/);
      } finally {
        await w.close();
      }
    },
    // The re-queued sync jobs fail too (the simulator's sync path is fine, so they succeed): what
    // matters is that nothing of the wrong size was written from the batch.
    FAST,
    { ...SIM, batchWrongDims: true },
  ));

test('a crash between batch create and recording it does not create a second batch', () =>
  withSim(
    async (sim, ctx) => {
      const dir = corpus(2);
      await runIngest(ctx, { paths: [dir], index: 'crashy', model: MODEL, dims: 64, chunkTokens: 40, chunkOverlap: 0, mode: 'sync' });
      const index = (await getIndex(ctx.db, 'crashy'))!;
      const { rows } = await ctx.db.query(`SELECT id::text AS id, tokens FROM chunks`);
      const { inputHash } = await import('../../src/corpus/hash.ts');
      const texts = await ctx.db.query(`SELECT id::text AS id, text FROM chunks`);
      await queuePending(ctx.db, texts.rows.map((t, i) => ({ indexVersionId: index.live.id, chunkId: t.id, inputHash: inputHash({ scope: 'default', modelKey: index.live.modelKey, dims: 64, text: t.text }), tenant: 'default', runId: 'r1', tokens: rows[i].tokens })));
      const real = new OpenAIBatchClient({ apiKey: 'sk-test-0123456789', baseUrl: ctx.config.openai.baseUrl });
      // The process "dies" after the provider created the batch but before we recorded its id.
      const crashing = {
        upload: (path: string) => real.upload(path),
        findByMetadata: (k: string, v: string) => real.findByMetadata(k, v),
        create: async (...a: Parameters<OpenAIBatchClient['create']>) => {
          await real.create(...a);
          throw new Error('killed right after create');
        },
      } as unknown as OpenAIBatchClient;
      const input = { db: ctx.db, model: resolveModel(MODEL, 64), version: index.live, tenant: 'default', runId: 'r1', submitJobId: 'job-1' };
      await expect(submitBatch({ ...input, client: crashing })).rejects.toThrow(/killed/);
      const resumed = await submitBatch({ ...input, client: real });
      expect(resumed!.providerBatchId).toMatch(/^batch_/);
      const list = await real.findByMetadata('embedq_batch', resumed!.id);
      expect(list?.id).toBe(resumed!.providerBatchId);
      expect(sim.stats().batch?.batchesCreated).toBe(1);
    },
    FAST,
    SIM,
  ));

test('malformed output lines and missing custom_ids are re-queued; every chunk still lands once', () =>
  withSim(
    async (_sim, ctx) => {
      const dir = corpus(12);
      const r = await runIngest(ctx, { paths: [dir], index: 'messy', model: MODEL, dims: 64, chunkTokens: 20, chunkOverlap: 0, mode: 'batch' });
      expect(r.failedJobs).toBe(0);
      expect(await indexed(ctx, 'messy')).toEqual({ rows: r.chunks, chunks: r.chunks });
      const [b] = await listBatches(ctx.db);
      expect(b!.failed).toBeGreaterThan(0);
      expect(JSON.stringify(b!.errors)).toMatch(/not valid JSON/);
      const n = await countRows(ctx, 'ledger', `mode = 'batch' AND status = 'error' AND error LIKE 'missing from the batch results%'`);
      expect(n).toBeGreaterThan(0);
    },
    SMALL_LINES,
    { ...SIM, batchMalformedLine: true, batchMissingCustomIds: 2 },
  ));

test('an upload that fails halfway is retried; a batch stuck in finalizing stays visible and unfinished', () =>
  withSim(
    async (sim, ctx) => {
      sim.set({ failNextUploads: 1, uploadFaultKind: 'reset', batchStuckFinalizing: true } as never);
      const dir = corpus(3);
      const r = await runIngest(ctx, { paths: [dir], index: 'stuck', model: MODEL, dims: 64, chunkTokens: 40, chunkOverlap: 0, mode: 'batch', wait: false });
      const { startWorkers } = await import('../../workers/runtime.ts');
      const w = await startWorkers(ctx);
      try {
        const b = await waitFor(async () => (await listBatches(ctx.db)).find((x) => x.status === 'finalizing'), 'the batch to reach finalizing');
        expect(b!.status).toBe('finalizing');
        expect(sim.stats().batch?.batchesCreated).toBe(1);
        const { runBatchShow, formatShow } = await import('../../src/cli/commands/batches.ts');
        expect(formatShow(await runBatchShow(ctx, b!.id))).toMatch(/status\s+finalizing/);
        const { RunTracker } = await import('../../src/queue/runs.ts');
        expect((await new RunTracker(ctx.redis, ctx.config.redisPrefix).get(r.runId))!.finalized).toBe(false);
      } finally {
        await w.close();
      }
    },
    FAST,
    SIM,
  ));

test('a key without batch permission fails the submit job with the provider\'s reason; nothing is lost', () =>
  withSim(
    async (sim, ctx) => {
      sim.set({ noBatchPermission: true } as never);
      const dir = corpus(3);
      const r = await runIngest(ctx, { paths: [dir], index: 'noperm', model: MODEL, dims: 64, chunkTokens: 40, chunkOverlap: 0, mode: 'batch' });
      expect(r.failedJobs).toBe(1);
      const { Queue } = await import('bullmq');
      const q = new Queue('batches', { connection: ctx.redis, prefix: ctx.config.redisPrefix });
      const [failed] = await q.getFailed();
      await q.close();
      expect(failed!.failedReason).toMatch(/403|permission/i);
      const [b] = await listBatches(ctx.db);
      expect(b).toMatchObject({ status: 'uploaded', providerBatchId: null });
      // Once the key may create batches, --retry-failed resumes the same batch row.
      sim.set({ noBatchPermission: false } as never);
      const { runRetryFailed } = await import('../../src/cli/commands/ingest-retry.ts');
      const retried = await runRetryFailed(ctx, {});
      expect(retried.failedJobs).toBe(0);
      expect(await indexed(ctx, 'noperm')).toEqual({ rows: r.chunks, chunks: r.chunks });
      expect((await listBatches(ctx.db)).map((x) => x.id)).toEqual([b!.id]);
    },
    FAST,
    SIM,
  ));

test('a batch that fails validation shows the provider\'s errors and its inputs go through the sync path', () =>
  withSim(
    async (_sim, ctx) => {
      const dir = corpus(3);
      const r = await runIngest(ctx, { paths: [dir], index: 'invalid', model: MODEL, dims: 64, chunkTokens: 40, chunkOverlap: 0, mode: 'batch' });
      expect(r.failedJobs).toBe(0);
      expect(await indexed(ctx, 'invalid')).toEqual({ rows: r.chunks, chunks: r.chunks });
      const [b] = await listBatches(ctx.db);
      expect(b!.status).toBe('failed');
      expect(JSON.stringify(b!.errors)).toMatch(/line/);
      const { formatShow } = await import('../../src/cli/commands/batches.ts');
      expect(formatShow(b!)).toMatch(/errors/);
    },
    FAST,
    { ...SIM, batchValidationError: true },
  ));

test('Cohere Embed Jobs: a corpus indexed in batch mode equals the same corpus indexed in sync mode', () =>
  withSim(
    async (_sim, ctx) => {
      const dir = corpus(5);
      const model = 'cohere/embed-english-v3.0';
      const s = await runIngest(ctx, { paths: [dir], index: 'co_sync', model, tenant: 'a', chunkTokens: 60, chunkOverlap: 0, mode: 'sync' });
      const b = await runIngest(ctx, { paths: [dir], index: 'co_batch', model, tenant: 'b', chunkTokens: 60, chunkOverlap: 0, mode: 'batch' });
      expect(b.mode).toBe('batch');
      expect(b.failedJobs).toBe(0);
      expect(b.embedded).toBe(s.embedded);
      expect(await samePairs(ctx, 'co_sync', 'co_batch', 1e-6)).toEqual({ pairs: s.chunks, equal: s.chunks });
      const [batch] = await listBatches(ctx.db);
      expect(batch).toMatchObject({ provider: 'cohere', status: 'ingested', completed: s.chunks });
    },
    FAST,
    { cohereDatasetQueuedMs: 10, cohereDatasetProcessingMs: 20, cohereJobProcessingMs: 50 } as never,
  ));

test('a batch whose index version was dropped meanwhile is rejected, and its run still finalizes', () =>
  withSim(
    async (sim, ctx) => {
      sim.set({ batchStuckFinalizing: true } as never);
      const r = await runIngest(ctx, { paths: [corpus(3)], index: 'gone', model: MODEL, dims: 64, chunkTokens: 40, chunkOverlap: 0, mode: 'batch', wait: false });
      const { startWorkers } = await import('../../workers/runtime.ts');
      const w = await startWorkers(ctx);
      try {
        const b = await waitFor(async () => (await listBatches(ctx.db)).find((x) => x.status === 'finalizing'), 'the batch to reach finalizing');
        // The version goes away while the provider holds the batch (an aborted reembed, a dropped index).
        await ctx.db.query(`UPDATE index_versions SET state = 'dropped' WHERE id = $1`, [b!.indexVersionId]);
        const { runBatchCancel } = await import('../../src/cli/commands/batches.ts');
        await runBatchCancel(ctx, b!.id);
        const done = await waitFor(async () => ((await ctx.runs.get(r.runId))!.finalized ? true : undefined), 'the run to finalize');
        expect(done).toBe(true);
        expect((await listBatches(ctx.db)).find((x) => x.id === b!.id)).toMatchObject({ status: 'rejected', errors: { reason: 'index version dropped' } });
      } finally {
        await w.close();
      }
    },
    FAST,
    SIM,
  ));
