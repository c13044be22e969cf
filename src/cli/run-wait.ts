import type { Context } from '../context.ts';
import { lostService } from '../outage.ts';
import { redactUrl } from '../config/redact.ts';
import type { RunState } from '../queue/runs.ts';
import { openBatchCountOfRun } from '../store/batches.ts';
import { startWorkers, type RunningWorkers } from '../../workers/runtime.ts';
import { liveWorkers } from '../../workers/heartbeat.ts';
import { exitOnInterrupt } from './interrupt.ts';
import { fmtDuration, Progress } from './progress.ts';

export interface RunAndWaitOptions {
  /** Names the in-process worker: `embedq-<label>-<pid>`. */
  label: string;
  /** Start an in-process worker when no worker heartbeat is live under the prefix (`--no-local-worker` says false). @default true */
  localWorker?: boolean | undefined;
  /** Draw the progress line on stderr. @default false */
  progress?: boolean | undefined;
  /** Also start the in-process worker mid-run when every worker counted at the start has died. @default false */
  replaceLostWorker?: boolean | undefined;
  /**
   * Given: on SIGINT/SIGTERM, release the in-process worker's jobs, print the lines this returns
   * (told how many jobs were released, or undefined without an in-process worker) and exit 130.
   */
  onInterrupt?: ((released: number | undefined) => string[]) | undefined;
  /**
   * Runs once the in-process worker (if any) is up and before the wait: a producer that enqueues
   * the run's jobs while they are already being worked on (records streamed to the API).
   */
  before?: (() => Promise<unknown>) | undefined;
}

/**
 * Waits for runs as the commands that start them do: starts an in-process worker if no worker is
 * live, waits for each run in turn with a progress line, and closes the worker at the end.
 *
 * @example await runAndWait(ctx, runId, { label: 'reembed', localWorker: o.localWorker, progress: !out.json })
 */
export async function runAndWait(ctx: Context, runIds: string | readonly string[], o: RunAndWaitOptions): Promise<void> {
  const allowLocal = o.localWorker !== false;
  let local: RunningWorkers | undefined;
  const startLocal = async () => void (local ??= await startWorkers(ctx, { name: `embedq-${o.label}-${process.pid}` }));
  const onInterrupt = o.onInterrupt;
  const unwatch = onInterrupt ? exitOnInterrupt(async () => onInterrupt(await local?.release())) : undefined;
  try {
    if (allowLocal && (await liveWorkers(ctx.redis, ctx.config.redisPrefix)) === 0) await startLocal();
    await o.before?.();
    for (const runId of typeof runIds === 'string' ? [runIds] : runIds)
      await waitForRun(ctx, runId, { progress: new Progress(o.progress ?? false), localWorker: local !== undefined, ...(allowLocal && o.replaceLostWorker ? { startLocal } : {}) });
  } finally {
    unwatch?.();
    await local?.close();
  }
}

export interface WaitOptions {
  progress: Progress;
  /** An in-process worker runs the jobs: a queue idle this long means a lost settle sooner. */
  localWorker: boolean;
  /**
   * Starts an in-process worker. Given, it is called when no worker heartbeat is live under the
   * prefix (checked every few seconds): a worker that was counted at the start may have died since
   * (a killed worker's entry lapses after HEARTBEAT.ttlMs).
   */
  startLocal?: (() => Promise<void>) | undefined;
  /** Between polls of the run's state. @default 250 */
  pollMs?: number | undefined;
}

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
export async function waitForRun(ctx: Context, runId: string, o: WaitOptions): Promise<void> {
  const { progress, startLocal } = o;
  let localWorker = o.localWorker;
  let idlePolls = 0;
  let polls = 0;
  let lastSig = '';
  let lastMove = Date.now();
  let stallShown = false;
  // Woken by the finalize job's announcement; the poll is the fallback (and drives the progress line).
  const watch = await ctx.runs.watchFinalized(runId);
  try {
    for (;;) {
      let s: RunState;
      let idle: boolean;
      try {
        s = (await ctx.runs.get(runId))!;
        ctx.outages.up('redis');
        if (!s.finalized) idle = (await queuedWork(ctx, runId)) === 0;
        else idle = false;
        ctx.outages.up('postgres');
      } catch (e) {
        const service = lostService(e, ctx.config);
        if (!service) throw e;
        ctx.outages.down(service, e);
        await sleep(1000);
        continue;
      }
      const sig = `${s.live.done}/${s.live.chunks}/${s.ingestSettled}/${s.embedSettled}/${s.embedJobs}/${s.finalizeStartedAt}`;
      if (sig !== lastSig) [lastSig, lastMove, stallShown] = [sig, Date.now(), false];
      const stalledFor = Date.now() - lastMove;
      let stall = '';
      if (!s.finalized && stalledFor >= ctx.config.stallNoticeMs) {
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
      if (startLocal && !localWorker && ++polls % 20 === 0 && (await liveWorkers(ctx.redis, ctx.config.redisPrefix).catch(() => 1)) === 0) {
        await startLocal();
        localWorker = true;
      }
      idlePolls = idle ? idlePolls + 1 : 0;
      if (idlePolls >= (localWorker ? 20 : 120)) break;
      await watch.nap(o.pollMs ?? 250);
    }
  } finally {
    watch.close();
  }
  progress.done();
}

/** Jobs of any queue still to run (delayed retries included, not the batch poller's next tick) plus open provider batches of the run. */
async function queuedWork(ctx: Context, runId: string): Promise<number> {
  const { queues } = ctx;
  const counts = await Promise.all(
    [queues.ingest, queues.embed, queues.finalize, queues.batches, queues.reembed].map((q) => q.getJobCounts('waiting', 'active', 'prioritized', 'waiting-children')),
  );
  const queued = counts.reduce((a, c) => a + Object.values(c).reduce((x, y) => x + y, 0), 0);
  const delayed = (await Promise.all([queues.ingest, queues.embed, queues.finalize, queues.reembed].map((q) => q.getDelayedCount()))).reduce((a, b) => a + b, 0);
  return queued + delayed + (await openBatchCountOfRun(ctx.db, runId));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
