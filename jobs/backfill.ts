/**
 * `reembed` queue, job `backfill`: walks the index's chunks by keyset pages into the reembed's
 * target through the cache → embed job / provider batch path, recording the cursor after each
 * page's misses are queued. A worker killed mid-walk is replaced by BullMQ (stalled job), and the
 * job resumes from the recorded cursor.
 */
import type { Job } from 'bullmq';
import { z } from 'zod';
import { tokenizerFor } from '../src/corpus/tokenizer.ts';
import { NonRetryableError } from '../src/errors.ts';
import { backfillPage } from '../src/reembed/backfill.ts';
import { getReembed, setCursor } from '../src/reembed/store.ts';
import type { RunCounters } from '../src/queue/runs.ts';
import { getIndexVersion } from '../src/store/indexes.ts';
import type { Context } from '../src/context.ts';
import { defineJob, enqueue } from './define.ts';
import { runId, tenantId } from './fields.ts';
import { enqueueEmbedJobs, enqueueForBatch } from './enqueue.ts';

export interface BackfillPayload {
  migrationId: string;
  /** The run that tracks the backfill's work (see reembedRunId). */
  runId: string;
  tenant: string;
}

const backfillPayloadSchema = z.strictObject({ migrationId: z.string().regex(/^\d{1,19}$/, 'a reembed id'), runId, tenant: tenantId }) satisfies z.ZodType<BackfillPayload>;

/** Chunks per page. @default 2000 */
export const BACKFILL_PAGE = 2000;

async function handleBackfill(ctx: Context, job: Job<BackfillPayload>): Promise<Partial<RunCounters>> {
  const { db } = ctx;
  const m = await getReembed(db, job.data.migrationId);
  if (!m) throw new NonRetryableError(`reembed ${job.data.migrationId} does not exist`);
  const totals = { chunks: 0, cacheHits: 0 };
  if (m.state !== 'backfilling' || m.backfillDone) return totals;
  const target = (await getIndexVersion(db, m.targetVersionId))!;
  const { provider } = await ctx.providers.get(target.modelVersionId);
  const tokenizer = tokenizerFor(provider.model.spec.tokenizer);
  let cursor = m.backfillCursor;
  for (;;) {
    // A reembed aborted meanwhile stops the walk.
    const now = await getReembed(db, m.id);
    if (!now || now.state !== 'backfilling') break;
    const page = await backfillPage({ db, indexId: m.indexId, target, cursor, pageSize: BACKFILL_PAGE, tokenizer });
    totals.chunks += page.chunks;
    totals.cacheHits += page.cacheHits;
    await ctx.runs.live(job.data.runId, { chunks: page.chunks, done: page.cacheHits, hits: page.cacheHits });
    for (const [tenant, misses] of page.misses) {
      const run = { runId: job.data.runId, tenant };
      if (m.mode === 'batch') await enqueueForBatch(ctx, run, target, misses, `${job.id}-${page.cursor}`);
      else await enqueueEmbedJobs(ctx, run, target, misses);
    }
    await setCursor(db, m.id, page.cursor, page.done);
    cursor = page.cursor;
    await job.updateProgress({ cursor, chunks: totals.chunks });
    if (page.done) break;
  }
  return totals;
}

export const backfillJob = defineJob({
  name: 'backfill',
  // Queue `reembed` runs job `backfill`. The names differ on purpose: a queue's name is part of its
  // Redis keys, so renaming it would strand the backfills a running deployment has queued.
  queue: 'reembed',
  schema: backfillPayloadSchema,
  handler: handleBackfill,
  attempts: 10,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: 7 * 24 * 3600, count: 100 },
  removeOnFail: { age: 30 * 24 * 3600 },
  concurrency: 1,
  // The reembed run's one ingest piece: the walk that discovers the work.
  run: { as: 'ingest', counters: true },
  // Unique per reembed even across a recreated database (see reembedRunId).
  jobId: (p) => `backfill-${p.runId}`,
});

/** Enqueues a reembed's backfill (its run must be recorded first, with one ingest piece). */
export const enqueueBackfill = (ctx: Context, payload: BackfillPayload) => enqueue(ctx, backfillJob, payload);
