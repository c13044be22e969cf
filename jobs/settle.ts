/**
 * Settling one piece of a run (an ingest job, an embed job, a provider batch): counted once per
 * piece id, in Redis. The piece that settles the run's last one enqueues the run's finalize job
 * (its id is derived from the run, so only once).
 */
import type { Context } from '../src/context.ts';
import type { RunCounters } from '../src/queue/runs.ts';
import type { RunShare } from './define.ts';
import { enqueueFinalize } from './finalize.ts';

export async function settlePiece(ctx: Context, runId: string, pieceId: string, as: RunShare['as'], ok: boolean, counters: Partial<RunCounters> = {}): Promise<void> {
  const done = await ctx.runs.settle(runId, pieceId, as, ok, counters);
  if (!done) return;
  const run = await ctx.runs.get(runId);
  if (run) await enqueueFinalize(ctx, { runId, index: run.index });
}
