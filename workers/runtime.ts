/**
 * Binds the job catalog to BullMQ workers: one Worker per queue, dispatching by job name. Each
 * job that counts toward a run settles its piece when it finishes (counted once per job id, in
 * Redis) or finally fails; the piece that settles a run's last one enqueues its finalize job
 * (jobs/settle.ts). Nothing here names a queue or a job: it all comes from the definitions.
 */
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { withDrain, type Context } from '../src/context.ts';
import type { Config } from '../src/config/schema.ts';
import { redactError } from '../src/config/redact.ts';
import { DelayJobError, InvalidPayloadError, coerceError } from '../src/errors.ts';
import { lostService } from '../src/outage.ts';
import { createRedis, downFor } from '../src/queue/connection.ts';
import type { QueueName } from '../src/queue/names.ts';
import type { RunCounters } from '../src/queue/runs.ts';
import { AttemptTracker, NO_STALL_LIMIT, outOfAttempts } from '../src/queue/attempts.ts';
import { JOBS_BY_QUEUE, concurrencyOf, jobOf, upsertSystemSchedules } from '../jobs/catalog.ts';
import { fromConfig, type AnyJob } from '../jobs/define.ts';
import { settlePiece } from '../jobs/settle.ts';
import { getIndexVersion } from '../src/store/indexes.ts';
import { checkPayload } from '../jobs/validate.ts';
import { startHeartbeat } from './heartbeat.ts';
import { inSpan, type Attrs } from '../src/telemetry.ts';
import { outageRetry } from './outage-retry.ts';
import { ActiveJobs } from './interrupt.ts';

/** How long a closing or releasing worker waits for a lost Redis to come back (a restart takes a second or two). */
const REDIS_CLOSE_PATIENCE_MS = 5000;

export interface WorkerOptions {
  /** Embed jobs at once. @default config.worker.concurrency */
  concurrency?: number;
  /** Ingest jobs at once. @default config.worker.ingestConcurrency */
  ingestConcurrency?: number;
  /** Name shown by `queue.getWorkers()` and in the worker's heartbeat entry. */
  name?: string;
  /** How often open provider batches are polled. @default config batch.pollMs */
  batchPollMs?: number;
}

export interface RunningWorkers {
  workers: Worker[];
  close(): Promise<void>;
  /** For an interrupted CLI: stop taking jobs and put this process's active jobs back in the queue at once. Returns how many. */
  release(): Promise<number>;
}

export async function startWorkers(ctx: Context, opts: WorkerOptions = {}): Promise<RunningWorkers> {
  const { config } = ctx;
  const connection = createRedis(config.redisUrl, {}, { onLost: (e) => ctx.outages.down('redis', e), onReady: () => ctx.outages.up('redis') });
  // Shutdown drains provider calls: those in flight finish (they are paid for), no new one starts.
  const drain = new AbortController();
  const jobCtx = withDrain(ctx, drain.signal);
  const { queues } = ctx;
  // What the definitions read from the config (concurrency, schedules), with this worker's options applied.
  const own = workerConfig(config, opts);

  // Every log line of a job carries its queue, id, tenant and (for work on an index version) the
  // exact model version, looked up once per version.
  const models = new Map<number, Promise<string | undefined>>();
  const bindings = async (queue: QueueName, job: Job): Promise<Record<string, unknown>> => {
    const d = job.data as { tenant?: string; indexVersionId?: number };
    const b: Record<string, unknown> = { queue, jobId: job.id, tenant: d.tenant };
    if (typeof d.indexVersionId === 'number') {
      let m = models.get(d.indexVersionId);
      if (!m) models.set(d.indexVersionId, (m = getIndexVersion(ctx.db, d.indexVersionId).then((v) => v?.modelKey, () => undefined)));
      b.model = await m;
    }
    return b;
  };

  // A job's piece of its run, as its definition says; `result` holds its counters when it completed.
  const settle = async (def: AnyJob | undefined, job: Job, ok: boolean, result?: unknown) => {
    if (!def?.run || !job.id) return;
    const counters = ok && def.run.counters ? (result as Partial<RunCounters>) : {};
    await settlePiece(ctx, (job.data as { runId: string }).runId, job.id, def.run.as, ok, counters);
  };
  // A job not in the catalog has no policy of its own: BullMQ runs it once.
  const attemptsOf = (def: AnyJob | undefined, job: Job) => job.opts.attempts ?? (def ? fromConfig(def.attempts, config) : 1);

  const starts = new AttemptTracker(ctx.redis, config.redisPrefix);
  const active = new ActiveJobs(); // what an interrupted CLI puts back in the queue (release below)
  const served = [...JOBS_BY_QUEUE.keys()];
  const workers = served.map((queue) => {
    const w = new Worker(
      queue,
      async (job, token) => {
        const def = jobOf(queue, job.name);
        const log = ctx.logger.child(await bindings(queue, job));
        log.debug('job started');
        // A stall (the previous start never ended) counts as an attempt; see src/queue/attempts.ts.
        const tracked = job.id && token && !job.repeatJobKey ? { id: job.id, token } : undefined;
        if (tracked) {
          const stalls = await starts.begin(queue, tracked.id, tracked.token);
          const why = outOfAttempts(job, attemptsOf(def, job), stalls);
          if (why) throw new UnrecoverableError(why);
          if (stalls > 0) log.warn({ stalls }, 'job restarted after its worker stopped');
        }
        let result: unknown;
        try {
          await checkPayload(jobCtx, queue, job);
          result = await inSpan(`${job.name} job`, { parent: traceparentOf(job), kind: 'consumer', attributes: jobAttributes(queue, job) }, () => def!.handler(jobCtx, job));
        } catch (caught) {
          if (tracked) await starts.end(queue, tracked.id, tracked.token).catch(() => {});
          const e = outageRetry(ctx, job, caught);
          // BullMQ stores the message and stack in Redis, where the dashboard shows them.
          if (!(e instanceof DelayJobError) || !token) throw redactError(e);
          // Back to the queue without spending an attempt, with the reason where people look.
          log.warn({ reason: e.message, delayMs: e.delayMs }, 'job delayed');
          await job.log(`delayed ${e.delayMs} ms: ${e.message}`);
          await job.moveToDelayed(Date.now() + e.delayMs, token);
          throw new DelayedError();
        }
        if (tracked) await starts.clear(queue, tracked.id);
        // Settling may enqueue the run's finalize job: under the job's trace, as its child.
        await inSpan('settle', { parent: traceparentOf(job) }, () => settle(def, job, true, result));
        log.debug({ result }, 'job done');
        return result;
      },
      {
        connection,
        prefix: config.redisPrefix,
        concurrency: concurrencyOf(queue, own),
        name: opts.name ?? `embedq-worker-${process.pid}`,
        // A killed worker's active jobs are found stalled and re-queued after about one lock period.
        lockDuration: config.worker.lockMs,
        stalledInterval: Math.max(1000, Math.floor(config.worker.lockMs / 2)),
        maxStalledCount: NO_STALL_LIMIT,
      },
    );
    active.watch(w);
    w.on('failed', (job, err) => {
      if (!job) return;
      const def = jobOf(queue, job.name);
      const final = err instanceof UnrecoverableError || job.attemptsMade >= attemptsOf(def, job);
      bindings(queue, job)
        .catch(() => ({ queue, jobId: job.id }))
        .then((b) => ctx.logger.warn({ ...b, attempt: job.attemptsMade, final, err: coerceError(err).message }, 'job failed'));
      if (final && job.id) starts.clear(queue, job.id).catch(() => {});
      // A refused payload is not provably part of the run it names, so it settles nothing there.
      if (final && !(err instanceof InvalidPayloadError)) settle(def, job, false).catch((e) => ctx.logger.error({ err: coerceError(e).message }, 'could not settle failed job'));
    });
    w.on('error', (err) => {
      // A lost connection is one outage line (ctx.outages), not one log line per reconnect attempt.
      const lost = lostService(err, config);
      if (lost) ctx.outages.down(lost, err);
      else ctx.logger.error({ queue, err: coerceError(err).message }, 'worker error');
    });
    return w;
  });
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  await upsertSystemSchedules(ctx, own);
  // How CLIs tell that a worker serves this deployment (workers/heartbeat.ts).
  const heartbeat = await startHeartbeat(ctx.redis, config.redisPrefix, opts.name ?? `embedq-worker-${process.pid}`);

  let closing: Promise<void> | undefined;
  return {
    workers,
    async release() {
      await heartbeat.stop();
      // Putting jobs back needs Redis: one that stays away leaves them to their locks' expiry.
      const outage = downFor(ctx.redis, REDIS_CLOSE_PATIENCE_MS);
      try {
        const gone = outage.reached.then(() => Promise.reject(new Error('Redis is not reachable')));
        return await Promise.race([active.release(served.map((q) => queues[q])), gone]);
      } finally {
        outage.cancel();
      }
    },
    close() {
      // Worker.close() waits for active jobs to finish; what is not picked up stays queued. Embed
      // jobs end soon: their requests in flight finish and are stored, the rest is re-queued.
      closing ??= (async () => {
        drain.abort(new Error('worker shutting down'));
        await heartbeat.stop();
        const closed = Promise.all(workers.map((w) => w.close()));
        // During an outage BullMQ's commands wait for a reconnect that may never come. Once Redis
        // has been away for a while, ending the connection fails them and the close finishes;
        // a job it left active is picked up again when its lock lapses (every job is idempotent).
        const outage = downFor(connection, REDIS_CLOSE_PATIENCE_MS);
        await Promise.race([closed, outage.reached]);
        outage.cancel();
        connection.disconnect();
        await closed;
      })();
      return closing;
    },
  };
}

/** The config with a worker's own options applied: what its jobs' concurrency and schedules read. */
function workerConfig(config: Config, opts: WorkerOptions): Config {
  return {
    ...config,
    worker: { ...config.worker, concurrency: opts.concurrency ?? config.worker.concurrency, ingestConcurrency: opts.ingestConcurrency ?? config.worker.ingestConcurrency },
    batch: opts.batchPollMs ? { ...config.batch, pollMs: opts.batchPollMs } : config.batch,
  };
}

/** A job's traceparent, when it was enqueued under a span (checked by checkPayload); null: a trace of its own. */
function traceparentOf(job: Job): string | null {
  const t = (job.data as { traceparent?: unknown } | undefined)?.traceparent;
  return typeof t === 'string' ? t : null;
}

/** What a job's span says about it: queue, id, attempt, and the tenant and run its data names. */
function jobAttributes(queue: string, job: Job): Attrs {
  const d = (job.data ?? {}) as { tenant?: unknown; runId?: unknown; index?: unknown };
  return {
    'messaging.system': 'bullmq',
    'messaging.destination.name': queue,
    'messaging.message.id': job.id,
    'embedq.attempt': job.attemptsMade + 1,
    'embedq.tenant': typeof d.tenant === 'string' ? d.tenant : undefined,
    'embedq.run_id': typeof d.runId === 'string' ? d.runId : undefined,
    'embedq.index': typeof d.index === 'string' ? d.index : undefined,
  };
}
