import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../src/logger.ts';
import { createContext } from '../../src/context.ts';
import { migrate, readMigrations, schemaState } from '../../src/store/migrate.ts';
import { writeCorpus } from '../support/corpus.ts';
import { dropIsolated, expect, test, testConfig } from '../support/fixtures.ts';

test('migrate applies every file once; a second run is a no-op', async () => {
  const ctx = createContext(testConfig(), { logger: createLogger('silent') });
  try {
    const before = await schemaState(ctx.db, ctx.config.dbSchema);
    expect(before.exists).toBe(false);
    const first = await migrate(ctx.db, ctx.config.dbSchema);
    expect(first.applied.map((a) => a.name)).toEqual(readMigrations().map((m) => m.name));
    const second = await migrate(ctx.db, ctx.config.dbSchema);
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toBe(first.applied.length);
    const { rows } = await ctx.db.query(`SELECT to_regclass('embedding_cache') AS t, to_regclass('ledger') AS l`);
    expect(rows[0]).toEqual({ t: 'embedding_cache', l: 'ledger' });
  } finally {
    await dropIsolated(ctx);
    await ctx.close();
  }
});

test('concurrent migrate calls serialize on the advisory lock', async () => {
  const ctx = createContext(testConfig(), { logger: createLogger('silent') });
  try {
    const [a, b] = await Promise.all([migrate(ctx.db, ctx.config.dbSchema), migrate(ctx.db, ctx.config.dbSchema)]);
    expect(a.applied.length + b.applied.length).toBe(readMigrations().length);
  } finally {
    await dropIsolated(ctx);
    await ctx.close();
  }
});

test('refuses an applied migration that was modified, and a database newer than the code', async () => {
  const ctx = createContext(testConfig(), { logger: createLogger('silent') });
  const dir = writeCorpus({ '0001_a.sql': 'CREATE TABLE a (x int);', '0002_b.sql': 'CREATE TABLE b (x int);' });
  try {
    expect((await migrate(ctx.db, ctx.config.dbSchema, readMigrations(dir))).applied).toHaveLength(2);
    writeFileSync(join(dir, '0001_a.sql'), 'CREATE TABLE a (x bigint);');
    await expect(migrate(ctx.db, ctx.config.dbSchema, readMigrations(dir))).rejects.toThrow(/0001_a was changed after it was applied/);
    await expect(migrate(ctx.db, ctx.config.dbSchema, readMigrations(dir).slice(1, 1))).rejects.toThrow(/newer than this code/);
  } finally {
    await dropIsolated(ctx);
    await ctx.close();
  }
});

test('a failing migration is rolled back whole and reported', async () => {
  const ctx = createContext(testConfig(), { logger: createLogger('silent') });
  const dir = writeCorpus({ '0001_bad.sql': 'CREATE TABLE ok (x int); SELECT no_such_function();' });
  try {
    await expect(migrate(ctx.db, ctx.config.dbSchema, readMigrations(dir))).rejects.toThrow(/0001_bad failed and was rolled back/);
    const { rows } = await ctx.db.query(`SELECT to_regclass('ok') AS t`);
    expect(rows[0].t).toBeNull();
  } finally {
    await dropIsolated(ctx);
    await ctx.close();
  }
});
