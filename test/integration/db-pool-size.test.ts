/**
 * `dbPoolSize` (EMBEDQ_DB_POOL_SIZE) caps the connections a process's pool opens: operators with
 * many workers and servers on one Postgres lower it to stay under `max_connections`.
 */
import { createContext } from '../../src/context.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/logger.ts';
import { expect, test, testConfig } from '../support/fixtures.ts';

test('a context opens at most dbPoolSize connections however many queries wait', async () => {
  for (const size of [2, 5]) {
    const ctx = createContext(testConfig({ dbPoolSize: size }), { logger: createLogger('silent') });
    try {
      // Eight queries at once, each holding its connection for the statement.
      await Promise.all(Array.from({ length: 8 }, () => ctx.db.query('SELECT pg_sleep(0.01)')));
      expect(ctx.db.totalCount).toBe(size);
    } finally {
      await ctx.close();
    }
  }
});

test('EMBEDQ_DB_POOL_SIZE sets it, 10 by default; 0 is refused naming the variable', () => {
  expect(loadConfig({ env: {} }).dbPoolSize).toBe(10);
  expect(loadConfig({ env: { EMBEDQ_DB_POOL_SIZE: '3' } }).dbPoolSize).toBe(3);
  expect(() => loadConfig({ env: { EMBEDQ_DB_POOL_SIZE: '0' } })).toThrow(/environment EMBEDQ_DB_POOL_SIZE: expected a number > 0, got "0"/);
});
