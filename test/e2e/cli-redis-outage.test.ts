/**
 * A Redis restart in the middle of an ingest (issue #10 item 21): one line when it goes away, one
 * when it is back, no raw connection errors, and the run finishes. The test's own Redis is
 * restarted while the run's ingest job waits on a Postgres lock the test holds.
 */
import { inject } from 'vitest';
import { runCli } from '../support/cli.ts';
import { spawnCli } from '../support/cli-live.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { dropNamespace, expect, test, uniqueName } from '../support/fixtures.ts';
import { blockTables } from '../support/pg-chaos.ts';
import { startThrowawayRedis } from '../support/throwaway-redis.ts';

const services = inject('services');

test('ingest rides out a Redis restart with one line per outage and no raw ECONNREFUSED', async () => {
  const redis = await startThrowawayRedis();
  const schema = uniqueName('e2e');
  const env = { REDIS_URL: redis.url, DATABASE_URL: services.databaseUrl, EMBEDQ_DB_SCHEMA: schema, EMBEDQ_REDIS_PREFIX: schema };
  try {
    expect((await runCli(['db', 'migrate'], env)).code).toBe(0);
    // The index exists first, so only the run's document write waits on the lock.
    expect((await runCli(['ingest', writeCorpus({ 'seed.txt': prose(0, 3) }), '--index', 'docs'], env)).code).toBe(0);
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
}, 90_000);
