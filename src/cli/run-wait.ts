import type { Context } from '../context.ts';
import { lostService } from '../outage.ts';
import { redactUrl } from '../config/redact.ts';
import type { Queues } from '../queue/producer.ts';
import type { RunState, RunTracker } from '../queue/runs.ts';
import type { Db } from '../store/db.ts';
import { liveWorkers } from '../../workers/heartbeat.ts';
import { fmtDuration, type Progress } from './progress.ts';

/**
 * Waits until a run is finalized, updating the progress line. If nothing is queued, no provider
 * batch of the run is still out, and nothing moves for a while, a settle was lost (a worker died
 * between failing a job and recording it): stop waiting rather than hang.
 *
 * A poll that fails because Redis or Postgres went away (a restart) is reported once through
 * `ctx.outages` and retried: the run goes on in the workers, so the wait goes on too. When the
 * run makes no progress for `config.stallNoticeMs`, the progress line says so and names where
 * it expects a worker.
 */
export async function waitForRun(
  runs: RunTracker,
  queues: Queues,
  db: Db,
  runId: string,
  progress: Progress,
  localWorker: boolean,
  ctx?: Pick<Context, 'config' | 'outages' | 'redis'>,
  /**
   * Starts an in-process worker. Given, it is called when no worker heartbeat is live under the
   * prefix (checked every few seconds): a worker that was counted at the start may have died since
   * (a killed worker's entry lapses after HEARTBEAT.ttlMs).
   */
  startLocal?: () => Promise<void>,
): Promise<void> {
  let idlePolls = 0;
  let polls = 0;
  let lastSig = '';
  let lastMove = Date.now();
  let stallShown = false;
  for (;;) {
    let s: RunState;
    let idle: boolean;
    try {
      s = (await runs.get(runId))!;
      ctx?.outages.up('redis');
      if (!s.finalized) idle = (await queuedWork(queues, db, runId)) === 0;
      else idle = false;
      ctx?.outages.up('postgres');
    } catch (e) {
      const service = ctx && lostService(e, ctx.config);
      if (!ctx || !service) throw e;
      ctx.outages.down(service, e);
      await sleep(1000);
      continue;
    }
    const sig = `${s.live.done}/${s.live.chunks}/${s.ingestSettled}/${s.embedSettled}/${s.embedJobs}/${s.finalizeStartedAt}`;
    if (sig !== lastSig) [lastSig, lastMove, stallShown] = [sig, Date.now(), false];
    const stalledFor = Date.now() - lastMove;
    let stall = '';
    if (ctx && !s.finalized && stalledFor >= ctx.config.stallNoticeMs) {
      const seen = await liveWorkers(ctx.redis, ctx.config.redisPrefix).catch(() => undefined);
      stall = `  NO PROGRESS for ${fmtDuration(stalledFor)}: ${seen === 0 ? 'no worker is running' : `${seen ?? '?'} worker(s) seen but none is moving`} on ${redactUrl(ctx.config.redisUrl)} prefix ${ctx.config.redisPrefix}; start one with \`embedq worker\``;
    }
    progress.update({
      done: Math.min(s.live.done, s.live.chunks),
      total: s.live.chunks,
      label: 'chunks',
      extra: `cache hits ${s.live.hits}  embed jobs ${s.embedSettled}/${s.embedJobs}  read ${s.ingestSettled}/${s.ingestJobs} slices${s.failedJobs ? `  FAILED JOBS ${s.failedJobs}` : ''}${stall}`,
      // A new stall notice is printed at once, also where the line is otherwise drawn every few seconds.
      force: stall !== '' && !stallShown,
    });
    if (stall) stallShown = true;
    if (s.finalized) break;
    if (ctx && startLocal && !localWorker && ++polls % 20 === 0 && (await liveWorkers(ctx.redis, ctx.config.redisPrefix).catch(() => 1)) === 0) {
      await startLocal();
      localWorker = true;
    }
    idlePolls = idle ? idlePolls + 1 : 0;
    if (idlePolls >= (localWorker ? 20 : 120)) break;
    await sleep(250);
  }
  progress.done();
}

/** Jobs of any queue still to run (delayed retries included, not the batch poller's next tick) plus open provider batches of the run. */
async function queuedWork(queues: Queues, db: Db, runId: string): Promise<number> {
  const counts = await Promise.all(
    [queues.ingest, queues.embed, queues.finalize, queues.batches, queues.reembed].map((q) => q.getJobCounts('waiting', 'active', 'prioritized', 'waiting-children')),
  );
  const queued = counts.reduce((a, c) => a + Object.values(c).reduce((x, y) => x + y, 0), 0);
  const delayed = (await Promise.all([queues.ingest, queues.embed, queues.finalize, queues.reembed].map((q) => q.getDelayedCount()))).reduce((a, b) => a + b, 0);
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM provider_batches WHERE run_id = $1 AND ingested_at IS NULL`, [runId]);
  return queued + delayed + rows[0]!.n;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
