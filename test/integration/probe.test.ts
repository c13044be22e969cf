/**
 * An openai-compatible model configured without its native size (issue #12 item 2): the first
 * ingest probes the server once with a one-word input, records what it saw in model_versions
 * (and the call in the ledger), and later commands read the record instead of probing again.
 */
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { runDryRun } from '../../src/cli/commands/ingest-dry-run.ts';
import { runReembedStart } from '../../src/cli/commands/reembed.ts';
import type { Context } from '../../src/context.ts';
import { getIndex } from '../../src/store/indexes.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { expect, test } from '../support/fixtures.ts';
import { withSim } from '../support/sim-context.ts';
import { startSimulator, type Simulator, type SimulatorOptions } from '../support/simulator/index.ts';

function corpus(n: number, seed: number): string {
  const files: Record<string, string> = {};
  for (let i = 0; i < n; i++) files[`d${i}.txt`] = prose(seed + i, 12);
  return writeCorpus(files);
}

/** A context whose provider `tei` is a simulator of its own, serving `models` as configured. */
async function withTei(models: Record<string, object>, fn: (tei: Simulator, ctx: Context) => Promise<void>, simOpts: SimulatorOptions = { defaultDims: 384 }): Promise<void> {
  const tei = await startSimulator(simOpts);
  try {
    await withSim((_openai, ctx) => fn(tei, ctx), { providers: { tei: { kind: 'openai-compatible', baseUrl: tei.url, models } } });
  } finally {
    await tei.close();
  }
}

const rows = async (ctx: Context) =>
  (await ctx.db.query<{ id: number; key: string; native_dims: number }>(`SELECT id, key, native_dims FROM model_versions WHERE provider = 'tei' ORDER BY id`)).rows;

test('no nativeDims: the first ingest probes once with one input, records the size, and no later command probes again', async () => {
  await withTei({ 'bge-small': {} }, async (tei, ctx) => {
    const notices: string[] = [];
    const notice = (line: string) => notices.push(line);
    const r = await runIngest(ctx, { paths: [corpus(5, 700)], index: 'p1', model: 'tei/bge-small', chunkTokens: 60, chunkOverlap: 0, notice });
    expect(r.embedded).toBe(r.chunks);
    const log = tei.stats().log;
    // The probe came first, alone and with one input; then only the run's requests.
    expect(log[0]).toMatchObject({ path: '/v1/embeddings', status: 200, model: 'bge-small', inputs: 1 });
    expect(tei.stats().inputs).toBe(1 + r.chunks);
    expect(notices).toEqual(['probed tei/bge-small: 384 dims']);
    expect((await getIndex(ctx.db, 'p1'))!.live.modelKey).toBe('tei/bge-small@1:384');
    const recorded = await rows(ctx);
    expect(recorded).toEqual([{ id: expect.any(Number), key: 'tei/bge-small@1:384', native_dims: 384 }]);
    // The probe is a call like any other in the ledger, against the recorded model version.
    const { rows: ledger } = await ctx.db.query<{ inputs: number; status: string; model_version_id: number; tenant: string }>(
      `SELECT inputs, status, model_version_id, tenant FROM ledger WHERE provider = 'tei' ORDER BY id LIMIT 1`,
    );
    expect(ledger).toEqual([{ inputs: 1, status: 'ok', model_version_id: recorded[0]!.id, tenant: 'default' }]);

    // Another index on the same model, a dry run, and an ingest with --dims of the recorded size: the record answers.
    const dir = corpus(3, 800);
    const dry = await runDryRun(ctx, { paths: [dir], index: 'p3', model: 'tei/bge-small' });
    expect(dry.modelVersion).toBe('tei/bge-small@1:384');
    const r2 = await runIngest(ctx, { paths: [dir], index: 'p2', model: 'tei/bge-small', chunkTokens: 60, chunkOverlap: 0, notice });
    expect(r2.embedded).toBe(r2.chunks);
    expect(tei.stats().inputs).toBe(1 + r.chunks + r2.chunks);
    expect(notices).toHaveLength(1);
    expect((await rows(ctx)).map((m) => m.key)).toEqual(['tei/bge-small@1:384']);
  });
});

test('reembed start to such a model probes it once too, and its target index has the size seen', async () => {
  await withTei({ 'bge-small': {} }, async (tei, ctx) => {
    const notices: string[] = [];
    await runIngest(ctx, { paths: [corpus(3, 1200)], index: 'r1', chunkTokens: 60, chunkOverlap: 0 });
    const s = await runReembedStart(ctx, { index: 'r1', to: 'tei/bge-small', cutover: false, notice: (line) => notices.push(line) });
    expect(s.migration!.state).toBe('ready');
    expect(notices).toEqual(['probed tei/bge-small: 384 dims']);
    expect(tei.stats().log[0]).toMatchObject({ inputs: 1, status: 200 });
    expect((await rows(ctx)).map((m) => [m.key, m.native_dims])).toEqual([['tei/bge-small@1:384', 384]]);
  });
}, 120_000); // a safety net for a loaded machine (an ingest and a reembed), not a bound

test('declared nativeDims, or --dims without it, means no probe', async () => {
  await withTei({ declared: { nativeDims: 384 }, sized: {} }, async (tei, ctx) => {
    const notices: string[] = [];
    const notice = (line: string) => notices.push(line);
    const a = await runIngest(ctx, { paths: [corpus(3, 900)], index: 'd1', model: 'tei/declared', chunkTokens: 60, chunkOverlap: 0, notice });
    const b = await runIngest(ctx, { paths: [corpus(3, 950)], index: 'd2', model: 'tei/sized', dims: 384, chunkTokens: 60, chunkOverlap: 0, notice });
    expect(a.embedded + b.embedded).toBe(a.chunks + b.chunks);
    expect(tei.stats().inputs).toBe(a.chunks + b.chunks);
    expect(notices).toEqual([]);
    // --dims stands for the native size, as for openai/<unlisted>.
    expect((await rows(ctx)).map((m) => [m.key, m.native_dims])).toEqual([
      ['tei/declared@1:384', 384],
      ['tei/sized@1:384', 384],
    ]);
  });
});

test('a probe that fails names the provider, its server and the nativeDims setting, and records nothing', async () => {
  // The server serves another model only: bge-small gets a 404.
  await withTei(
    { 'bge-small': {} },
    async (tei, ctx) => {
      const err = await runIngest(ctx, { paths: [corpus(2, 1000)], index: 'f1', model: 'tei/bge-small', notice: () => undefined }).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(
        new RegExp(`^tei/bge-small: probing its server \\(${tei.url.replace(/[.]/g, '\\.')}\\) for the model's native size failed: HTTP 404 model_not_found: .*; set providers\\.tei\\.models\\.bge-small\\.nativeDims to the size it returns instead$`),
      );
      expect(tei.stats().requests).toBe(1);
      expect(await rows(ctx)).toEqual([]);
      expect(await getIndex(ctx.db, 'f1')).toBeNull();
    },
    { models: { 'other-model': { dims: 384, dimensions: false } } },
  );
});

test('a server that answers with an empty vector is refused with the reason', async () => {
  await withTei({ 'bge-small': {} }, async (tei, ctx) => {
    tei.intercept(() => ({ status: 200, body: { object: 'list', data: [{ object: 'embedding', index: 0, embedding: [] }], model: 'bge-small', usage: { prompt_tokens: 1, total_tokens: 1 } } }));
    const err = await runIngest(ctx, { paths: [corpus(2, 1100)], index: 'e1', model: 'tei/bge-small', notice: () => undefined }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^tei\/bge-small: probing its server .* failed: it returned an empty vector; set providers\.tei\.models\.bge-small\.nativeDims/);
    expect(await rows(ctx)).toEqual([]);
  });
});
