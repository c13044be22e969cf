/** The migration controller end to end: real services, the simulator as the target provider. */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { runReembedStart } from '../../src/cli/commands/reembed.ts';
import { reembedStatus } from '../../src/cli/commands/reembed-status.ts';
import { runSearch } from '../../src/cli/commands/search.ts';
import type { Context } from '../../src/context.ts';
import { abort, rollback } from '../../src/reembed/controller.ts';
import { InvalidTransitionError } from '../../src/reembed/states.ts';
import { currentReembed, getReembed, transition } from '../../src/reembed/store.ts';
import { getIndex } from '../../src/store/indexes.ts';
import { startWorkers } from '../../workers/runtime.ts';
import { countRows } from '../support/assert.ts';
import { BIN, simWorkerEnv } from '../support/cli.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { expect, test } from '../support/fixtures.ts';
import { withSim } from '../support/sim-context.ts';
import { waitFor } from '../support/wait.ts';

const TO = 'openai/text-embedding-3-small';

function corpus(n: number, sentences = 10): string {
  return writeCorpus(Object.fromEntries(Array.from({ length: n }, (_, i) => [`d${String(i).padStart(3, '0')}.txt`, prose(i + 300, sentences)])));
}

async function tableModels(ctx: Context, table: string): Promise<number[]> {
  return (await ctx.db.query(`SELECT DISTINCT model_version_id AS m FROM ${table}`)).rows.map((r) => r.m);
}

test('illegal transitions are refused by the database compare-and-set, and a second start on the index too', () =>
  withSim(async (_sim, ctx) => {
    await runIngest(ctx, { paths: [corpus(3)], index: 'sm' });
    const s = await runReembedStart(ctx, { index: 'sm', to: TO, dims: 64, wait: false, cutover: false });
    const id = s.migration!.id;
    await expect(transition(ctx.db, id, 'backfilling', 'cut_over', 't', 'skip the gate')).rejects.toThrow(InvalidTransitionError);
    await expect(transition(ctx.db, id, 'validating', 'ready', 't', 'wrong from')).rejects.toThrow(/is backfilling, not validating/);
    await expect(runReembedStart(ctx, { index: 'sm', to: TO, dims: 128, wait: false })).rejects.toThrow(/already has an open reembed/);
    await expect(runReembedStart(ctx, { index: 'sm', to: 'local/hash-v1', wait: false })).rejects.toThrow(/already has an open reembed|already holds/);
    await abort(ctx.db, id, 'test');
    expect((await getReembed(ctx.db, id))!.state).toBe('aborted');
    await expect(runReembedStart(ctx, { index: 'sm', to: 'local/hash-v1', wait: false })).rejects.toThrow(/already holds local\/hash-v1@1:384 vectors/);
    await expect(runReembedStart(ctx, { index: 'sm', to: 'nosuch/model', wait: false })).rejects.toThrow(/unknown provider/);
  }));

test('a migration 384 → 1024 dims during a concurrent ingest ends with coverage 1.0 and both indexes complete', () =>
  withSim(async (_sim, ctx) => {
    const dir = corpus(30, 12);
    await runIngest(ctx, { paths: [dir], index: 'mig', chunkTokens: 40, chunkOverlap: 0 });
    const source = (await getIndex(ctx.db, 'mig'))!.live;
    const w = await startWorkers(ctx);
    try {
      const started = runReembedStart(ctx, { index: 'mig', to: TO, dims: 1024, localWorker: false, cutover: false });
      // Meanwhile: new documents and a changed one.
      for (let i = 0; i < 5; i++) writeFileSync(join(dir, `new${i}.txt`), prose(900 + i, 8));
      writeFileSync(join(dir, 'd003.txt'), prose(999, 9));
      const concurrent = await runIngest(ctx, { paths: [dir], index: 'mig', localWorker: false });
      expect(concurrent.documents).toBe(6);
      const s = await started;
      // The concurrent writes may land after the gate ran; settle and measure again.
      const m = (await currentReembed(ctx.db, 'mig'))!;
      expect(['ready', 'validating']).toContain(m.state);
      const final = await reembedStatus(ctx, 'mig');
      expect(final.coverage!.ratio).toBe(1);
      expect(final.coverage!.source).toBe(final.coverage!.target);
      const { rows } = await ctx.db.query(`SELECT count(*)::int AS n FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM ${m.targetTable} v WHERE v.chunk_id = c.id) OR NOT EXISTS (SELECT 1 FROM ${m.sourceTable} v WHERE v.chunk_id = c.id)`);
      expect(rows[0].n).toBe(0);
      const target = (await ctx.db.query(`SELECT id FROM index_versions WHERE table_name = $1`, [m.targetTable])).rows[0].id;
      expect(await tableModels(ctx, m.targetTable)).not.toContain(source.modelVersionId);
      expect(target).not.toBe(source.id);
      expect(s.migration!.targetModel).toBe('openai/text-embedding-3-small@1:1024');
    } finally {
      await w.close();
    }
  }));

test('searches during cutover never fail and never mix; rollback restores the old answers exactly', () =>
  withSim(async (_sim, ctx) => {
    await runIngest(ctx, { paths: [corpus(20)], index: 'cut' });
    const queries = ['alpha bravo charlie', 'tango uniform victor', 'kilo lima mike', 'w305x2'];
    const before = await Promise.all(queries.map((q) => runSearch(ctx, { query: q, index: 'cut', k: 5 })));
    const oldModel = before[0]!.modelVersion;
    let stop = false;
    const seen: string[] = [];
    const loop = (async () => {
      while (!stop) {
        const r = await runSearch(ctx, { query: 'alpha bravo charlie', index: 'cut', k: 5 });
        seen.push(r.modelVersion);
        // One model per answer, and scores are consistent with that model's space.
        expect(new Set(r.hits.map((h) => h.chunkId)).size).toBe(r.hits.length);
      }
    })();
    const s = await runReembedStart(ctx, { index: 'cut', to: TO, dims: 256 });
    stop = true;
    await loop;
    expect(s.migration!.state).toBe('cut_over');
    expect(seen.length).toBeGreaterThan(0);
    for (const model of seen) expect([oldModel, 'openai/text-embedding-3-small@1:256']).toContain(model);
    const after = await runSearch(ctx, { query: 'alpha bravo charlie', index: 'cut', k: 5 });
    expect(after.modelVersion).toBe('openai/text-embedding-3-small@1:256');
    await rollback(ctx.db, s.migration!.id, 'test');
    const restored = await Promise.all(queries.map((q) => runSearch(ctx, { query: q, index: 'cut', k: 5 })));
    expect(restored).toEqual(before);
  }));

test('the quality gate refuses a model whose vectors are random: the migration stays in validating with the numbers', () =>
  withSim(async (_sim, ctx) => {
    // Enough chunks that a random ranking rarely puts the right one in the top 10.
    await runIngest(ctx, { paths: [corpus(40)], index: 'gate', chunkTokens: 40, chunkOverlap: 0 });
    const s = await runReembedStart(ctx, { index: 'gate', to: 'openai/random-embedder', dims: 128 });
    expect(s.migration!.state).toBe('validating');
    const q = s.migration!.quality!;
    expect(q.passed).toBe(false);
    expect(q.source.recall).toBeGreaterThan(0.8);
    expect(q.target.recall).toBeLessThan(0.5);
    expect(q.reason).toMatch(/below 0.95 × source/);
    expect((await getIndex(ctx.db, 'gate'))!.live.modelKey).toBe('local/hash-v1@1:384');
  }, {}, { defaultDims: 128 }));

test('a worker killed mid-backfill resumes from the last page, embedding nothing twice', () =>
  withSim(
    async (sim, ctx) => {
      // Enough chunks for several backfill pages.
      const files: Record<string, string> = {};
      for (let i = 0; i < 60; i++) files[`f${i}.jsonl`] = Array.from({ length: 100 }, (_, j) => JSON.stringify({ id: `r${i}-${j}`, text: `${prose(i * 100 + j, 1)} unique ${i}-${j}` })).join('\n');
      await runIngest(ctx, { paths: [writeCorpus(files)], index: 'big' });
      const chunks = await countRows(ctx, 'chunks');
      expect(chunks).toBe(6000);
      const s = await runReembedStart(ctx, { index: 'big', to: TO, dims: 64, wait: false, cutover: false });
      const env = simWorkerEnv(ctx, sim.url, { EMBEDQ_EMBED_BATCH: '500', EMBEDQ_WORKER_CONCURRENCY: '2' });
      const worker = () => spawn(process.execPath, [BIN, 'worker'], { env, stdio: 'ignore' });
      // The simulator answers one batch and holds the next: the kill lands mid-backfill by construction.
      const gate = sim.holdAfter(1);
      const first = worker();
      await waitFor(async () => Number((await getReembed(ctx.db, s.migration!.id))!.backfillCursor) > 0, 'the backfill to pass its first page');
      await gate.held;
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
      gate.release();
      const cursorAtKill = Number((await getReembed(ctx.db, s.migration!.id))!.backfillCursor);
      expect(cursorAtKill).toBeGreaterThan(0);
      const second = worker();
      try {
        await waitFor(async () => (await getReembed(ctx.db, s.migration!.id))!.state === 'ready', 'the migration to become ready on the second worker', { timeoutMs: 200_000 });
        const m = (await getReembed(ctx.db, s.migration!.id))!;
        expect(m.state).toBe('ready');
        expect((await reembedStatus(ctx, 'big')).coverage!.ratio).toBe(1);
        // Inputs the simulator embedded: every chunk once, plus at most the batches in flight at
        // the kill (the worker's two held ones, and the one answered just before whose vectors the
        // kill may have cut off), which the provider bills although nobody received them.
        expect(sim.stats().inputs).toBeGreaterThanOrEqual(chunks);
        expect(sim.stats().inputs).toBeLessThanOrEqual(chunks + 3 * 500);
      } finally {
        second.kill('SIGTERM');
        await new Promise((r) => second.once('exit', r));
      }
    },
  ), 300_000); // a safety net: 6,000 chunks ingested, then re-embedded across a kill, on a loaded machine

test('a database recreated under the same Redis prefix does not inherit the old migration run', () =>
  withSim(async (_sim, ctx) => {
    const dir = corpus(6);
    await runIngest(ctx, { paths: [dir], index: 'again' });
    expect((await runReembedStart(ctx, { index: 'again', to: TO, dims: 64 })).migration!.state).toBe('cut_over');
    // Same Redis prefix, fresh schema: migration ids start at 1 again.
    const { migrate } = await import('../../src/store/migrate.ts');
    await ctx.db.query(`DROP SCHEMA ${ctx.config.dbSchema} CASCADE`);
    await migrate(ctx.db, ctx.config.dbSchema);
    await runIngest(ctx, { paths: [dir], index: 'again' });
    const second = await runReembedStart(ctx, { index: 'again', to: TO, dims: 64 });
    expect(second.migration!.id).toBe('1');
    expect(second.migration!.state).toBe('cut_over');
    expect(second.coverage!.ratio).toBe(1);
  }));
