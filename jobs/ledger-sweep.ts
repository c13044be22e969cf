/** `ledger-sweep` job (queue `schedules`), made by a system schedule: settles what dead workers left unsettled. */
import type { Job } from 'bullmq';
import { sweepUnsettled, UNSETTLED_AFTER_MS } from '../src/store/ledger.ts';
import type { Context } from '../src/context.ts';
import { defineJob } from './define.ts';
import { noData } from './fields.ts';
import { SCHEDULES } from './shared-queues.ts';

export const ledgerSweepJob = defineJob({
  name: 'ledger-sweep',
  ...SCHEDULES,
  schema: noData,
  handler: async (ctx: Context, _job: Job<Record<string, never>>) => ({ swept: await sweepUnsettled(ctx.db, UNSETTLED_AFTER_MS) }),
  schedule: { every: () => 60_000, what: 'mark provider attempts a dead worker left unsettled as unknown (possibly billed)' },
});
