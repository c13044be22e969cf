/** A run that does not move says so on its progress line (issue #10 item 6). */
import { inject } from 'vitest';
import { createContext } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { startWorkers, type RunningWorkers } from '../../workers/runtime.ts';
import { migrate } from '../../src/store/migrate.ts';
import { spawnCli } from '../support/cli-live.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { dropNamespace, expect, test, testConfig, uniqueName } from '../support/fixtures.ts';

const services = inject('services');

test('ingest with no worker names Redis, the prefix and `embedq worker` on its progress line, then finishes once one starts', async () => {
  const schema = uniqueName('e2e');
  const env = { REDIS_URL: services.redisUrl, DATABASE_URL: services.databaseUrl, EMBEDQ_DB_SCHEMA: schema, EMBEDQ_REDIS_PREFIX: schema, EMBEDQ_STALL_NOTICE_MS: '1' };
  const ctx = createContext(testConfig({ dbSchema: schema, redisPrefix: schema }), { logger: createLogger('silent') });
  let worker: RunningWorkers | undefined;
  try {
    await migrate(ctx.db, schema);
    const cli = spawnCli(['ingest', writeCorpus({ 'a.txt': prose(3, 8) }), '--index', 'docs', '--no-local-worker'], env);
    await cli.waitForStderr(/NO PROGRESS/);
    worker = await startWorkers(ctx);
    const r = await cli.done;
    expect(r.code).toBe(0);
    const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    expect(r.stderr).toMatch(new RegExp(`NO PROGRESS for \\d+s: no worker is running on ${esc(services.redisUrl)} prefix ${esc(schema)}; start one with \`embedq worker\``));
    expect(r.stdout).toMatch(/^indexed into docs/);
  } finally {
    await worker?.close();
    await ctx.close();
    await dropNamespace(schema);
  }
}, 120_000);
