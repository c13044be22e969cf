/**
 * `finalize` job: after a run settles, build the HNSW index of every target version that has
 * none yet (bulk loads build it after the load) and mark the run finalized.
 */
import type { Job } from 'bullmq';
import { finalizeIndexVersion, getIndex, writeTargets } from '../src/store/indexes.ts';
import type { JobDeps } from './deps.ts';

export interface FinalizePayload {
  runId: string;
  index: string;
}

export async function handleFinalize(deps: JobDeps, job: Job<FinalizePayload>): Promise<{ built: number }> {
  await deps.runs.markFinalizing(job.data.runId);
  const index = await getIndex(deps.ctx.db, job.data.index);
  let built = 0;
  if (index) for (const t of await writeTargets(deps.ctx.db, index.id)) if ((await finalizeIndexVersion(deps.ctx.db, t.id)).built) built++;
  await deps.runs.markFinalized(job.data.runId);
  return { built };
}
