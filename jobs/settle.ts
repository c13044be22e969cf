/**
 * Settling one piece of a run (an ingest job, an embed job, a provider batch): counted once per
 * piece id, in Redis. The piece that settles the run's last one enqueues the run's finalize job
 * (its id is derived from the run, so only once), as does sealing a streamed run whose jobs all
 * settled before it knew their number.
 */
import type { Context } from '../src/context.ts';
import type { RunCounters } from '../src/queue/runs.ts';
import type { RunShare } from './define.ts';
import { enqueueFinalize } from './finalize.ts';

export async function settlePiece(ctx: Context, runId: string, pieceId: string, as: RunShare['as'], ok: boolean, counters: Partial<RunCounters> = {}): Promise<void> {
  if (await ctx.runs.settle(runId, pieceId, as, ok, counters)) await finish(ctx, runId);
}

/** Seals a run whose ingest jobs were enqueued as its input streamed in ({@link RunTracker.seal}); finishes it if they all settled already. */
export async function sealRun(ctx: Context, runId: string, ingestJobs: number): Promise<void> {
  if (await ctx.runs.seal(runId, ingestJobs)) await finish(ctx, runId);
}

async function finish(ctx: Context, runId: string): Promise<void> {
  const run = await ctx.runs.get(runId);
  if (run) await enqueueFinalize(ctx, { runId, index: run.index });
}
