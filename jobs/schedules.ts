/**
 * Every scheduled job in one place: the system's own (batch polling, cache garbage collection,
 * the daily spend rollup) and users' source re-syncs (`embedq schedules add`). All are BullMQ job
 * schedulers, upserted by name, so declaring them again (every worker does at start) changes
 * nothing and they survive restarts.
 */
import type { Job } from 'bullmq';
import { z } from 'zod';
import { CronExpressionParser } from 'cron-parser';
import { resolve } from 'node:path';
import { expandPaths } from '../src/corpus/readers/expand.ts';
import { describeRoot, inRoot } from '../src/corpus/readers/roots.ts';
import { UsageError } from '../src/errors.ts';
import type { Queues } from '../src/queue/producer.ts';
import type { Config } from '../src/config/schema.ts';
import { deleteDocuments } from '../src/store/chunks.ts';
import { vanishedDocuments } from '../src/store/documents.ts';
import { withTransaction } from '../src/store/db.ts';
import { getIndex } from '../src/store/indexes.ts';
import { writeTargets } from '../src/reembed/store.ts';
import { sweepUnsettled, UNSETTLED_AFTER_MS } from '../src/store/ledger.ts';
import type { Context } from '../src/context.ts';
import { absolutePath, indexName, tenantId } from './fields.ts';
import { startRun } from './start-run.ts';

export interface SystemSchedule {
  name: string;
  queue: 'batches' | 'schedules';
  jobName: string;
  every: (config: Config) => number;
  what: string;
}

export const SYSTEM_SCHEDULES: readonly SystemSchedule[] = [
  { name: 'batch-poll', queue: 'batches', jobName: 'batch-poll', every: (c) => c.batch.pollMs, what: 'poll open provider batches; read finished ones back' },
  { name: 'cache-gc', queue: 'schedules', jobName: 'cache-gc', every: () => 6 * 3600_000, what: 'delete cache entries of retired model versions (no live index uses them)' },
  { name: 'spend-rollup', queue: 'schedules', jobName: 'spend-rollup', every: () => 15 * 60_000, what: 'roll the ledger up into spend_daily (today and yesterday)' },
  { name: 'ledger-sweep', queue: 'schedules', jobName: 'ledger-sweep', every: () => 60_000, what: 'mark provider attempts a dead worker left unsettled as unknown (possibly billed)' },
];

export async function upsertSystemSchedules(queues: Queues, config: Config): Promise<void> {
  for (const s of SYSTEM_SCHEDULES) await queues[s.queue].upsertJobScheduler(s.name, { every: s.every(config) }, { name: s.jobName, data: {} });
}

export interface ScheduledIngestPayload {
  index: string;
  tenant: string;
  /** Absolute paths (the scheduler may run anywhere). */
  paths: string[];
  /** Recorded by schedules made before document ids were formed from the roots; unused. */
  baseDir?: string;
  /** JSONL/CSV record ids are global, as `embedq ingest --global-ids`. */
  globalIds?: boolean;
  mode: 'sync' | 'batch';
}

/** A re-sync's payload; jobs/validate.ts also checks it equals the data of the job scheduler that made it. */
export const scheduledIngestPayloadSchema = z.strictObject({
  index: indexName,
  tenant: tenantId,
  paths: z.array(absolutePath).min(1).max(1000),
  baseDir: absolutePath.optional(),
  globalIds: z.boolean().optional(),
  mode: z.enum(['sync', 'batch']),
}) satisfies z.ZodType<ScheduledIngestPayload>;

/** `every` like 30s, 15m, 1h, 1d → ms; or a cron expression checked now. */
export function parseRepeat(o: { every?: string | undefined; cron?: string | undefined }): { every: number } | { pattern: string } {
  if (Boolean(o.every) === Boolean(o.cron)) throw new UsageError('give exactly one of --every (e.g. 1h, 15m) or --cron (e.g. "0 * * * *")');
  if (o.every) {
    const m = /^(\d+)(s|m|h|d)$/.exec(o.every);
    if (!m || Number(m[1]) === 0) throw new UsageError(`--every must be a number and a unit (s, m, h, d), e.g. 30m or 1h, got ${JSON.stringify(o.every)}`);
    return { every: Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'] };
  }
  try {
    CronExpressionParser.parse(o.cron!);
  } catch (e) {
    throw new UsageError(`--cron ${JSON.stringify(o.cron)} is not a valid cron expression (${(e as Error).message}); e.g. "0 * * * *" for hourly`);
  }
  return { pattern: o.cron! };
}

export async function handleSchedules(ctx: Context, job: Job): Promise<unknown> {
  switch (job.name) {
    case 'cache-gc':
      return cacheGc(ctx);
    case 'spend-rollup':
      return spendRollup(ctx);
    case 'ledger-sweep':
      return { swept: await sweepUnsettled(ctx.db, UNSETTLED_AFTER_MS) };
    case 'scheduled-ingest':
      return scheduledIngest(ctx, job.data as ScheduledIngestPayload);
    default:
      throw new Error(`unknown scheduled job ${job.name}`);
  }
}

async function cacheGc(ctx: Context): Promise<{ deleted: number }> {
  const r = await ctx.db.query(
    `DELETE FROM embedding_cache c USING model_versions mv
      WHERE mv.id = c.model_version_id AND NOT EXISTS (SELECT 1 FROM index_versions v WHERE v.model_version_id = mv.id AND v.state <> 'dropped')`,
  );
  await ctx.db.query(`UPDATE model_versions mv SET retired_at = now() WHERE retired_at IS NULL AND NOT EXISTS (SELECT 1 FROM index_versions v WHERE v.model_version_id = mv.id AND v.state <> 'dropped')`);
  return { deleted: r.rowCount ?? 0 };
}

async function spendRollup(ctx: Context): Promise<{ rows: number }> {
  const r = await ctx.db.query(
    `INSERT INTO spend_daily (day, tenant, model_version_id, mode, calls, tokens, cost_usd, saved_usd)
     SELECT (at AT TIME ZONE 'UTC')::date, tenant, coalesce(model_version_id, 0), mode, count(*), coalesce(sum(tokens) FILTER (WHERE status NOT IN ('sent', 'unknown')), 0), sum(cost_usd), sum(saved_usd)
       FROM ledger WHERE at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '1 day'
      GROUP BY 1, 2, 3, 4
     ON CONFLICT (day, tenant, model_version_id, mode) DO UPDATE
       SET calls = EXCLUDED.calls, tokens = EXCLUDED.tokens, cost_usd = EXCLUDED.cost_usd, saved_usd = EXCLUDED.saved_usd`,
  );
  return { rows: r.rowCount ?? 0 };
}

/**
 * Re-syncs a source: documents whose files are gone from under a root are removed, then a normal
 * ingest run picks up changes. Nothing is removed unless every root itself was read: a root that
 * is missing or unreadable for a moment (unmounted, renamed, a permission hiccup) fails the job,
 * and a folder below a root that cannot be read keeps its documents.
 */
async function scheduledIngest(ctx: Context, p: ScheduledIngestPayload): Promise<{ runId: string | null; removed: number }> {
  const index = await getIndex(ctx.db, p.index);
  if (!index) throw new UsageError(`scheduled ingest: index ${p.index} does not exist`);
  const roots = await Promise.all(p.paths.map((x) => describeRoot(x)));
  const present: string[] = [];
  const unread: { path: string; reason: string }[] = [];
  for await (const item of expandPaths(p.paths)) {
    if ('kind' in item) unread.push({ path: item.path, reason: item.reason });
    else present.push(item.path);
  }
  const failed = roots.flatMap((r) => unread.filter((u) => u.path === r.input || u.path === r.abs).map((u) => `root ${r.input} could not be read (${u.reason})`));
  if (failed.length)
    throw new Error(`scheduled ingest of ${p.index}: ${failed.join('; ')}; nothing was deleted and nothing ingested. Mount or restore the path (or remove the schedule with \`embedq schedules remove\`); the next run retries.`);
  const vanished = (await vanishedDocuments(ctx.db, index.id, p.tenant, { roots: roots.map((r) => r.base), present, keep: unread.map((u) => resolve(u.path)) })).filter((d) =>
    roots.some((r) => inRoot(d.source, r)),
  );
  let removed = 0;
  if (vanished.length) {
    removed = await withTransaction(ctx.db, async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock_shared(hashtext('embedq.index:' || $1))`, [index.name]);
      const targets = await writeTargets(client, index.id);
      return deleteDocuments(client, index.id, p.tenant, vanished.map((d) => d.docId), targets.map((t) => t.tableName));
    });
  }
  if (present.length === 0) return { runId: null, removed };
  // The roots, not the files found: document ids are formed from the roots, as `embedq ingest` forms them.
  const read = { invalidUtf8: ctx.config.invalidUtf8, ...(p.globalIds ? { globalIds: true } : {}) };
  const run = await startRun(ctx.queues, ctx.runs, { index: p.index, tenant: p.tenant, paths: p.paths, read, mode: async () => p.mode });
  return { runId: run.runId, removed };
}
