/**
 * The job catalog: every job embedq runs, each a definition exported by its own file (see
 * jobs/define.ts for what a definition holds). workers/runtime.ts starts one BullMQ Worker per
 * queue named here and dispatches by job name; jobs/validate.ts checks payloads against the
 * definitions' schemas. A definition without a handler or schema fails the type check.
 */
import type { Config } from '../src/config/schema.ts';
import type { Context } from '../src/context.ts';
import type { QueueName } from '../src/queue/names.ts';
import { backfillJob } from './backfill.ts';
import { batchPollJob } from './batch-poll.ts';
import { batchSubmitJob } from './batch-submit.ts';
import { cacheGcJob } from './cache-gc.ts';
import { fromConfig, jobOptions, type AnyJob } from './define.ts';
import { embedJob } from './embed.ts';
import { finalizeJob } from './finalize.ts';
import { ingestJob } from './ingest.ts';
import { ledgerSweepJob } from './ledger-sweep.ts';
import { scheduledIngestJob } from './scheduled-ingest.ts';
import { spendRollupJob } from './spend-rollup.ts';

export const CATALOG: readonly AnyJob[] = [ingestJob, embedJob, finalizeJob, batchSubmitJob, batchPollJob, backfillJob, scheduledIngestJob, cacheGcJob, spendRollupJob, ledgerSweepJob];

/** The jobs of each queue, by job name. */
export const JOBS_BY_QUEUE: ReadonlyMap<QueueName, ReadonlyMap<string, AnyJob>> = (() => {
  const m = new Map<QueueName, Map<string, AnyJob>>();
  for (const def of CATALOG) {
    const jobs = m.get(def.queue) ?? new Map<string, AnyJob>();
    if (jobs.has(def.name)) throw new Error(`two ${def.queue} jobs are named ${def.name}`);
    m.set(def.queue, jobs.set(def.name, def));
  }
  return m;
})();

/** The definition of a job a queue holds, if embedq has one of that name. */
export const jobOf = (queue: QueueName, name: string): AnyJob | undefined => JOBS_BY_QUEUE.get(queue)?.get(name);

/** How many jobs of `queue` one worker process runs at once (its jobs must agree: one Worker serves the queue). */
export function concurrencyOf(queue: QueueName, config: Config): number {
  const values = new Set([...(JOBS_BY_QUEUE.get(queue)?.values() ?? [])].map((d) => fromConfig(d.concurrency, config)));
  if (values.size !== 1) throw new Error(`the jobs of queue ${queue} disagree on their concurrency (${[...values].join(', ')})`);
  return [...values][0]!;
}

export interface SystemSchedule {
  /** The BullMQ job scheduler's name: the job's. */
  name: string;
  queue: QueueName;
  jobName: string;
  every: (config: Config) => number;
  what: string;
}

/** The system's own schedules, from the definitions that declare one. */
export const SYSTEM_SCHEDULES: readonly SystemSchedule[] = CATALOG.flatMap((d) => (d.schedule ? [{ name: d.name, queue: d.queue, jobName: d.name, every: d.schedule.every, what: d.schedule.what }] : []));

/**
 * Upserts the system's schedules by name: every worker declares the same ones, so each exists
 * once and survives restarts.
 */
export async function upsertSystemSchedules(ctx: Context, config: Config): Promise<void> {
  for (const s of SYSTEM_SCHEDULES) await ctx.queues[s.queue].upsertJobScheduler(s.name, { every: s.every(config) }, { name: s.jobName, data: {}, opts: jobOptions(jobOf(s.queue, s.jobName)!, config) });
}
