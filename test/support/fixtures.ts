/**
 * Test fixtures that hand each test its own isolated services: a fresh Postgres schema (migrated)
 * and a unique Redis key prefix, both removed afterwards unless the test failed.
 *
 *   import { test } from '../support/fixtures.ts';
 *   test('…', async ({ ctx }) => { … });
 */
import { randomBytes } from 'node:crypto';
import { inject, test as base } from 'vitest';
import { parseConfig, type Config } from '../../src/config/schema.ts';
import { createContext, type Context } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { migrate } from '../../src/store/migrate.ts';
import { quoteIdent } from '../../src/store/identifiers.ts';

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** A Config pointing at the test services with an isolated schema and Redis prefix. */
export function testConfig(overrides: Record<string, unknown> = {}): Config {
  const { redisUrl, databaseUrl } = inject('services');
  return parseConfig({ redisUrl, databaseUrl, dbSchema: uniqueName('t'), redisPrefix: uniqueName('t'), logLevel: 'silent', ...overrides });
}

/** Drops the schema and every Redis key under the prefix. */
export async function dropIsolated(ctx: Context): Promise<void> {
  await ctx.db.query(`DROP SCHEMA IF EXISTS ${quoteIdent(ctx.config.dbSchema)} CASCADE`);
  const stream = ctx.redis.scanStream({ match: `${ctx.config.redisPrefix}:*`, count: 1000 });
  for await (const keys of stream as AsyncIterable<string[]>) if (keys.length) await ctx.redis.unlink(...keys);
}

/** Closes a test's context, dropping its schema and keys first unless the test failed (they are kept to look at). */
export async function releaseIsolated(ctx: Context, failed: boolean): Promise<void> {
  if (!failed) await dropIsolated(ctx);
  await ctx.close();
}

/** Drops a schema and every Redis key under a prefix, for tests that do not use the ctx fixture. */
export async function dropNamespace(schema: string, prefix = schema): Promise<void> {
  const ctx = createContext(testConfig({ dbSchema: schema, redisPrefix: prefix }), { logger: createLogger('silent') });
  try {
    await dropIsolated(ctx);
  } finally {
    await ctx.close();
  }
}

export interface Fixtures {
  /** Config for an isolated, not yet migrated schema. */
  config: Config;
  /** A context on a migrated, isolated schema and Redis prefix. */
  ctx: Context;
}

export const test = base.extend<Fixtures>({
  config: async ({}, use) => {
    await use(testConfig());
  },
  ctx: async ({ config, task }, use) => {
    const ctx = createContext(config, { logger: createLogger('silent') });
    await migrate(ctx.db, config.dbSchema);
    try {
      await use(ctx);
    } finally {
      await releaseIsolated(ctx, task.result?.state === 'fail');
    }
  },
});

export { expect, describe, beforeAll, afterAll, beforeEach, afterEach } from 'vitest';
