/**
 * `batch-poll` job (queue `batches`), made by a system schedule (a BullMQ job scheduler, not a
 * sleeping loop): checks open provider batches and reads the finished ones back, re-queues what
 * failed through the sync path, ledgers and settles each batch's piece of its run.
 */
import type { Job } from 'bullmq';
import { coerceError } from '../src/errors.ts';
import { ingestBatchResults } from '../src/pipeline/batch-results.ts';
import { PROVIDER_DONE, getBatch, listBatches, markReadBack, pollOf, recordPoll, type BatchRow } from '../src/store/batches.ts';
import { tryLockBatch, unlockBatch } from '../src/store/locks.ts';
import { getIndexVersion } from '../src/store/indexes.ts';
import { recordLedger } from '../src/store/ledger.ts';
import type { Context } from '../src/context.ts';
import { providerSpan } from '../src/telemetry.ts';
import { batchRunJobId } from './batch-submit.ts';
import { defineJob } from './define.ts';
import { enqueueEmbedJobs } from './enqueue.ts';
import { noData } from './fields.ts';
import { settlePiece } from './settle.ts';
import { BATCHES } from './shared-queues.ts';

/** Polls every open batch once; reads finished ones back. Returns what it did, for the job log. */
async function pollBatches(ctx: Context): Promise<{ polled: number; ingested: number }> {
  let polled = 0;
  let ingested = 0;
  for (const b of await listBatches(ctx.db, { open: true, limit: 500 })) {
    if (!b.providerBatchId) continue;
    try {
      const { batchClient } = await ctx.batchClients.get(b.modelVersionId);
      const pb = await batchClient.retrieve(b.providerBatchId);
      polled++;
      await recordPoll(ctx.db, b.id, pollOf(pb));
      if (PROVIDER_DONE.includes(pb.status as BatchRow['status'])) {
        await readBack(ctx, (await getBatch(ctx.db, b.id))!);
        ingested++;
      }
    } catch (e) {
      ctx.logger.warn({ batch: b.id, err: coerceError(e).message }, 'batch poll failed; will retry on the next poll');
    }
  }
  return { polled, ingested };
}

/**
 * Reads a finished batch back. A session advisory lock keeps two pollers from reading the same
 * batch at once; a crash releases it with the connection.
 */
async function readBack(ctx: Context, batch: BatchRow): Promise<void> {
  const lock = await ctx.db.connect();
  try {
    if (!(await tryLockBatch(lock, batch.id))) return;
    const fresh = await getBatch(ctx.db, batch.id);
    if (!fresh || fresh.ingestedAt) return;
    await readBackLocked(ctx, fresh);
  } finally {
    await unlockBatch(lock, batch.id);
    lock.release();
  }
}

async function readBackLocked(ctx: Context, batch: BatchRow): Promise<void> {
  const version = await getIndexVersion(ctx.db, batch.indexVersionId);
  const { mv, batchClient } = await ctx.batchClients.get(batch.modelVersionId);
  const run = { runId: batch.runId, tenant: batch.tenant };
  if (!version || version.state === 'dropped') {
    await markReadBack(ctx.db, batch.id, { status: 'rejected', errors: { reason: 'index version dropped' } });
    await settlePiece(ctx, batch.runId, batchRunJobId(batch.id), 'embed', true);
    return;
  }
  const spec = mv.resolved.spec;
  // A batch's results are its provider call, as a sync attempt's answer is: one `embeddings {model}` span, mode batch.
  const { r, costUsd } = await providerSpan(
    { provider: spec.provider, model: spec.model, modelVersion: mv.resolved.key, deployment: mv.provider, attempt: 1, inputs: batch.inputs, mode: 'batch', batchId: batch.providerBatchId ?? batch.id },
    async (span) => {
      const r = await ingestBatchResults({ db: ctx.db, client: batchClient, batch, model: mv.resolved, version });
      const costUsd = (r.tokensBilled / 1e6) * (spec.priceBatchPerMTok ?? spec.priceSyncPerMTok);
      span.answered({ inputTokens: r.tokensBilled, costUsd });
      return { r, costUsd };
    },
  );
  await recordLedger(ctx.db, [
    { tenant: batch.tenant, provider: mv.provider, modelVersionId: batch.modelVersionId, mode: 'batch', status: 'ok', inputs: r.completed, tokens: r.tokensBilled, costUsd, batchId: batch.providerBatchId, runId: batch.runId },
    ...groupReasons(r.retry).map(([reason, n]) => ({ tenant: batch.tenant, provider: mv.provider, modelVersionId: batch.modelVersionId, mode: 'batch' as const, status: 'error' as const, inputs: n, tokens: 0, error: reason, batchId: batch.providerBatchId, runId: batch.runId })),
  ]);
  // Failed requests go through the sync path; the run waits for those jobs too.
  if (r.retry.length) await enqueueEmbedJobs(ctx, run, version, r.retry, `batch-${batch.id}`);
  const rejected = r.problems.some((x) => x.includes('never written'));
  await markReadBack(ctx.db, batch.id, {
    status: batch.status === 'failed' ? 'failed' : rejected ? 'rejected' : 'ingested',
    completed: r.written,
    failed: r.retry.length,
    tokensBilled: r.tokensBilled,
    ...(r.problems.length ? { errors: { problems: r.problems.slice(0, 50) } } : {}),
  });
  await settlePiece(ctx, batch.runId, batchRunJobId(batch.id), 'embed', true, { embedded: r.written, tokens: r.tokensBilled, costNanoUsd: Math.round(costUsd * 1e9) });
}

function groupReasons(items: { reason: string }[]): [string, number][] {
  const m = new Map<string, number>();
  for (const i of items) m.set(i.reason, (m.get(i.reason) ?? 0) + 1);
  return [...m];
}

export const batchPollJob = defineJob({
  name: 'batch-poll',
  ...BATCHES,
  schema: noData,
  handler: (ctx: Context, _job: Job<Record<string, never>>) => pollBatches(ctx),
  schedule: { every: (c) => c.batch.pollMs, what: 'poll open provider batches; read finished ones back' },
});
