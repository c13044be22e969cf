/**
 * Whether a worker serves this deployment is decided by a heartbeat under the prefix, in the
 * connection's Redis database (issue #10 item 6): CLIENT LIST names are server-wide and carry no
 * database number, so a worker on db 3 counted for an ingest on db 5 with the same prefix.
 */
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { runStatus } from '../../src/cli/commands/status.ts';
import { createContext } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { migrate } from '../../src/store/migrate.ts';
import { startWorkers } from '../../workers/runtime.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { dropIsolated, expect, test } from '../support/fixtures.ts';

test('a worker on Redis db 3 does not count as running for db 5 with the same prefix; ingest on db 5 starts its own', async ({ config }) => {
  const on = (db: number) => createContext({ ...config, redisUrl: `${config.redisUrl.replace(/\/\d*$/, '')}/${db}` }, { logger: createLogger('silent') });
  const db3 = on(3);
  const db5 = on(5);
  await migrate(db5.db, config.dbSchema);
  const worker = await startWorkers(db3, { name: 'other-db-worker' });
  try {
    expect((await runStatus(db3)).workers).toBe(1);
    expect((await runStatus(db5)).workers).toBe(0);
    const s = await runIngest(db5, { paths: [writeCorpus({ 'a.txt': prose(1, 6) })], index: 'docs' });
    expect(s).toMatchObject({ documents: 1, failedJobs: 0, waited: true });
    expect(s.embedded).toBe(s.chunks);
    // The in-process worker's heartbeat is gone once ingest returns; the db-3 worker's stays.
    expect((await runStatus(db5)).workers).toBe(0);
    await worker.close();
    expect((await runStatus(db3)).workers).toBe(0);
  } finally {
    await worker.close();
    await dropIsolated(db5);
    await dropIsolated(db3);
    await Promise.all([db3.close(), db5.close()]);
  }
}, 45_000);

test('a worker counted at the start that dies (its heartbeat lapses) does not leave ingest waiting: it starts its own worker', async ({ ctx }) => {
  // The entry of a worker killed a moment ago, lapsing in 1 s (scores are expiry times in ms).
  await ctx.redis.zadd(`${ctx.config.redisPrefix}:workers:alive`, Date.now() + 1000, 'killed-worker');
  expect((await runStatus(ctx)).workers).toBe(1);
  const s = await runIngest(ctx, { paths: [writeCorpus({ 'a.txt': prose(4, 6) })], index: 'docs' });
  expect(s).toMatchObject({ documents: 1, failedJobs: 0, waited: true });
  expect(s.embedded).toBe(s.chunks);
}, 45_000);
