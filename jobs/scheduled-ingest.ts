/**
 * `scheduled-ingest` job (queue `schedules`): a user's source re-sync (`embedq schedules add`),
 * made by a BullMQ job scheduler, upserted by name, so it survives restarts.
 */
import { isDeepStrictEqual } from 'node:util';
import { resolve } from 'node:path';
import type { Job, RepeatOptions } from 'bullmq';
import { z } from 'zod';
import { expandPaths } from '../src/corpus/readers/expand.ts';
import { readFields } from '../src/corpus/readers/record-fields.ts';
import { describeRoot, inRoot } from '../src/corpus/readers/roots.ts';
import { UsageError } from '../src/errors.ts';
import { deleteDocuments } from '../src/store/chunks.ts';
import { vanishedDocuments } from '../src/store/documents.ts';
import { withTransaction } from '../src/store/db.ts';
import { getIndex } from '../src/store/indexes.ts';
import { lockIndexShared } from '../src/store/locks.ts';
import { writeTargets } from '../src/reembed/store.ts';
import type { Context } from '../src/context.ts';
import { defineJob, jobOptions } from './define.ts';
import { absolutePath, indexName, tenantId } from './fields.ts';
import { SCHEDULES } from './shared-queues.ts';
import { startRun } from './start-run.ts';

export interface ScheduledIngestPayload {
  index: string;
  tenant: string;
  /** Absolute paths (the scheduler may run anywhere). */
  paths: string[];
  /** Recorded by schedules made before document ids were formed from the roots; unused. */
  baseDir?: string;
  /** JSONL/CSV record ids are global, as `embedq ingest --global-ids`. */
  globalIds?: boolean;
  /** The record flags the source is read with, as `embedq ingest --text-field/--id-field/--metadata-columns`. */
  fields?: { textField?: string; idField?: string; metadataColumns?: string };
  /** Links out of the roots are read and links to directories walked, as `embedq ingest --follow-symlinks`. */
  followSymlinks?: boolean;
  mode: 'sync' | 'batch';
}

/** A re-sync must be exactly what the job scheduler that made it holds. */
async function notFromScheduler(ctx: Context, job: Job<ScheduledIngestPayload>): Promise<string | undefined> {
  const scheduler = job.repeatJobKey ? await ctx.queues[scheduledIngestJob.queue].getJobScheduler(job.repeatJobKey) : undefined;
  if (scheduler && isDeepStrictEqual(scheduler.template?.data, job.data)) return undefined;
  return `a re-sync must come from a job scheduler (\`embedq schedules add\`) and carry its data unchanged${job.repeatJobKey ? `; scheduler ${job.repeatJobKey} ${scheduler ? 'holds other data' : 'does not exist'}` : ''}`;
}

/**
 * Re-syncs a source: documents whose files are gone from under a root are removed, then a normal
 * ingest run picks up changes. Nothing is removed unless every root itself was read: a root that
 * is missing or unreadable for a moment (unmounted, renamed, a permission hiccup) fails the job,
 * and a folder below a root that cannot be read keeps its documents.
 */
async function scheduledIngest(ctx: Context, job: Job<ScheduledIngestPayload>): Promise<{ runId: string | null; removed: number }> {
  const p = job.data;
  const index = await getIndex(ctx.db, p.index);
  if (!index) throw new UsageError(`scheduled ingest: index ${p.index} does not exist`);
  const roots = await Promise.all(p.paths.map((x) => describeRoot(x)));
  const present: string[] = [];
  const unread: { path: string; reason: string }[] = [];
  const followSymlinks = p.followSymlinks ?? false;
  for await (const item of expandPaths(p.paths, { followSymlinks })) {
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
      await lockIndexShared(client, index.name);
      const targets = await writeTargets(client, index.id);
      return deleteDocuments(client, index.id, p.tenant, vanished.map((d) => d.docId), targets.map((t) => t.tableName));
    });
  }
  if (present.length === 0) return { runId: null, removed };
  // The roots, not the files found: document ids are formed from the roots, as `embedq ingest` forms them.
  // Read as the first ingest read it: the same record flags, the same links followed.
  const read = { invalidUtf8: ctx.config.invalidUtf8, ...readFields({ ...p.fields, globalIds: p.globalIds }) };
  const run = await startRun(ctx, { index: p.index, tenant: p.tenant, paths: p.paths, read, mode: async () => p.mode, followSymlinks });
  return { runId: run.runId, removed };
}

export const scheduledIngestJob = defineJob({
  name: 'scheduled-ingest',
  ...SCHEDULES,
  schema: z.strictObject({
    index: indexName,
    tenant: tenantId,
    paths: z.array(absolutePath).min(1).max(1000),
    baseDir: absolutePath.optional(),
    globalIds: z.boolean().optional(),
    fields: z.strictObject({ textField: z.string().min(1).max(128).optional(), idField: z.string().min(1).max(128).optional(), metadataColumns: z.string().min(1).max(10_000).optional() }).optional(),
    followSymlinks: z.boolean().optional(),
    mode: z.enum(['sync', 'batch']),
  }) satisfies z.ZodType<ScheduledIngestPayload>,
  check: notFromScheduler,
  handler: scheduledIngest,
});

/** Upserts the job scheduler `name` that re-syncs `payload` on `repeat` (an existing one is replaced). */
export async function scheduleIngest(ctx: Context, name: string, repeat: RepeatOptions, payload: ScheduledIngestPayload): Promise<void> {
  const def = scheduledIngestJob;
  await ctx.queues[def.queue].upsertJobScheduler(name, repeat, { name: def.name, data: payload, opts: jobOptions(def, ctx.config) });
}
