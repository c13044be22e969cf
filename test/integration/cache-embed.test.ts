/**
 * Online inputs through the cache ingest writes (issue #13 item 3): a chunk `embedq ingest`
 * embedded costs nothing for its tenant and a provider call for another; the misses of a request
 * go out together, each text once, in input order; concurrent identical misses are embedded once.
 */
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { CacheEmbedder, type CachePlan } from '../../src/gateway/cache-embed.ts';
import { getIndex } from '../../src/store/indexes.ts';
import { writeCorpus } from '../support/corpus.ts';
import { expect, test } from '../support/fixtures.ts';
import { withSim } from '../support/sim-context.ts';

const MODEL = 'openai/text-embedding-3-small';
const TEXT = 'Exactly-once vectors under crashes are why people pick embedq.';

test('a chunk ingest embedded is a hit for its tenant, with no provider call; another tenant pays for its own', async () => {
  await withSim(async (sim, ctx) => {
    await runIngest(ctx, { paths: [writeCorpus({ 'a.txt': TEXT })], index: 'kb', model: MODEL, dims: 256, tenant: 'acme' });
    const mv = (await getIndex(ctx.db, 'kb'))!.live.modelVersionId;
    const before = sim.stats().requests;
    const embedder = new CacheEmbedder(ctx.db, ctx.providers);
    const hit = await embedder.embed({ tenant: 'acme', modelVersionId: mv, inputs: [TEXT], inputType: 'query' });
    expect(hit).toMatchObject({ hits: 1, tokens: 0 });
    expect(sim.stats().requests).toBe(before);

    const other = await embedder.embed({ tenant: 'globex', modelVersionId: mv, inputs: [TEXT, 'fresh words', TEXT], inputType: 'query' });
    // One request, each distinct text once; both copies answered, in order, with the same vector.
    expect(sim.stats().requests).toBe(before + 1);
    expect(sim.stats().log.at(-1)!.inputs).toBe(2);
    expect(other.hits).toBe(1);
    expect(other.vectors[0]).toEqual(other.vectors[2]);
    expect(other.vectors[0]).toEqual(hit.vectors[0]);
    expect(other.vectors[1]).not.toEqual(other.vectors[0]);
    // Written to the cache (`written` settles once the rows are in): asked again, globex's inputs are all hits.
    await other.written;
    expect((await embedder.embed({ tenant: 'globex', modelVersionId: mv, inputs: ['fresh words'], inputType: 'document' })).hits).toBe(1);
    expect(sim.stats().requests).toBe(before + 1);
  });
});

test('two concurrent requests with the same miss: one provider input, both answered with it', async () => {
  await withSim(async (sim, ctx) => {
    await runIngest(ctx, { paths: [writeCorpus({ 'a.txt': TEXT })], index: 'kb', model: MODEL, dims: 256 });
    const mv = (await getIndex(ctx.db, 'kb'))!.live.modelVersionId;
    const before = sim.stats().requests;
    const embedder = new CacheEmbedder(ctx.db, ctx.providers);
    const gate = sim.hold();
    const req = { tenant: 'default', modelVersionId: mv, inputs: ['the same new query'], inputType: 'query' as const };
    const first = embedder.embed(req);
    await gate.arrived(1);
    let plan!: CachePlan;
    let decided!: () => void;
    const planned = new Promise<void>((resolve) => (decided = resolve));
    const second = embedder.embed(req, { onPlan: (p) => ((plan = p), decided()) });
    await planned;
    // It rides on the first request's flight instead of sending its own.
    expect(plan).toEqual({ cached: 0, borrowed: 1, misses: 0 });
    gate.release();
    const [x, y] = await Promise.all([first, second]);
    await Promise.all([x.written, y.written]);
    expect(sim.stats().requests).toBe(before + 1);
    expect(y.vectors[0]).toEqual(x.vectors[0]);
    expect(y.hits).toBe(1);
  });
});
