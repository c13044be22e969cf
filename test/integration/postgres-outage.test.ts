/**
 * Riding out a lost Postgres connection (issue #10 items 4 and 8): the test's own backends are
 * ended with pg_terminate_backend() while they wait on a lock the test holds.
 */
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { createContext, type Context } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { createQueues } from '../../src/queue/producer.ts';
import { withTransaction } from '../../src/store/db.ts';
import { getIndex } from '../../src/store/indexes.ts';
import { migrate } from '../../src/store/migrate.ts';
import { countRows } from '../support/assert.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { dropIsolated, expect, test } from '../support/fixtures.ts';
import { blockTables } from '../support/pg-chaos.ts';

async function noticingContext(config: Context['config']): Promise<{ ctx: Context; notes: string[] }> {
  const notes: string[] = [];
  const ctx = createContext(config, { logger: createLogger('silent'), notice: (l) => notes.push(l) });
  await migrate(ctx.db, config.dbSchema);
  return { ctx, notes };
}

test('a transaction whose connection is terminated rejects; the process does not crash and the pool reconnects', async ({ ctx }) => {
  const blocker = await blockTables(ctx.config.databaseUrl, ctx.config.dbSchema, [['ledger', 'ACCESS EXCLUSIVE']]);
  try {
    const tx = withTransaction(ctx.db, (c) => c.query('SELECT count(*) FROM ledger'));
    await blocker.waitBlocked(['ledger']);
    expect(await blocker.terminateBlockedAndRelease()).toBe(1);
    await expect(tx).rejects.toThrow(/terminat/i);
    expect((await ctx.db.query<{ x: number }>('SELECT 1 AS x')).rows[0]!.x).toBe(1);
    expect(await withTransaction(ctx.db, async (c) => (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM ledger')).rows[0]!.n)).toBe(0);
  } finally {
    await blocker.close();
  }
});

test('ingest rides out terminated connections of its worker and of its wait, and finishes the run', async ({ config }) => {
  const { ctx, notes } = await noticingContext(config);
  // The index exists before the locks are taken: only the run's own writes and polls wait on them.
  await runIngest(ctx, { paths: [writeCorpus({ 'seed.txt': prose(0, 3) })], index: 'docs', chunkTokens: 40, chunkOverlap: 0 });
  const blocker = await blockTables(config.databaseUrl, config.dbSchema, [
    ['documents', 'SHARE'], // the ingest job's write transaction waits here
    ['provider_batches', 'ACCESS EXCLUSIVE'], // the waiting CLI's poll waits here
  ]);
  try {
    const dir = writeCorpus({ 'a.txt': prose(1, 20), 'b.txt': prose(2, 20) });
    const run = runIngest(ctx, { paths: [dir], index: 'docs', chunkTokens: 40, chunkOverlap: 0 });
    await blocker.waitBlocked(['documents', 'provider_batches']);
    expect(await blocker.terminateBlockedAndRelease()).toBeGreaterThanOrEqual(2);
    const s = await run;
    expect(s).toMatchObject({ documents: 2, failedJobs: 0 });
    const total = await countRows(ctx, 'chunks');
    expect(s.embedded).toBe(s.chunks);
    const index = (await getIndex(ctx.db, 'docs'))!;
    expect(await countRows(ctx, index.live.tableName)).toBe(total);
    // The ingest job went back to the queue, after 1 s, without spending an attempt.
    const queues = createQueues(ctx.redis, config);
    try {
      const jobs = (await queues.ingest.getJobs(['completed'])).filter((j) => (j.data as { runId: string }).runId === s.runId);
      // attemptsMade counts the completing attempt only; it was started once more than that.
      expect(jobs.map((j) => [j.attemptsMade, j.attemptsStarted])).toEqual([[1, 2]]);
      const { logs } = await queues.ingest.getJobLogs(jobs[0]!.id!);
      expect(logs).toEqual([expect.stringMatching(/^delayed 1000 ms: Postgres went away .*retrying without spending an attempt/)]);
    } finally {
      await queues.close();
    }
    expect(notes.filter((n) => /^Postgres went away/.test(n))).toHaveLength(1);
    expect(notes.some((n) => /^Postgres is back/.test(n))).toBe(true);
  } finally {
    await blocker.close();
    await dropIsolated(ctx);
    await ctx.close();
  }
});
