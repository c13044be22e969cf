/** --dry-run estimates against the ledger of the real run, and spend from the ledger. */
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { runDryRun } from '../../src/cli/commands/ingest-dry-run.ts';
import { runSpend } from '../../src/cli/commands/spend.ts';
import { parseSince } from '../../src/cli/parse.ts';
import { tokenizerFor } from '../../src/corpus/tokenizer.ts';
import { countRows, ledgerSums } from '../support/assert.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { describe, expect, test } from '../support/fixtures.ts';
import { withSim } from '../support/sim-context.ts';

const MODEL = 'openai/text-embedding-3-small';
const cl100k = tokenizerFor('cl100k_base');

test('--dry-run writes nothing, and its token estimate matches the real run within 1%', () =>
  withSim(
    async (sim, ctx) => {
      const files: Record<string, string> = {};
      for (let i = 0; i < 15; i++) files[`d${i}.md`] = `# Title ${i}\n\n${prose(i + 70, 25)}`;
      files['dup.txt'] = files['d3.md']!;
      const dir = writeCorpus(files);
      const est = await runDryRun(ctx, { paths: [dir], index: 'est', model: MODEL, dims: 256, chunkTokens: 80, chunkOverlap: 10 });
      expect(sim.stats().requests).toBe(0);
      expect(await countRows(ctx, 'indexes')).toBe(0);
      expect(est.newIndex).toBe(true);
      expect(est.documents).toBe(16);
      expect(est.estimatedCostUsd.batch).toBeCloseTo(est.estimatedCostUsd.sync / 2, 12);

      const real = await runIngest(ctx, { paths: [dir], index: 'est', model: MODEL, dims: 256, chunkTokens: 80, chunkOverlap: 10 });
      expect(real.chunks).toBe(est.chunks);
      const spent = await ledgerSums(ctx, `status = 'ok' AND mode = 'sync'`);
      expect(Math.abs(spent.tokens! - est.tokensToEmbed) / spent.tokens!).toBeLessThanOrEqual(0.01);
      expect(Math.abs(spent.costUsd! - est.estimatedCostUsd.sync)).toBeLessThanOrEqual(est.estimatedCostUsd.sync * 0.01);

      // After the run, the same dry run finds nothing to do.
      const again = await runDryRun(ctx, { paths: [dir], index: 'est' });
      expect(again).toMatchObject({ documents: 0, documentsSkipped: 16, toEmbed: 0, tokensToEmbed: 0 });
    },
    {},
    { countTokens: (t) => cl100k.count(t) },
  ));

test('spend shows money spent per tenant and model, tokens saved by the cache', () =>
  withSim(async (_sim, ctx) => {
    const dir = writeCorpus({ 'a.txt': prose(1, 20), 'b.txt': prose(2, 20) });
    await runIngest(ctx, { paths: [dir], index: 'sa', model: MODEL, dims: 64, tenant: 'acme' });
    await runIngest(ctx, { paths: [dir], index: 'sb', model: MODEL, dims: 64, tenant: 'acme' }); // all cache hits
    await runIngest(ctx, { paths: [dir], index: 'sc', model: MODEL, dims: 64, tenant: 'globex' });
    const byTenant = await runSpend(ctx, { by: 'tenant' });
    const acme = byTenant.rows.find((r) => r.key === 'acme')!;
    const globex = byTenant.rows.find((r) => r.key === 'globex')!;
    expect(acme.spentUsd).toBeGreaterThan(0);
    expect(acme.spentUsd).toBeCloseTo(globex.spentUsd, 12);
    expect(acme.cacheTokensSaved).toBe(acme.tokens);
    expect(globex.cacheTokensSaved).toBe(0);
    expect(byTenant.total.spentUsd).toBeCloseTo(acme.spentUsd + globex.spentUsd, 12);
    const byModel = await runSpend(ctx, { by: 'model' });
    expect(byModel.rows.map((r) => r.key)).toEqual(['openai/text-embedding-3-small@1:64']);
    await expect(runSpend(ctx, { by: 'color' })).rejects.toThrow(/--by must be tenant, model, day, mode, key/);
  }, {}, { countTokens: (t) => cl100k.count(t) }));

describe('parseSince', () => {
  test('durations and dates', () => {
    const now = Date.parse('2026-11-22T12:00:00Z');
    expect(parseSince('24h', now)!.toISOString()).toBe('2026-11-21T12:00:00.000Z');
    expect(parseSince('7d', now)!.toISOString()).toBe('2026-11-15T12:00:00.000Z');
    expect(parseSince('2026-11-01')!.toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(() => parseSince('yesterday')).toThrow(/--since must be/);
  });
});
