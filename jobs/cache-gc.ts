/** `cache-gc` job (queue `schedules`), made by a system schedule: drops the cache of model versions no live index uses. */
import type { Job } from 'bullmq';
import { retireUnusedModels } from '../src/store/models.ts';
import { deleteUnusedCache } from '../src/store/vectors.ts';
import type { Context } from '../src/context.ts';
import { defineJob } from './define.ts';
import { noData } from './fields.ts';
import { SCHEDULES } from './shared-queues.ts';

async function cacheGc(ctx: Context, _job: Job<Record<string, never>>): Promise<{ deleted: number }> {
  const deleted = await deleteUnusedCache(ctx.db);
  await retireUnusedModels(ctx.db);
  return { deleted };
}

export const cacheGcJob = defineJob({
  name: 'cache-gc',
  ...SCHEDULES,
  schema: noData,
  handler: cacheGc,
  schedule: { every: () => 6 * 3600_000, what: 'delete cache entries of retired model versions (no live index uses them)' },
});
