/**
 * `finalize` job: after a run settles, build the HNSW index of every target version that has
 * none yet (bulk loads build it after the load) and mark the run finalized.
 */
import type { Job } from 'bullmq';
import { z } from 'zod';
import { finalizeIndexVersion, getIndex } from '../src/store/indexes.ts';
import { reembedOfRun, targetsStillBackfilling, writeTargets } from '../src/reembed/store.ts';
import { advanceAfterBackfill } from '../src/reembed/validate.ts';
import { dropDocClaims } from '../src/queue/doc-claims.ts';
import type { Context } from '../src/context.ts';
import { defineJob, enqueue } from './define.ts';
import { indexName, runId } from './fields.ts';

export interface FinalizePayload {
  runId: string;
  index: string;
}

async function handleFinalize(ctx: Context, job: Job<FinalizePayload>): Promise<{ built: number }> {
  await ctx.runs.markFinalizing(job.data.runId);
  const index = await getIndex(ctx.db, job.data.index);
  let built = 0;
  if (index) {
    // A reembed's target still being backfilled gets its HNSW index when its own backfill ends,
    // not when an unrelated run does: building it early would slow the rest of the load.
    const skip = new Set(await targetsStillBackfilling(ctx.db, reembedOfRun(job.data.runId)));
    for (const t of await writeTargets(ctx.db, index.id)) if (!skip.has(t.id) && (await finalizeIndexVersion(ctx.db, t.id)).built) built++;
  }
  // A reembed's backfill run ends in its quality gate (and, when it passes, the cutover).
  const reembed = reembedOfRun(job.data.runId);
  if (reembed) await advanceAfterBackfill(ctx.db, ctx.providers, reembed);
  await ctx.runs.markFinalized(job.data.runId);
  await dropDocClaims(ctx.redis, ctx.config.redisPrefix, job.data.runId);
  return { built };
}

/** One per run: the job that settles a run's last piece enqueues it, once. */
const finalizeId = (runId: string) => `finalize-${runId}`;

export const finalizeJob = defineJob({
  name: 'finalize',
  queue: 'finalize',
  schema: z.strictObject({ runId, index: indexName }) satisfies z.ZodType<FinalizePayload>,
  handler: handleFinalize,
  attempts: 3,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
  concurrency: 1,
  jobId: (p) => finalizeId(p.runId),
});

/** Enqueues a run's finalize job (a no-op while a job of that id is kept in the queue). */
export const enqueueFinalize = (ctx: Context, payload: FinalizePayload) => enqueue(ctx, finalizeJob, payload);

/** Removes a run's finalize job, so settling the run again enqueues it again (`embedq ingest --retry-failed`). */
export async function removeFinalize(ctx: Context, runId: string): Promise<void> {
  await ctx.queues[finalizeJob.queue].remove(finalizeId(runId));
}
