/**
 * Batch mode through Voyage's Batch API (the `openai` SDK on Voyage's base URL) and Mistral's
 * batch jobs (`@mistralai/mistralai`), each against the simulator's wire format for it, with real
 * Postgres, Redis and workers (issue #12, item 4).
 */
import { runIngest } from '../../src/cli/commands/ingest.ts';
import type { Context } from '../../src/context.ts';
import { submitBatch } from '../../src/pipeline/batch-submit.ts';
import type { BatchBackend } from '../../src/providers/batch-backend.ts';
import { createBatchBackend } from '../../src/providers/index.ts';
import { resolveModel } from '../../src/providers/models.ts';
import { listBatches, queuePending } from '../../src/store/batches.ts';
import { getIndex } from '../../src/store/indexes.ts';
import { inputHash } from '../../src/corpus/hash.ts';
import { samePairs } from '../support/assert.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { expect, test } from '../support/fixtures.ts';
import { withSim } from '../support/sim-context.ts';
import { startSimulator, type Simulator, type SimulatorOptions } from '../support/simulator/index.ts';

const FAST = { batch: { pollMs: 100, autoThreshold: 10_000 } };
const SIM: SimulatorOptions = { batchValidatingMs: 20, batchInProgressMs: 50, batchFinalizingMs: 20 };

const CASES = [
  // voyage-3.5 sizes its own output (request_params.output_dimension); 0.04 vs 0.06 per 1M tokens.
  { kind: 'voyage', model: 'voyage-3.5', dims: 256, url: (s: Simulator) => s.voyageUrl, stats: 'voyageBatch', prefix: '/voyage/', costRatio: 0.04 / 0.06 },
  // codestral-embed sizes its output per line (body.output_dimension); batch jobs are 50% off.
  { kind: 'mistral', model: 'codestral-embed', dims: 512, url: (s: Simulator) => s.mistralUrl, stats: 'mistralBatch', prefix: '/mistral/', costRatio: 0.5 },
] as const;

/** Sizes embedq makes itself from the native vector, in batch as in sync (batch-results.ts). */
const ADAPTED = [
  // 300 is not a size Voyage takes; voyage-3.5 is Matryoshka-trained: truncate + renormalise.
  { ...CASES[0], dims: 300, adapter: 'truncate', costRatio: CASES[0].costRatio },
  // mistral-embed is 1,024 only: 1,536 is zero-padded.
  { ...CASES[1], model: 'mistral-embed', dims: 1536, adapter: 'pad' },
] as const;

/** A simulator for the provider and a context whose `my-<kind>` provider points at it. */
async function withProvider(kind: string, url: (s: Simulator) => string, fn: (sim: Simulator, ctx: Context) => Promise<void>): Promise<void> {
  const sim = await startSimulator(SIM);
  try {
    const providers = { [`my-${kind}`]: { kind, baseUrl: url(sim), apiKey: `${kind}-test-0123456789` } };
    await withSim((_openai, ctx) => fn(sim, ctx), { ...FAST, providers });
  } finally {
    await sim.close();
  }
}

test.for([...CASES.map((c) => ({ ...c, adapter: 'provider' })), ...ADAPTED])('$kind $model at $dims dims ($adapter): a corpus indexed in batch mode equals the same corpus indexed in sync mode', async ({ kind, model, dims, url, stats, prefix, costRatio, adapter }) =>
  withProvider(kind, url, async (sim, ctx) => {
    expect(resolveModel(`my-${kind}/${model}`, dims, {}, ctx.config.providers).dimAdapter).toBe(adapter);
    const dir = writeCorpus(Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`d${i}.txt`, prose(i + 700, 12)])));
    const key = `my-${kind}/${model}`;
    const s = await runIngest(ctx, { paths: [dir], index: 'via_sync', model: key, dims, tenant: 'a', chunkTokens: 60, chunkOverlap: 0, mode: 'sync' });
    const b = await runIngest(ctx, { paths: [dir], index: 'via_batch', model: key, dims, tenant: 'b', chunkTokens: 60, chunkOverlap: 0, mode: 'batch' });
    expect(b.mode).toBe('batch');
    expect(b.failedJobs).toBe(0);
    expect(b.embedded).toBe(s.embedded);
    expect(s.chunks).toBeGreaterThan(3);
    expect(await samePairs(ctx, 'via_sync', 'via_batch', 1e-6)).toEqual({ pairs: s.chunks, equal: s.chunks });
    const [batch] = await listBatches(ctx.db);
    expect(batch).toMatchObject({ provider: `my-${kind}`, status: 'ingested', completed: s.chunks, failed: 0 });
    const { rows: ledger } = await ctx.db.query(`SELECT mode, sum(cost_usd)::float AS cost, sum(tokens)::int AS tokens FROM ledger WHERE status = 'ok' GROUP BY mode ORDER BY mode`);
    expect(ledger.map((l) => l.mode)).toEqual(['batch', 'sync']);
    // The tokens the provider billed in the output file, at the batch price.
    expect(ledger[0].tokens).toBe(ledger[1].tokens);
    expect(ledger[0].cost).toBeCloseTo(ledger[1].cost * costRatio, 12);
    const bs = sim.stats()[stats]!;
    expect(bs.batchesCreated).toBe(1);
    expect(bs.byStatus).toEqual({ completed: 1 });
    expect(bs.tokens).toBe(ledger[0].tokens);
    // Every call went to this provider's own routes.
    expect(sim.stats().log.every((e) => e.path.startsWith(prefix))).toBe(true);
  }),
);

test.for(CASES)('$kind: a crash between creating the batch and recording it does not create a second one', async ({ kind, model, dims, url, stats }) =>
  withProvider(kind, url, async (sim, ctx) => {
    const key = `my-${kind}/${model}`;
    const dir = writeCorpus({ 'a.txt': prose(811, 8), 'b.txt': prose(812, 8) });
    await runIngest(ctx, { paths: [dir], index: 'crashy', model: key, dims, chunkTokens: 40, chunkOverlap: 0, mode: 'sync' });
    const index = (await getIndex(ctx.db, 'crashy'))!;
    const { rows } = await ctx.db.query<{ id: string; text: string; tokens: number }>(`SELECT id::text AS id, text, tokens FROM chunks`);
    await queuePending(
      ctx.db,
      rows.map((t) => ({ indexVersionId: index.live.id, chunkId: t.id, inputHash: inputHash({ scope: 'default', modelKey: index.live.modelKey, dims, text: t.text }), tenant: 'default', runId: 'r1', tokens: t.tokens })),
    );
    const resolved = resolveModel(key, dims, {}, ctx.config.providers);
    const real = await createBatchBackend(resolved, ctx.config);
    // The process "dies" after the provider created the batch but before we recorded its id.
    const crashing = {
      upload: (p: string) => real.upload(p),
      findByMetadata: (k: string, v: string) => real.findByMetadata(k, v),
      create: async (...a: Parameters<BatchBackend['create']>) => {
        await real.create(...a);
        throw new Error('killed right after create');
      },
    } as unknown as BatchBackend;
    const input = { db: ctx.db, model: resolved, version: index.live, tenant: 'default', runId: 'r1', submitJobId: 'job-1' };
    await expect(submitBatch({ ...input, client: crashing })).rejects.toThrow(/killed/);
    const resumed = await submitBatch({ ...input, client: real });
    expect(resumed!.providerBatchId).toBeTruthy();
    expect((await real.findByMetadata('embedq_batch', resumed!.id))?.id).toBe(resumed!.providerBatchId);
    expect(sim.stats()[stats]!.batchesCreated).toBe(1);
  }),
);
