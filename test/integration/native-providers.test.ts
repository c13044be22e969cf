/**
 * The four native adapters wired into the factory (issue #12): a provider configured by kind
 * under `providers`, then `<name>/<model>` ingests a corpus and answers a search, each through
 * its official SDK (Jina: HTTP) against the simulator's wire format for it, and nowhere else.
 */
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { runSearch } from '../../src/cli/commands/search.ts';
import { getIndex } from '../../src/store/indexes.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { expect, test } from '../support/fixtures.ts';
import { withSim } from '../support/sim-context.ts';
import { startSimulator, type Simulator } from '../support/simulator/index.ts';

const CASES = [
  { kind: 'voyage', model: 'voyage-3.5', dims: 1024, url: (s: Simulator) => s.voyageUrl, prefix: '/voyage/' },
  { kind: 'mistral', model: 'mistral-embed', dims: 1024, url: (s: Simulator) => s.mistralUrl, prefix: '/mistral/' },
  { kind: 'jina', model: 'jina-embeddings-v3', dims: 1024, url: (s: Simulator) => s.jinaUrl, prefix: '/jina/' },
  { kind: 'gemini', model: 'gemini-embedding-001', dims: 768, url: (s: Simulator) => s.geminiUrl, prefix: '/gemini/' },
] as const;

test.for(CASES)('a $kind provider from the config indexes a corpus and answers a search', async ({ kind, model, dims, url, prefix }) => {
  const sim = await startSimulator();
  try {
    const providers = { [`my-${kind}`]: { kind, baseUrl: url(sim), apiKey: `${kind}-test-0123456789` } };
    await withSim(
      async (openai, ctx) => {
        const dir = writeCorpus({ 'a.txt': prose(901, 10), 'b.txt': prose(902, 10) });
        const r = await runIngest(ctx, { paths: [dir], index: 'native', model: `my-${kind}/${model}`, dims, chunkTokens: 60, chunkOverlap: 0 });
        expect(r.failedJobs).toBe(0);
        expect(r.embedded).toBe(r.chunks);
        expect(r.chunks).toBeGreaterThan(2);
        expect((await getIndex(ctx.db, 'native'))!.live.modelKey).toMatch(new RegExp(`^my-${kind}/${model}@.*:${dims}$`));
        // Every request went to this provider's route of its own server; the built-in one saw nothing.
        const log = sim.stats().log;
        expect(log.length).toBeGreaterThan(0);
        expect(log.every((e) => e.path.startsWith(prefix))).toBe(true);
        expect(openai.stats().requests).toBe(0);

        const { rows } = await ctx.db.query<{ text: string }>(`SELECT text FROM chunks ORDER BY id LIMIT 1`);
        const found = await runSearch(ctx, { query: rows[0]!.text, index: 'native', k: 3 });
        expect(found.hits.length).toBeGreaterThan(0);
        expect(sim.stats().log.length).toBe(log.length + 1); // the query went there too
        // The ledger names the configured provider.
        const { rows: led } = await ctx.db.query<{ provider: string }>(`SELECT DISTINCT provider FROM ledger WHERE status = 'ok'`);
        expect(led.map((x) => x.provider)).toEqual([`my-${kind}`]);
      },
      { providers },
    );
  } finally {
    await sim.close();
  }
});
