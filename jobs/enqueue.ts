/**
 * Enqueueing embed work for cache misses: as sync embed jobs packed by the provider's per-request
 * limits, or into the pending table for a provider batch. Either way the run learns of the work
 * before it is queued, so it never looks finished while work is outstanding.
 */
import { packRequests } from '../src/providers/pack.ts';
import { queuePending } from '../src/store/batches.ts';
import type { IndexVersion } from '../src/store/indexes.ts';
import type { Context } from '../src/context.ts';
import { enqueueBatchSubmit } from './batch-submit.ts';
import { enqueueEmbeds, type EmbedPayload } from './embed.ts';

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
  const payloads = batches.map((b): EmbedPayload => ({ runId: run.runId, indexVersionId: target.id, tenant: run.tenant, items: b.map((m) => [m.chunkId, m.inputHash.toString('hex')]) }));
  return await enqueueEmbeds(ctx, run.runId, payloads, salt);
}

/**
 * Puts misses into the pending table and enqueues a submit job that gathers them into a provider
 * batch. The submit job is registered on the run first; it registers the batch it creates.
 */
export async function enqueueForBatch(ctx: Context, run: { runId: string; tenant: string }, target: Pick<IndexVersion, 'id'>, misses: Miss[], fromJob: string): Promise<void> {
  if (misses.length === 0) return;
  await queuePending(ctx.db, misses.map((m) => ({ indexVersionId: target.id, chunkId: m.chunkId, inputHash: m.inputHash, tenant: run.tenant, runId: run.runId, tokens: m.tokens })));
  await enqueueBatchSubmit(ctx, { runId: run.runId, indexVersionId: target.id, tenant: run.tenant }, fromJob);
}
