/** `spend-rollup` job (queue `schedules`), made by a system schedule: the ledger rolled up into spend_daily. */
import type { Job } from 'bullmq';
import { rollUpSpend } from '../src/store/spend.ts';
import type { Context } from '../src/context.ts';
import { defineJob } from './define.ts';
import { noData } from './fields.ts';
import { SCHEDULES } from './shared-queues.ts';

export const spendRollupJob = defineJob({
  name: 'spend-rollup',
  ...SCHEDULES,
  schema: noData,
  handler: async (ctx: Context, _job: Job<Record<string, never>>) => ({ rows: await rollUpSpend(ctx.db) }),
  schedule: { every: () => 15 * 60_000, what: 'roll the ledger up into spend_daily (today and yesterday)' },
});
