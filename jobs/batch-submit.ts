/**
 * `batch-submit` job (queue `batches`): gathers pending misses into a provider batch. A run
 * counts the submit job, then each batch it made, as outstanding work until it is read back
 * (jobs/batch-poll.ts).
 */
import type { Job } from 'bullmq';
import { z } from 'zod';
import { NonRetryableError, ProviderError } from '../src/errors.ts';
import { submitBatch } from '../src/pipeline/batch-submit.ts';
import { contentJobId } from '../src/queue/names.ts';
import { getIndexVersion } from '../src/store/indexes.ts';
import type { Context } from '../src/context.ts';
import { defineJob, enqueue, idOf } from './define.ts';
import { positiveId, runId, tenantId } from './fields.ts';
import { BATCHES } from './shared-queues.ts';

export interface BatchSubmitPayload {
  runId: string;
  indexVersionId: number;
  tenant: string;
}

/** The run-progress piece id of a provider batch. */
export const batchRunJobId = (batchId: string) => `batch-${batchId}`;

async function handleSubmit(ctx: Context, job: Job<BatchSubmitPayload>): Promise<Record<string, never>> {
  const p = job.data;
  const version = await getIndexVersion(ctx.db, p.indexVersionId);
  if (!version || version.state === 'dropped') throw new NonRetryableError(`index version ${p.indexVersionId} no longer exists`);
  const { mv, batchClient } = await ctx.batchClients.get(version.modelVersionId);
  let batch;
  try {
    batch = await submitBatch({ db: ctx.db, client: batchClient, model: mv.resolved, version, tenant: p.tenant, runId: p.runId, submitJobId: job.id! });
  } catch (e) {
    // A refusal (no batch permission, bad request) will not change by retrying: fail the job now,
    // visibly; `embedq ingest --retry-failed` resumes the same batch row once it is fixed.
    if (e instanceof ProviderError && !e.retryable) throw new NonRetryableError(e.message);
    throw e;
  }
  if (batch) await ctx.runs.addEmbedJobs(p.runId, [batchRunJobId(batch.id)]);
  return {};
}

export const batchSubmitJob = defineJob({
  name: 'batch-submit',
  ...BATCHES,
  schema: z.strictObject({ runId, indexVersionId: positiveId, tenant: tenantId }) satisfies z.ZodType<BatchSubmitPayload>,
  handler: handleSubmit,
  // An embed piece of its run; the batches it makes count on their own, when read back.
  run: { as: 'embed', counters: false },
  // `fromJob`: the job whose misses it gathers (one submit per ingest job, per backfill page).
  jobId: (p, fromJob: string) => contentJobId('bsubmit', p.runId, p.indexVersionId, fromJob),
});

/** Enqueues a submit job for misses `fromJob` put in the pending table; the run learns of it first. */
export async function enqueueBatchSubmit(ctx: Context, payload: BatchSubmitPayload, fromJob: string): Promise<void> {
  await ctx.runs.addEmbedJobs(payload.runId, [idOf(batchSubmitJob, payload, fromJob)]);
  await enqueue(ctx, batchSubmitJob, payload, fromJob);
}
