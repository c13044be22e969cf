/**
 * Enqueueing embed work for cache misses: as sync embed jobs packed by the provider's per-request
 * limits, or into the pending table for a provider batch. Either way the run learns of the work
 * before it is queued, so it never looks finished while work is outstanding.
 */
import { packRequests } from '../src/providers/pack.ts';
import { contentJobId } from '../src/queue/names.ts';
import { queuePending } from '../src/store/batches.ts';
import type { IndexVersion } from '../src/store/indexes.ts';
import type { Context } from '../src/context.ts';
import type { EmbedPayload } from './embed.ts';

export interface Miss {
  chunkId: string;
  inputHash: Buffer;
  tokens: number;
}

export async function enqueueEmbedJobs(ctx: Context, run: { runId: string; tenant: string }, target: Pick<IndexVersion, 'id' | 'modelVersionId'>, misses: Miss[], salt = ''): Promise<string[]> {
  if (misses.length === 0) return [];
  const { provider } = await ctx.providers.get(target.modelVersionId);
  const spec = provider.model.spec;
  const maxInputs = Math.min(spec.maxInputsPerRequest, ctx.config.worker.embedBatch);
  const maxTokens = Math.floor(spec.maxTokensPerRequest * 0.9);
  const batches = packRequests(misses.map((m) => m.tokens), maxInputs, maxTokens).map((sl) => misses.slice(sl.start, sl.end));
  const jobs = batches.map((b) => {
    const items = b.map((m) => [m.chunkId, m.inputHash.toString('hex')] as [string, string]);
    const jobId = contentJobId('embed', run.runId, target.id, salt, ...items.flat());
    const data: EmbedPayload = { runId: run.runId, indexVersionId: target.id, tenant: run.tenant, items };
    return { name: 'embed', data, opts: { jobId } };
  });
  await ctx.runs.addEmbedJobs(run.runId, jobs.map((j) => j.opts.jobId));
  await ctx.queues.embed.addBulk(jobs);
  return jobs.map((j) => j.opts.jobId);
}

/**
 * Puts misses into the pending table and enqueues a submit job that gathers them into a provider
 * batch. The submit job is registered on the run first; it registers the batch it creates.
 */
export async function enqueueForBatch(ctx: Context, run: { runId: string; tenant: string }, target: Pick<IndexVersion, 'id'>, misses: Miss[], fromJob: string): Promise<void> {
  if (misses.length === 0) return;
  await queuePending(ctx.db, misses.map((m) => ({ indexVersionId: target.id, chunkId: m.chunkId, inputHash: m.inputHash, tenant: run.tenant, runId: run.runId, tokens: m.tokens })));
  const jobId = contentJobId('bsubmit', run.runId, target.id, fromJob);
  await ctx.runs.addEmbedJobs(run.runId, [jobId]);
  await ctx.queues.batches.add('batch-submit', { runId: run.runId, indexVersionId: target.id, tenant: run.tenant }, { jobId });
}
