/** `reembed status`: the backfill rate is the backfill's rows over the backfill's own span. */
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { runReembedStart } from '../../src/cli/commands/reembed.ts';
import { formatReembedStatus, reembedStatus } from '../../src/cli/commands/reembed-status.ts';
import { currentReembed, reembedRunId } from '../../src/reembed/store.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { expect, test } from '../support/fixtures.ts';
import { withSim } from '../support/sim-context.ts';

test('a finished backfill reports rows over its own span, not over the time since the migration started', () =>
  withSim(async (_sim, ctx) => {
    const dir = writeCorpus(Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`d${i}.txt`, prose(i + 40, 6)])));
    await runIngest(ctx, { paths: [dir], index: 'rate', chunkTokens: 40, chunkOverlap: 0 });
    const done = await runReembedStart(ctx, { index: 'rate', to: 'openai/text-embedding-3-small', dims: 64, cutover: false });
    expect(done.migration!.state).toBe('ready');
    const rows = done.coverage!.target;
    expect(rows).toBeGreaterThan(0);
    // As if the status were asked an hour later, of a backfill that took 2 s: started 3,602 s ago, its writes done 3,600 s ago.
    const m = (await currentReembed(ctx.db, 'rate'))!;
    const now = Date.now();
    await ctx.redis.hset(`${ctx.config.redisPrefix}:run:${reembedRunId(m)}`, { startedAt: now - 3_602_000, finalizeStartedAt: now - 3_600_000 });
    const s = await reembedStatus(ctx, 'rate');
    expect(s.rate).toBeCloseTo(rows / 2, 6);
    expect(s.etaMs).toBeNull();
    expect(formatReembedStatus(s)).toContain(`${(rows / 2).toFixed(0)} rows/s`);
  }), 120_000); // a safety net for a loaded machine (an ingest and a reembed), not a bound
