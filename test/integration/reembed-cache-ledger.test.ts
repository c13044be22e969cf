/**
 * While a reembed dual-writes, one ingest fills two versions from the cache: the ledger's
 * cache_hit row of each version counts that version's hits, not both versions' together.
 */
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { runReembedStart } from '../../src/cli/commands/reembed.ts';
import { currentReembed } from '../../src/reembed/store.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { expect, test } from '../support/fixtures.ts';
import { withSim } from '../support/sim-context.ts';

test('during dual-write each version’s cache_hit row counts its own hits', () =>
  withSim(async (_sim, ctx) => {
    const texts = [prose(61, 4), prose(62, 4), prose(63, 4)];
    await runIngest(ctx, { paths: [writeCorpus({ 'a.txt': texts[0]!, 'b.txt': texts[1]!, 'c.txt': texts[2]! })], index: 'dw' });
    // The backfill embeds every chunk for the target and caches it; without cutover both versions stay written.
    await runReembedStart(ctx, { index: 'dw', to: 'openai/text-embedding-3-small', dims: 64, cutover: false });
    expect((await currentReembed(ctx.db, 'dw'))!.state).toBe('ready');

    // The same texts under new names: new chunks, each a cache hit in the live and in the target version.
    const again = await runIngest(ctx, { paths: [writeCorpus({ 'x.txt': texts[0]!, 'y.txt': texts[1]!, 'z.txt': texts[2]! })], index: 'dw' });
    expect(again.chunks).toBe(3);
    expect(again.embedded).toBe(0);
    const { rows } = await ctx.db.query<{ model_version_id: number; inputs: number }>(
      `SELECT model_version_id, sum(inputs)::int AS inputs FROM ledger WHERE status = 'cache_hit' AND run_id = $1 GROUP BY 1 ORDER BY 1`,
      [again.runId],
    );
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.inputs)).toEqual([3, 3]);
  }));
