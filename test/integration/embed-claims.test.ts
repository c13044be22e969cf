/**
 * No input is paid twice by jobs in flight at the same time: a re-run of `ingest` while the first
 * run's embed job is still at the provider waits for that job's inputs instead of sending them
 * again. The provider simulator holds the first run's request until the test lets it go.
 */
import { Queue } from 'bullmq';
import { runIngest } from '../../src/cli/commands/ingest.ts';
import type { Context } from '../../src/context.ts';
import { RunTracker } from '../../src/queue/runs.ts';
import { startWorkers } from '../../workers/runtime.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { expect, test } from '../support/fixtures.ts';
import { waitUntil } from '../support/wait.ts';
import { withSim } from '../support/sim-context.ts';


/** Resolves once an embed job of `runId` has logged that it waits for another job's inputs. */
async function waitingOnClaims(ctx: Context, runId: string): Promise<void> {
  const q = new Queue('embed', { connection: ctx.redis, prefix: ctx.config.redisPrefix });
  try {
    await waitUntil(
      `an embed job of run ${runId} waiting on claims`,
      async () => {
        for (const j of await q.getJobs(['active'])) {
          if ((j.data as { runId: string }).runId !== runId) continue;
          const { logs } = await q.getJobLogs(j.id!);
          if (logs.some((l) => l.startsWith('waiting for'))) return true;
        }
        return false;
      },
      (v) => v,
    );
  } finally {
    await q.close();
  }
}

test('a re-run while the first run is at the provider pays for no input twice', () =>
  withSim(async (sim, ctx) => {
    const files = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`d${i}.txt`, prose(i + 500, 10)]));
    const dir = writeCorpus(files);
    const runs = new RunTracker(ctx.redis, ctx.config.redisPrefix);
    const workers = await startWorkers(ctx, { concurrency: 4 });
    const gate = sim.hold();
    try {
      const first = await runIngest(ctx, { paths: [dir], index: 'twice', model: 'openai/text-embedding-3-small', dims: 64, chunkTokens: 40, chunkOverlap: 0, wait: false, localWorker: false });
      // The first run's one embed job is at the provider, its inputs claimed.
      await gate.arrived(1);
      const second = await runIngest(ctx, { paths: [dir], index: 'twice', wait: false, localWorker: false });
      // Either the second run's job sends the same inputs (a second request arrives) or it waits for them.
      await Promise.race([gate.arrived(2), waitingOnClaims(ctx, second.runId)]);
      gate.release();
      for (const id of [first.runId, second.runId]) await waitUntil(`run ${id} to finish`, () => runs.get(id), (s) => s?.finalized === true);
      const { rows } = await ctx.db.query<{ chunks: number; distinct: number }>('SELECT count(*)::int AS chunks, count(DISTINCT text_hash)::int AS distinct FROM chunks');
      expect(rows[0]!.chunks).toBeGreaterThan(10);
      expect(sim.stats().inputs).toBe(rows[0]!.distinct);
      expect(sim.stats().requests).toBe(1);
      const a = (await runs.get(first.runId))!;
      const b = (await runs.get(second.runId))!;
      expect({ failed: a.failedJobs + b.failedJobs, embedded: a.embedded, secondEmbedded: b.embedded, secondHits: b.cacheHits }).toEqual({ failed: 0, embedded: rows[0]!.distinct, secondEmbedded: 0, secondHits: rows[0]!.chunks });
    } finally {
      gate.release();
      await workers.close();
    }
  }));
