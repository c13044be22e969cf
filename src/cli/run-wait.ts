import type { Queues } from '../queue/producer.ts';
import type { RunTracker } from '../queue/runs.ts';
import type { Db } from '../store/db.ts';
import type { Progress } from './progress.ts';

/**
 * Waits until a run is finalized, updating the progress line. If nothing is queued, no provider
 * batch of the run is still out, and nothing moves for a while, a settle was lost (a worker died
 * between failing a job and recording it): stop waiting rather than hang.
 */
export async function waitForRun(runs: RunTracker, queues: Queues, db: Db, runId: string, progress: Progress, localWorker: boolean): Promise<void> {
  let idlePolls = 0;
  for (;;) {
    const s = (await runs.get(runId))!;
    progress.update({
      done: Math.min(s.live.done, s.live.chunks),
      total: s.live.chunks,
      label: 'chunks',
      extra: `cache hits ${s.live.hits}  embed jobs ${s.embedSettled}/${s.embedJobs}  read ${s.ingestSettled}/${s.ingestJobs} slices${s.failedJobs ? `  FAILED JOBS ${s.failedJobs}` : ''}`,
    });
    if (s.finalized) break;
    const counts = await Promise.all(
      [queues.ingest, queues.embed, queues.finalize, queues.batches, queues.reembed].map((q) => q.getJobCounts('waiting', 'active', 'prioritized', 'waiting-children')),
    );
    const queued = counts.reduce((a, c) => a + Object.values(c).reduce((x, y) => x + y, 0), 0);
    // Delayed jobs (retry backoff) count as work too, but not the batch poller's next tick.
    const delayed = (await Promise.all([queues.ingest, queues.embed, queues.finalize, queues.reembed].map((q) => q.getDelayedCount()))).reduce((a, b) => a + b, 0);
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM provider_batches WHERE run_id = $1 AND ingested_at IS NULL`, [runId]);
    idlePolls = queued + delayed + rows[0]!.n === 0 ? idlePolls + 1 : 0;
    if (idlePolls >= (localWorker ? 20 : 120)) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  progress.done();
}
