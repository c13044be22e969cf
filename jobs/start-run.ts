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
import { enqueueIngests } from './ingest.ts';

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
