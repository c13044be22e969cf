/**
 * `embedq worker` started while Redis is down (a restart, or a worker brought back by its
 * supervisor during one) waits for it instead of exiting: one line says what it waits for, and
 * once Redis answers the worker becomes ready. The chaos run found workers that exited here.
 * Wrong credentials are not an outage: those still end the worker at once.
 */
import { inject } from 'vitest';
import { spawnCli } from '../support/cli-live.ts';
import { createContext } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { migrate } from '../../src/store/migrate.ts';
import { dropNamespace, expect, test, testConfig, uniqueName } from '../support/fixtures.ts';
import { startThrowawayRedis } from '../support/throwaway-redis.ts';

const services = inject('services');

/** A fresh, migrated schema (a worker waits for `embedq db migrate` otherwise). */
async function migratedSchema(): Promise<string> {
  const schema = uniqueName('e2e');
  const ctx = createContext(testConfig({ dbSchema: schema, redisPrefix: schema }), { logger: createLogger('silent') });
  try {
    await migrate(ctx.db, schema);
  } finally {
    await ctx.close();
  }
  return schema;
}

test('a worker started while Redis is down waits for it, then becomes ready', async () => {
  const prefix = await migratedSchema();
  const redis = await startThrowawayRedis();
  await redis.stop();
  const worker = spawnCli(['worker'], { REDIS_URL: redis.url, DATABASE_URL: services.databaseUrl, EMBEDQ_DB_SCHEMA: prefix, EMBEDQ_REDIS_PREFIX: prefix }, { timeoutMs: 120_000 });
  try {
    // A worker that exits instead of waiting rejects these (the process ended before the line).
    await worker.waitForStderr(/Redis is not reachable .*; waiting for it/);
    await redis.start();
    await worker.waitForStderr(/embedq worker: ready/);
    worker.child.kill('SIGTERM');
    const r = await worker.done;
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n').filter((l) => /waiting for it/.test(l))).toHaveLength(1);
  } finally {
    if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    await redis.destroy();
    await dropNamespace(prefix).catch(() => undefined);
  }
}, 120_000);

test('a worker stopped while Redis is down exits cleanly instead of waiting for it', async () => {
  const prefix = await migratedSchema();
  const redis = await startThrowawayRedis();
  const worker = spawnCli(['worker'], { REDIS_URL: redis.url, DATABASE_URL: services.databaseUrl, EMBEDQ_DB_SCHEMA: prefix, EMBEDQ_REDIS_PREFIX: prefix }, { timeoutMs: 90_000 });
  try {
    await worker.waitForStderr(/embedq worker: ready/);
    await redis.stop();
    await worker.waitForStderr(/Redis went away/);
    worker.child.kill('SIGTERM');
    const r = await worker.done;
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/SIGTERM received, finishing active jobs/);
  } finally {
    if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    await redis.destroy();
    await dropNamespace(prefix).catch(() => undefined);
  }
}, 120_000);

test('a worker started on a schema that is not migrated waits for `embedq db migrate`, then becomes ready', async () => {
  const prefix = uniqueName('e2e');
  const worker = spawnCli(['worker'], { REDIS_URL: services.redisUrl, DATABASE_URL: services.databaseUrl, EMBEDQ_DB_SCHEMA: prefix, EMBEDQ_REDIS_PREFIX: prefix }, { timeoutMs: 90_000 });
  const ctx = createContext(testConfig({ dbSchema: prefix, redisPrefix: prefix }), { logger: createLogger('silent') });
  try {
    await worker.waitForStderr(/schema \S+ is not up to date \(\d+ pending migrations\); waiting for `embedq db migrate`/);
    // Not ready yet: no job is taken from the queues while tables are missing.
    expect(worker.child.exitCode).toBeNull();
    await migrate(ctx.db, prefix);
    await worker.waitForStderr(/embedq worker: ready/);
    worker.child.kill('SIGTERM');
    const r = await worker.done;
    expect(r.code).toBe(0);
    expect(r.stderr.indexOf('the schema is up to date; starting')).toBeLessThan(r.stderr.indexOf('embedq worker: ready'));
  } finally {
    if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    await ctx.close();
    await dropNamespace(prefix).catch(() => undefined);
  }
}, 120_000);

test('a worker given a database that does not exist still exits at once with the reason', async () => {
  const url = new URL(services.databaseUrl);
  url.pathname = `/${uniqueName('nodb')}`;
  const worker = spawnCli(['worker'], { REDIS_URL: services.redisUrl, DATABASE_URL: url.toString() }, { timeoutMs: 60_000 });
  const r = await worker.done;
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/does not exist/);
}, 60_000);
