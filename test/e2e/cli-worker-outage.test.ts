/**
 * `embedq worker` rides out a lost Postgres connection (issue #10 item 4): its backend is ended
 * with pg_terminate_backend() while its ingest job waits on a lock the test holds; the worker
 * stays up, prints one line for the outage, and the run finishes.
 */
import { inject } from 'vitest';
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { createContext } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { migrate } from '../../src/store/migrate.ts';
import { spawnCli } from '../support/cli-live.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { dropNamespace, expect, test, testConfig, uniqueName } from '../support/fixtures.ts';
import { blockTables } from '../support/pg-chaos.ts';

const services = inject('services');

test('a standalone worker survives its Postgres connection being terminated and finishes the run', async () => {
  const schema = uniqueName('e2e');
  const env = { REDIS_URL: services.redisUrl, DATABASE_URL: services.databaseUrl, EMBEDQ_DB_SCHEMA: schema, EMBEDQ_REDIS_PREFIX: schema };
  const ctx = createContext(testConfig({ dbSchema: schema, redisPrefix: schema }), { logger: createLogger('silent') });
  await migrate(ctx.db, schema);
  const worker = spawnCli(['worker'], env, { timeoutMs: 120_000 });
  try {
    await worker.waitForStderr(/embedq worker: ready/);
    await runIngest(ctx, { paths: [writeCorpus({ 'seed.txt': prose(0, 3) })], index: 'docs', localWorker: false });
    const blocker = await blockTables(services.databaseUrl, schema, [['documents', 'SHARE']]);
    let s;
    try {
      const run = runIngest(ctx, { paths: [writeCorpus({ 'a.txt': prose(1, 10), 'b.txt': prose(2, 10) })], index: 'docs', localWorker: false });
      await blocker.waitBlocked(['documents']);
      expect(await blocker.terminateBlockedAndRelease()).toBe(1);
      // The worker exiting is the failure this guards against: report it rather than wait.
      s = await Promise.race([run, worker.done.then((r) => Promise.reject(new Error(`embedq worker exited (${r.code}) during the run:\n${r.stderr}`)))]);
    } finally {
      await blocker.close();
    }
    expect(s).toMatchObject({ documents: 2, failedJobs: 0 });
    expect(worker.child.exitCode).toBe(null);
    worker.child.kill('SIGTERM');
    const r = await worker.done;
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('embedq: Postgres went away ('))).toHaveLength(1);
    expect(r.stderr).not.toMatch(/Unhandled 'error' event|Connection terminated unexpectedly\n\s+at /);
  } finally {
    if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    await ctx.close();
    await dropNamespace(schema);
  }
}, 120_000);
