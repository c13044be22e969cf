/**
 * Named providers from the config (issue #12): two openai-compatible servers side by side, each
 * getting only its own traffic, and a catalogue field overridden per provider taking effect.
 */
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { getIndex } from '../../src/store/indexes.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { expect, test } from '../support/fixtures.ts';
import { withSim } from '../support/sim-context.ts';
import { startSimulator } from '../support/simulator/index.ts';

function corpus(n: number): string {
  const files: Record<string, string> = {};
  for (let i = 0; i < n; i++) files[`d${i}.txt`] = prose(i + 500, 12);
  return writeCorpus(files);
}

const limits = { maxInputTokens: 512, maxInputsPerRequest: 4, maxTokensPerRequest: 4096 };

test('two openai-compatible providers at once: each ingest goes only to its own server, under its own name', async () => {
  const a = await startSimulator({ defaultDims: 384 });
  const b = await startSimulator({ defaultDims: 768 });
  try {
    const providers = {
      'tei-a': { kind: 'openai-compatible', baseUrl: a.url, models: { 'bge-small': { nativeDims: 384, ...limits } } },
      'tei-b': { kind: 'openai-compatible', baseUrl: b.url, headers: { 'x-route': 'b' }, models: { 'nomic-embed-text': { nativeDims: 768, ...limits } } },
    };
    await withSim(
      async (openai, ctx) => {
        const dir = corpus(6);
        const ra = await runIngest(ctx, { paths: [dir], index: 'ia', model: 'tei-a/bge-small', chunkTokens: 60, chunkOverlap: 0 });
        expect(ra.embedded).toBe(ra.chunks);
        expect(a.stats().inputs).toBe(ra.chunks);
        expect(a.stats().log.every((e) => e.model === 'bge-small' && (e.inputs ?? 0) <= 4)).toBe(true);
        expect(b.stats().requests).toBe(0);
        const aRequests = a.stats().requests;

        const rb = await runIngest(ctx, { paths: [dir], index: 'ib', model: 'tei-b/nomic-embed-text', chunkTokens: 60, chunkOverlap: 0 });
        expect(rb.embedded).toBe(rb.chunks);
        expect(b.stats().inputs).toBe(rb.chunks);
        expect(b.stats().log.every((e) => e.model === 'nomic-embed-text')).toBe(true);
        expect(a.stats().requests).toBe(aRequests);
        // The built-in OpenAI base URL saw nothing.
        expect(openai.stats().requests).toBe(0);

        expect((await getIndex(ctx.db, 'ia'))!.live.modelKey).toBe('tei-a/bge-small@1:384');
        expect((await getIndex(ctx.db, 'ib'))!.live.modelKey).toBe('tei-b/nomic-embed-text@1:768');
        // The ledger (and so the rate limiter and spend) keeps the two apart by the provider's name.
        const { rows } = await ctx.db.query<{ provider: string; calls: number }>(`SELECT provider, count(*)::int AS calls FROM ledger GROUP BY provider ORDER BY provider`);
        expect(rows.map((r) => r.provider)).toEqual(['tei-a', 'tei-b']);
      },
      { providers },
    );
  } finally {
    await a.close();
    await b.close();
  }
});

test('a catalogue field overridden under providers.<name>.models takes effect', async () => {
  const c = await startSimulator();
  try {
    await withSim(
      async (openai, ctx) => {
        const dir = corpus(4);
        const r = await runIngest(ctx, { paths: [dir], index: 'oc', model: 'oai2/text-embedding-3-small', dims: 256, chunkTokens: 60, chunkOverlap: 0 });
        expect(r.embedded).toBe(r.chunks);
        // The catalogue's 2,048 inputs per request became 3, and the price 1 USD per 1M tokens.
        expect(c.stats().log.every((e) => (e.inputs ?? 0) <= 3 && e.dimensions === 256)).toBe(true);
        expect(c.stats().requests).toBe(Math.ceil(r.chunks / 3));
        expect(r.costUsd).toBeCloseTo(r.tokens / 1e6, 10);
        expect(openai.stats().requests).toBe(0);
      },
      { providers: { oai2: { kind: 'openai', baseUrl: c.url, apiKey: 'sk-other-0123456789', models: { 'text-embedding-3-small': { maxInputsPerRequest: 3, priceSyncPerMTok: 1 } } } } },
    );
  } finally {
    await c.close();
  }
});
