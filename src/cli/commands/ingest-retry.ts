import type { Context } from '../../context.ts';
import { removeFinalize } from '../../../jobs/finalize.ts';
import { pingRedis } from '../../queue/connection.ts';
import { runAndWait } from '../run-wait.ts';

export interface RetrySummary {
  retried: number;
  runs: string[];
  failedJobs: number;
  embedded: number;
  durationMs: number;
}

/**
 * `embedq ingest --retry-failed`: puts every finally-failed ingest and embed job back in the
 * queue (same ids, so their runs count them once) and waits for their runs to settle again.
 */
export async function runRetryFailed(ctx: Context, o: { wait?: boolean; localWorker?: boolean; progress?: boolean }): Promise<RetrySummary> {
  const started = Date.now();
  await pingRedis(ctx.config.redisUrl);
  const { runs, queues } = ctx;
  const failed = [...(await queues.ingest.getFailed(0, -1)), ...(await queues.embed.getFailed(0, -1)), ...(await queues.batches.getFailed(0, -1))].filter(
    (j) => typeof (j.data as { runId?: unknown }).runId === 'string',
  );
  const runIds = [...new Set(failed.map((j) => (j.data as { runId: string }).runId))];
  const before = new Map<string, number>();
  for (const id of runIds) {
    before.set(id, (await runs.get(id))?.embedded ?? 0);
    await runs.reopen(id);
    // The run's finalize job ran already; remove it so settling the retried jobs enqueues it again.
    await removeFinalize(ctx, id);
  }
  for (const job of failed) await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
  if (o.wait !== false && failed.length) await runAndWait(ctx, runIds, { label: 'retry', localWorker: o.localWorker, progress: o.progress });
  let failedJobs = 0;
  let embedded = 0;
  for (const id of runIds) {
    const s = await runs.get(id);
    failedJobs += s?.failedJobs ?? 0;
    embedded += (s?.embedded ?? 0) - (before.get(id) ?? 0);
  }
  return { retried: failed.length, runs: runIds, failedJobs, embedded, durationMs: Date.now() - started };
}

