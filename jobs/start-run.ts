/**
 * Starts an ingest run: plans the sources (no document is read here), records the run, and
 * enqueues its ingest jobs with ids derived from the run and the source. Used by `embedq ingest`
 * and by scheduled re-syncs.
 */
import { randomBytes } from 'node:crypto';
import type { ExpandOptions } from '../src/corpus/readers/expand.ts';
import { describeRoot } from '../src/corpus/readers/roots.ts';
import type { ReadOptions } from '../src/corpus/readers/types.ts';
import { planSources } from '../src/pipeline/plan.ts';
import type { IngestSourceSpec } from '../src/pipeline/types.ts';
import type { Context } from '../src/context.ts';
import type { RecordPack } from '../src/pipeline/records.ts';
import { enqueueIngests } from './ingest.ts';
import { sealRun } from './settle.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { liveWorkers } from '../workers/heartbeat.ts';

export interface StartRun {
  index: string;
  tenant: string;
  /** The roots as given: document ids are relative to the folder holding each (see roots.ts). */
  paths: string[];
  read: ReadOptions;
  /** Resolves the run's mode once the sources are known (auto mode looks at their size). */
  mode: (sources: IngestSourceSpec[]) => Promise<'sync' | 'batch'>;
  /** Read links out of the given roots and walk links to directories (see {@link ExpandOptions}). @default false */
  followSymlinks?: boolean;
  /** The sources, when the caller planned them already (`embedq ingest` checks there is something to read first). */
  plan?: Plan;
}

export type Plan = Awaited<ReturnType<typeof planSources>>;

export async function startRun(ctx: Context, s: StartRun): Promise<{ runId: string; jobs: number; mode: 'sync' | 'batch'; rejected: { path: string; reason: string }[] }> {
  const plan = s.plan ?? (await planSources(s.paths, { followSymlinks: s.followSymlinks ?? false }));
  const mode = await s.mode(plan.sources);
  const runId = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  await ctx.runs.create(runId, { index: s.index, tenant: s.tenant, ingestJobs: plan.sources.length, roots: [...new Set((await Promise.all(s.paths.map(describeRoot))).map((r) => r.base))] });
  await ctx.runs.reject(runId, plan.rejected);
  await enqueueIngests(ctx, plan.sources.map((source) => ({ runId, index: s.index, tenant: s.tenant, source, read: s.read, mode })));
  return { runId, jobs: plan.sources.length, mode, rejected: plan.rejected };
}

/** Most record jobs a producer keeps enqueued ahead of the workers, while some are live. */
const RECORD_JOBS_AHEAD = 8;

/**
 * Starts a run over records that stream in (the programmatic API). The run is recorded with no
 * ingest jobs yet; `produce` then enqueues each pack as its own job as soon as it is full, so
 * workers start on it while the rest is still being read, and seals the run with the number of
 * jobs at the end ({@link sealRun}). While workers are live it stays at most
 * {@link RECORD_JOBS_AHEAD} jobs ahead of them, so Redis holds a few packs, not the whole input.
 * A producer that stops before the end leaves the run unsealed: what was enqueued is still
 * stored, and ingesting the same records again skips it.
 */
export async function startRecordsRun(
  ctx: Context,
  s: { index: string; tenant: string; label: string; read: ReadOptions; mode: 'sync' | 'batch'; packs: AsyncIterable<RecordPack> },
): Promise<{ runId: string; produce: () => Promise<{ jobs: number; rejected: number }> }> {
  const runId = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  await ctx.runs.create(runId, { index: s.index, tenant: s.tenant, ingestJobs: 0, roots: [] });
  const produce = async () => {
    let jobs = 0;
    let rejected = 0;
    for await (const pack of s.packs) {
      await ctx.runs.reject(runId, pack.rejected);
      rejected += pack.rejected.length;
      if (pack.records.length === 0) continue;
      while (jobs - ((await ctx.runs.get(runId))?.ingestSettled ?? 0) >= RECORD_JOBS_AHEAD && (await liveWorkers(ctx.redis, ctx.config.redisPrefix)) > 0)
        await sleep(100);
      await enqueueIngests(ctx, [{ runId, index: s.index, tenant: s.tenant, source: { kind: 'records', seq: jobs, label: s.label, records: pack.records }, read: s.read, mode: s.mode }]);
      jobs++;
    }
    await sealRun(ctx, runId, jobs);
    return { jobs, rejected };
  };
  return { runId, produce };
}
