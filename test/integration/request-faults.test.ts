/**
 * Faults of one provider request, seen from an ingest: the request is retried inside the job (a
 * body cut off mid-response), so the job itself succeeds at its first attempt.
 */
import { Queue } from 'bullmq';
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { expect, test } from '../support/fixtures.ts';
import { withSim } from '../support/sim-context.ts';
import { cutMidBody } from '../support/simulator/intercept.ts';

test('a response cut off mid-body ("terminated") retries that request, not the job', () =>
  withSim(async (sim, ctx) => {
    const dir = writeCorpus({ 'a.txt': prose(7, 12) });
    sim.intercept(cutMidBody());
    const r = await runIngest(ctx, { paths: [dir], index: 'cut', model: 'openai/text-embedding-3-small', dims: 64, chunkTokens: 40, chunkOverlap: 0 });
    expect(r.failedJobs).toBe(0);
    expect(r.embedded).toBe(r.chunks);
    const q = new Queue('embed', { connection: ctx.redis, prefix: ctx.config.redisPrefix });
    const done = await q.getCompleted(0, -1);
    await q.close();
    expect(done).toHaveLength(1);
    expect(done[0]!.attemptsMade).toBe(1);
    // The cut-off attempt reached the provider, which may have billed it: `unknown`, not `retry`.
    const { rows } = await ctx.db.query(`SELECT attempt, status, inputs FROM ledger WHERE mode = 'sync' ORDER BY attempt`);
    expect(rows.map((x) => [x.attempt, x.status])).toEqual([[1, 'unknown'], [2, 'ok']]);
    expect(rows.reduce((a, x) => a + x.inputs, 0)).toBe(sim.stats().inputs);
  }));
