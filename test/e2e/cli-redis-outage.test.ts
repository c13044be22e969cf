/**
 * A Redis restart in the middle of an ingest (issue #10 item 21): one line when it goes away, one
 * when it is back, no raw connection errors, and the run finishes. The test's own Redis is
 * restarted while the run's ingest job waits on a Postgres lock the test holds.
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
import { startThrowawayRedis } from '../support/throwaway-redis.ts';

const services = inject('services');

test('ingest rides out a Redis restart with one line per outage and no raw ECONNREFUSED', async () => {
  const redis = await startThrowawayRedis();
  const schema = uniqueName('e2e');
  const env = { REDIS_URL: redis.url, DATABASE_URL: services.databaseUrl, EMBEDQ_DB_SCHEMA: schema, EMBEDQ_REDIS_PREFIX: schema };
  try {
    // The index exists first, so only the run's document write waits on the lock.
    const ctx = createContext(testConfig({ redisUrl: redis.url, dbSchema: schema, redisPrefix: schema }), { logger: createLogger('silent') });
    try {
      await migrate(ctx.db, schema);
      await runIngest(ctx, { paths: [writeCorpus({ 'seed.txt': prose(0, 3) })], index: 'docs' });
    } finally {
      await ctx.close();
    }
    const blocker = await blockTables(services.databaseUrl, schema, [['documents', 'SHARE']]);
    try {
      const cli = spawnCli(['ingest', writeCorpus({ 'a.txt': prose(1, 10), 'b.txt': prose(2, 10) }), '--index', 'docs'], env);
      await blocker.waitBlocked(['documents']);
      await redis.stop();
      await cli.waitForStderr(/Redis went away|ECONNREFUSED/);
      await redis.start();
      await blocker.release();
      const r = await cli.done;
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^indexed into docs/);
      expect(r.stdout).toMatch(/documents 2 new or changed/);
      const lines = r.stderr.split('\n');
      expect(lines.filter((l) => /^embedq: Redis went away \(redis:\/\/127\.0\.0\.1:\d+.*\); waiting to reconnect…$/.test(l))).toHaveLength(1);
      expect(lines.filter((l) => /^embedq: Redis is back after [\d.]+s; carrying on$/.test(l))).toHaveLength(1);
      expect(lines.filter((l) => /ECONNREFUSED|ECONNRESET|Error:/.test(l) && !l.startsWith('embedq: Redis went away'))).toEqual([]);
    } finally {
      await blocker.close();
    }
  } finally {
    await dropNamespace(schema).catch(() => undefined);
    await redis.destroy();
  }
}, 150_000);
