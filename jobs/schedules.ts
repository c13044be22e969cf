/**
 * Every scheduled job in one place: the system's own (batch polling, cache garbage collection,
 * the daily spend rollup) and users' source re-syncs (`embedq schedules add`). All are BullMQ job
 * schedulers, upserted by name, so declaring them again (every worker does at start) changes
 * nothing and they survive restarts.
 */
import type { Job } from 'bullmq';
import { z } from 'zod';
import { CronExpressionParser } from 'cron-parser';
import { expandPaths } from '../src/corpus/readers/expand.ts';
import { UsageError } from '../src/errors.ts';
import type { Queues } from '../src/queue/producer.ts';
import type { Config } from '../src/config/schema.ts';
import { deleteDocuments } from '../src/store/chunks.ts';
import { withTransaction } from '../src/store/db.ts';
import { getIndex, writeTargets } from '../src/store/indexes.ts';
import type { JobDeps } from './deps.ts';
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
];

export async function upsertSystemSchedules(queues: Queues, config: Config): Promise<void> {
  for (const s of SYSTEM_SCHEDULES) await queues[s.queue].upsertJobScheduler(s.name, { every: s.every(config) }, { name: s.jobName, data: {} });
}

export interface ScheduledIngestPayload {
  index: string;
  tenant: string;
  /** Absolute paths (the scheduler may run anywhere). */
  paths: string[];
  baseDir: string;
  mode: 'sync' | 'batch';
}

/** A re-sync's payload; jobs/validate.ts also checks it equals the data of the job scheduler that made it. */
export const scheduledIngestPayloadSchema = z.strictObject({
  index: indexName,
  tenant: tenantId,
  paths: z.array(absolutePath).min(1).max(1000),
  baseDir: absolutePath,
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

export async function handleSchedules(deps: JobDeps, job: Job): Promise<unknown> {
  switch (job.name) {
    case 'cache-gc':
      return cacheGc(deps);
    case 'spend-rollup':
      return spendRollup(deps);
    case 'scheduled-ingest':
      return scheduledIngest(deps, job.data as ScheduledIngestPayload);
    default:
      throw new Error(`unknown scheduled job ${job.name}`);
  }
}

async function cacheGc(deps: JobDeps): Promise<{ deleted: number }> {
  const r = await deps.ctx.db.query(
    `DELETE FROM embedding_cache c USING model_versions mv
      WHERE mv.id = c.model_version_id AND NOT EXISTS (SELECT 1 FROM index_versions v WHERE v.model_version_id = mv.id AND v.state <> 'dropped')`,
  );
  await deps.ctx.db.query(`UPDATE model_versions mv SET retired_at = now() WHERE retired_at IS NULL AND NOT EXISTS (SELECT 1 FROM index_versions v WHERE v.model_version_id = mv.id AND v.state <> 'dropped')`);
  return { deleted: r.rowCount ?? 0 };
}

async function spendRollup(deps: JobDeps): Promise<{ rows: number }> {
  const r = await deps.ctx.db.query(
    `INSERT INTO spend_daily (day, tenant, model_version_id, mode, calls, tokens, cost_usd, saved_usd)
     SELECT (at AT TIME ZONE 'UTC')::date, tenant, coalesce(model_version_id, 0), mode, count(*), coalesce(sum(tokens), 0), sum(cost_usd), sum(saved_usd)
       FROM ledger WHERE at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '1 day'
      GROUP BY 1, 2, 3, 4
     ON CONFLICT (day, tenant, model_version_id, mode) DO UPDATE
       SET calls = EXCLUDED.calls, tokens = EXCLUDED.tokens, cost_usd = EXCLUDED.cost_usd, saved_usd = EXCLUDED.saved_usd`,
  );
  return { rows: r.rowCount ?? 0 };
}

/** Re-syncs a source: documents whose files are gone are removed, then a normal ingest run picks up changes. */
async function scheduledIngest(deps: JobDeps, p: ScheduledIngestPayload): Promise<{ runId: string | null; removed: number }> {
  const index = await getIndex(deps.ctx.db, p.index);
  if (!index) throw new UsageError(`scheduled ingest: index ${p.index} does not exist`);
  const present: string[] = [];
  for await (const item of expandPaths(p.paths)) if (!('kind' in item)) present.push(item.path);
  // Stored documents whose source file lies under a scheduled root but no longer exists.
  const { rows } = await deps.ctx.db.query<{ doc_id: string }>(
    `SELECT doc_id FROM documents WHERE index_id = $1 AND tenant = $2 AND source LIKE ANY($3::text[]) AND NOT source = ANY($4::text[])`,
    [index.id, p.tenant, p.paths.map((x) => `${x.replace(/[\\%_]/g, '\\$&')}%`), present],
  );
  let removed = 0;
  if (rows.length) {
    removed = await withTransaction(deps.ctx.db, async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock_shared(hashtext('embedq.index:' || $1))`, [index.name]);
      const targets = await writeTargets(client, index.id);
      return deleteDocuments(client, index.id, p.tenant, rows.map((r) => r.doc_id), targets.map((t) => t.tableName));
    });
  }
  if (present.length === 0) return { runId: null, removed };
  const run = await startRun(deps.queues, deps.runs, { index: p.index, tenant: p.tenant, paths: present, read: { invalidUtf8: deps.ctx.config.invalidUtf8 }, baseDir: p.baseDir, mode: async () => p.mode });
  return { runId: run.runId, removed };
}
