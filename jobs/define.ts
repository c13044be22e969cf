/**
 * The shape of a job definition: everything about one job in one object, exported by its file
 * and listed in jobs/catalog.ts. workers/runtime.ts reads only these fields, never a job's name.
 * Modelled on trigger.dev's WorkerCatalog (schema, retry and cron per entry) and graphile-worker,
 * whose loop never names a task.
 */
import type { BackoffOptions, Job, JobsOptions, KeepJobs } from 'bullmq';
import type { z } from 'zod';
import type { Config } from '../src/config/schema.ts';
import type { Context } from '../src/context.ts';
import type { QueueName } from '../src/queue/names.ts';
import { currentTraceparent } from '../src/telemetry.ts';

/** A number, or one read from the config. */
export type FromConfig = number | ((config: Config) => number);

/**
 * How a job counts toward the run its payload names: as the run's ingest piece (the walk that
 * discovers the work) or as one embed piece; `counters` says whether its result's counters are
 * added to the run when it completes.
 */
export interface RunShare {
  as: 'ingest' | 'embed';
  counters: boolean;
}

export interface JobDefinition<P, R = unknown, O extends unknown[] = []> {
  /** The BullMQ job name. */
  name: string;
  /** The BullMQ queue it runs on. Queue names are part of the Redis keys: renaming one strands the jobs queued under the old name. */
  queue: QueueName;
  /** What a payload may say; checked before the handler runs (jobs/validate.ts). */
  schema: z.ZodType<NoInfer<P>>;
  /** Checks beyond the schema, against what is recorded; returns why the job is refused, if it is. */
  check?: (ctx: Context, job: Job<NoInfer<P>>) => Promise<string | undefined>;
  handler: (ctx: Context, job: Job<P>) => Promise<R>;
  /** Attempts before the job fails for good. */
  attempts: FromConfig;
  backoff: BackoffOptions;
  /** How long finished jobs stay (for the dashboard). */
  removeOnComplete: KeepJobs;
  removeOnFail: KeepJobs;
  /**
   * Jobs of this queue one worker process runs at once (a BullMQ Worker serves a whole queue,
   * so jobs sharing a queue must agree).
   */
  concurrency: FromConfig;
  /** How it counts toward a run; absent: not at all. */
  run?: P extends { runId: string } ? RunShare : never;
  /**
   * The job's id, from its content: enqueueing the same work twice is a no-op. `origin` is what
   * made the job when the payload alone does not tell two apart. Absent for jobs only a job
   * scheduler makes (BullMQ names those).
   */
  jobId?: (payload: P, ...origin: O) => string;
  /** A system schedule (a BullMQ job scheduler named like the job, upserted by every worker). */
  schedule?: { every: (config: Config) => number; what: string };
}

/** Any definition, as the catalog lists them. */
export type AnyJob = JobDefinition<any, any, any>;

/** Infers a definition's payload and result types from its handler (the schema must fit them). */
export function defineJob<P, R, O extends unknown[] = []>(def: JobDefinition<P, R, O>): JobDefinition<P, R, O> {
  return def;
}

export const fromConfig = (v: FromConfig, config: Config): number => (typeof v === 'function' ? v(config) : v);

/** The BullMQ options every job of `def` is added with (and its job schedulers' template). */
export function jobOptions(def: AnyJob, config: Config): JobsOptions {
  return { attempts: fromConfig(def.attempts, config), backoff: def.backoff, removeOnComplete: def.removeOnComplete, removeOnFail: def.removeOnFail };
}

/** Adds one job of `def` with its options and content-derived id. */
export async function enqueue<P, O extends unknown[]>(ctx: Context, def: JobDefinition<P, unknown, O>, payload: P, ...origin: O): Promise<string> {
  const jobId = idOf(def, payload, ...origin);
  await ctx.queues[def.queue].add(def.name, traced(payload), { ...jobOptions(def, ctx.config), jobId });
  return jobId;
}

/**
 * The payload with the active span's W3C `traceparent` (src/telemetry.ts), so the job's span is
 * its child in whichever worker runs it; as it is without tracing. The id is derived before, from
 * the payload alone. jobs/validate.ts checks the field's form and hands the rest to the schema.
 */
function traced<P>(payload: P): P {
  const traceparent = currentTraceparent();
  return traceparent ? { ...payload, traceparent } : payload;
}

/** Adds jobs of `def` at once (one round trip), each with its content-derived id. */
export async function enqueueBulk<P, O extends unknown[]>(ctx: Context, def: JobDefinition<P, unknown, O>, jobs: { payload: P; jobId: string }[]): Promise<void> {
  const opts = jobOptions(def, ctx.config);
  await ctx.queues[def.queue].addBulk(jobs.map((j) => ({ name: def.name, data: traced(j.payload), opts: { ...opts, jobId: j.jobId } })));
}

/** The id {@link enqueue} gives a job of `def`. */
export function idOf<P, O extends unknown[]>(def: JobDefinition<P, unknown, O>, payload: P, ...origin: O): string {
  if (!def.jobId) throw new Error(`${def.name} jobs are made by a job scheduler, not enqueued`);
  return def.jobId(payload, ...origin);
}
