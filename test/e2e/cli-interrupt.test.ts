/**
 * Ctrl-C during ingest (issue #10 item 22): the in-process worker's active job goes back to the
 * queue at once (not after its lock expires), the command says how to resume, exits 130, and a
 * worker started afterwards finishes the run.
 */
import { inject } from 'vitest';
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { waitForRun } from '../../src/cli/run-wait.ts';
import { Progress } from '../../src/cli/progress.ts';
import { createContext } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { createQueues } from '../../src/queue/producer.ts';
import { RunTracker } from '../../src/queue/runs.ts';
import { migrate } from '../../src/store/migrate.ts';
import { startWorkers, type RunningWorkers } from '../../workers/runtime.ts';
import { spawnCli } from '../support/cli-live.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { dropNamespace, expect, test, testConfig, uniqueName } from '../support/fixtures.ts';
import { blockTables } from '../support/pg-chaos.ts';
import { startThrowawayRedis } from '../support/throwaway-redis.ts';

const services = inject('services');

test('SIGINT during ingest releases its active job, says how to resume and exits 130; a worker then finishes the run', async () => {
  const schema = uniqueName('e2e');
  const env = { REDIS_URL: services.redisUrl, DATABASE_URL: services.databaseUrl, EMBEDQ_DB_SCHEMA: schema, EMBEDQ_REDIS_PREFIX: schema };
  const ctx = createContext(testConfig({ dbSchema: schema, redisPrefix: schema }), { logger: createLogger('silent') });
  const queues = createQueues(ctx.redis, ctx.config);
  let worker: RunningWorkers | undefined;
  try {
    await migrate(ctx.db, schema);
    await runIngest(ctx, { paths: [writeCorpus({ 'seed.txt': prose(0, 3) })], index: 'docs' });
    // The run's ingest job waits on this lock, active and locked in the CLI's in-process worker.
    const blocker = await blockTables(services.databaseUrl, schema, [['documents', 'SHARE']]);
    let r;
    try {
      const cli = spawnCli(['ingest', writeCorpus({ 'a.txt': prose(1, 10), 'b.txt': prose(2, 10) }), '--index', 'docs'], env);
      await blocker.waitBlocked(['documents']);
      cli.child.kill('SIGINT');
      r = await cli.done;
    } finally {
      await blocker.close();
    }
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/embedq: run \S+ interrupted: 1 active job moved back to the queue/);
    expect(r.stderr).toContain('to resume, start `embedq worker` (it finishes the queued jobs), or run the same `embedq ingest` command again');
    // Released now, not when the lock expires: waiting again, no lock left.
    const counts = await queues.ingest.getJobCounts('active', 'waiting');
    expect(counts).toEqual({ active: 0, waiting: 1 });
    const [job] = await queues.ingest.getJobs(['waiting']);
    expect(await ctx.redis.exists(`${schema}:ingest:${job!.id}:lock`)).toBe(0);

    worker = await startWorkers(ctx);
    const runId = (job!.data as { runId: string }).runId;
    const runs = new RunTracker(ctx.redis, schema);
    await waitForRun(ctx, runId, { progress: new Progress(false), localWorker: true });
    expect(await runs.get(runId)).toMatchObject({ finalized: true, documents: 2, failedJobs: 0 });
  } finally {
    await worker?.close();
    await queues.close();
    await ctx.close();
    await dropNamespace(schema);
  }
}, 150_000);

test('SIGINT during ingest while Redis is down exits 130 without waiting for it and says the jobs return when their locks expire', async () => {
  const redis = await startThrowawayRedis();
  const schema = uniqueName('e2e');
  const env = { REDIS_URL: redis.url, DATABASE_URL: services.databaseUrl, EMBEDQ_DB_SCHEMA: schema, EMBEDQ_REDIS_PREFIX: schema };
  const ctx = createContext(testConfig({ redisUrl: redis.url, dbSchema: schema, redisPrefix: schema }), { logger: createLogger('silent') });
  try {
    await migrate(ctx.db, schema);
    await runIngest(ctx, { paths: [writeCorpus({ 'seed.txt': prose(0, 3) })], index: 'docs' });
    const blocker = await blockTables(services.databaseUrl, schema, [['documents', 'SHARE']]);
    let r;
    try {
      const cli = spawnCli(['ingest', writeCorpus({ 'a.txt': prose(1, 10) }), '--index', 'docs'], env);
      await blocker.waitBlocked(['documents']);
      await redis.stop();
      await cli.waitForStderr(/Redis went away/);
      cli.child.kill('SIGINT');
      r = await cli.done;
    } finally {
      await blocker.close();
    }
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('embedq: could not release every job (Redis is not reachable); they return to the queue when their locks expire');
  } finally {
    await ctx.close();
    await redis.destroy();
    await dropNamespace(schema).catch(() => undefined);
  }
}, 150_000);
