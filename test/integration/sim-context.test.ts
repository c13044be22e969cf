/** withSim cleans up as the ctx fixture does: the schema and keys go when fn returns, and stay when it fails. */
import type { Context } from '../../src/context.ts';
import { dropNamespace, expect, test } from '../support/fixtures.ts';
import { withSim } from '../support/sim-context.ts';

const schemaExists = async (ctx: Context, schema: string) => (await ctx.db.query(`SELECT 1 FROM information_schema.schemata WHERE schema_name = $1`, [schema])).rowCount === 1;

test('withSim drops its schema after fn returns and keeps it, with its Redis keys, after fn throws', async ({ ctx }) => {
  const passed = await withSim(async (_sim, c) => c.config.dbSchema);
  expect(await schemaExists(ctx, passed)).toBe(false);

  let kept = { schema: '', prefix: '' };
  await expect(
    withSim(async (_sim, c) => {
      kept = { schema: c.config.dbSchema, prefix: c.config.redisPrefix };
      await c.redis.set(`${kept.prefix}:probe`, '1');
      throw new Error('the test failed here');
    }),
  ).rejects.toThrow('the test failed here');
  try {
    expect(await schemaExists(ctx, kept.schema)).toBe(true);
    expect(await ctx.redis.get(`${kept.prefix}:probe`)).toBe('1');
  } finally {
    await dropNamespace(kept.schema, kept.prefix);
  }
  expect(await schemaExists(ctx, kept.schema)).toBe(false);
});
