/**
 * Ingest through the OpenAI provider against the simulator: dedupe, concurrency between
 * workers, crash recovery and provider faults, all with real Redis and Postgres.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Queue } from 'bullmq';
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { createContext, type Context } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { RunTracker } from '../../src/queue/runs.ts';
import { getIndex } from '../../src/store/indexes.ts';
import { startWorkers } from '../../workers/runtime.ts';
import { BIN, simWorkerEnv } from '../support/cli.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { expect, test } from '../support/fixtures.ts';
import { withSim } from '../support/sim-context.ts';
import { waitFor } from '../support/wait.ts';

const MODEL = 'openai/text-embedding-3-small';

function corpus(n: number, sentences = 20): string {
  const files: Record<string, string> = {};
  for (let i = 0; i < n; i++) files[`d${String(i).padStart(3, '0')}.txt`] = prose(i + 1000, sentences);
  return writeCorpus(files);
}

async function vectorRows(ctx: Context, index: string): Promise<{ rows: number; distinct: number; chunks: number }> {
  const t = (await getIndex(ctx.db, index))!.live.tableName;
  const { rows } = await ctx.db.query(`SELECT (SELECT count(*)::int FROM ${t}) AS rows, (SELECT count(DISTINCT chunk_id)::int FROM ${t}) AS distinct, (SELECT count(*)::int FROM chunks) AS chunks`);
  return rows[0];
}

test('re-ingesting an unchanged corpus makes zero provider calls; one changed file re-embeds only its changed chunks', () =>
  withSim(async (sim, ctx) => {
    const dir = corpus(10);
    const first = await runIngest(ctx, { paths: [dir], index: 'docs', model: MODEL, dims: 256, chunkTokens: 60, chunkOverlap: 0 });
    expect(first.embedded).toBe(first.chunks);
    expect(sim.stats().inputs).toBe(first.chunks);
    expect(first.tokens).toBeGreaterThan(0);
    expect(first.costUsd).toBeCloseTo((first.tokens / 1e6) * 0.02, 10);
    sim.reset();
    const again = await runIngest(ctx, { paths: [dir], index: 'docs' });
    expect(sim.stats().requests).toBe(0);
    expect(again).toMatchObject({ documents: 0, documentsSkipped: 10, embedded: 0 });

    const { writeFileSync, readFileSync } = await import('node:fs');
    const f = `${dir}/d004.txt`;
    writeFileSync(f, `${readFileSync(f, 'utf8')} One extra closing sentence about lighthouses.`);
    const changed = await runIngest(ctx, { paths: [dir], index: 'docs' });
    expect(changed.documents).toBe(1);
    // Only the last chunk of that file changed text.
    expect(sim.stats().inputs).toBe(1);
    expect(changed.embedded).toBe(1);
  }));

test('two workers on the same queue embed every chunk once, with no duplicate rows', () =>
  withSim(
    async (sim, ctx) => {
      const dir = corpus(40, 12);
      const w1 = await startWorkers(ctx, { name: 'w1', concurrency: 3 });
      const ctx2 = createContext(ctx.config, { logger: createLogger('silent') });
      const w2 = await startWorkers(ctx2, { name: 'w2', concurrency: 3 });
      try {
        const r = await runIngest(ctx, { paths: [dir], index: 'pair', model: MODEL, dims: 128, chunkTokens: 40, chunkOverlap: 0, localWorker: false });
        const v = await vectorRows(ctx, 'pair');
        expect(v.rows).toBe(r.chunks);
        expect(v.distinct).toBe(r.chunks);
        expect(v.chunks).toBe(r.chunks);
        expect(sim.stats().inputs).toBe(r.chunks);
        const q = new Queue('embed', { connection: ctx.redis, prefix: ctx.config.redisPrefix });
        const done = await q.getCompleted(0, -1);
        await q.close();
        const by = new Set(done.map((j) => j.processedBy));
        expect(done.length).toBeGreaterThan(4);
        expect(by).toEqual(new Set(['w1', 'w2']));
      } finally {
        await w1.close();
        await w2.close();
        await ctx2.close();
      }
    },
    { worker: { concurrency: 3, ingestConcurrency: 1, lockMs: 30_000, embedAttempts: 6, embedBatch: 16, providerAttempts: 4 } },
    { latencyMs: 30 },
  ));

test('429 storms and 500s: the run completes and the retries are in the ledger', () =>
  withSim(async (sim, ctx) => {
    const dir = corpus(12);
    sim.failNext(3, '429');
    sim.set({ faultRate: 0.3, faultKinds: ['500', '429'], retryAfterMs: 50 });
    const r = await runIngest(ctx, { paths: [dir], index: 'storm', model: MODEL, dims: 64, chunkTokens: 50, chunkOverlap: 0 });
    expect(r.failedJobs).toBe(0);
    expect(r.embedded).toBe(r.chunks);
    const v = await vectorRows(ctx, 'storm');
    expect(v.rows).toBe(r.chunks);
    const { rows } = await ctx.db.query(`SELECT status, http_status, count(*)::int AS n FROM ledger WHERE mode = 'sync' GROUP BY 1, 2 ORDER BY 1, 2`);
    const retries = rows.filter((x) => x.status === 'retry');
    expect(retries.length).toBeGreaterThan(0);
    expect(retries.some((x) => x.http_status === 429)).toBe(true);
    expect(rows.find((x) => x.status === 'ok')?.n).toBeGreaterThan(0);
  }));

test('a provider that keeps failing leaves failed jobs visible; --retry-failed finishes the run', () =>
  withSim(
    async (sim, ctx) => {
      const dir = corpus(4);
      sim.set({ faultRate: 1, faultKinds: ['500'] });
      const r = await runIngest(ctx, { paths: [dir], index: 'broken', model: MODEL, dims: 64, chunkTokens: 50, chunkOverlap: 0 });
      expect(r.failedJobs).toBeGreaterThan(0);
      expect(r.embedded).toBe(0);
      const { runStatus } = await import('../../src/cli/commands/status.ts');
      expect((await runStatus(ctx)).queues.embed!.failed).toBe(r.failedJobs);
      sim.set({ faultRate: 0 });
      const { runRetryFailed } = await import('../../src/cli/commands/ingest-retry.ts');
      const retried = await runRetryFailed(ctx, {});
      expect(retried.retried).toBe(r.failedJobs);
      expect(retried.failedJobs).toBe(0);
      const v = await vectorRows(ctx, 'broken');
      expect(v.rows).toBe(v.chunks);
      expect((await runStatus(ctx)).queues.embed!.failed).toBe(0);
    },
    // Fewer, faster attempts so the test does not sit through the default backoff.
    { worker: { concurrency: 2, ingestConcurrency: 1, lockMs: 30_000, embedAttempts: 2, embedBatch: 1024, providerAttempts: 2 } },
    { retryAfterMs: 1 },
  ));

test('a worker killed (SIGKILL) mid-batch: after a restart the run completes with every chunk indexed once', () =>
  withSim(
    async (sim, ctx) => {
      const dir = corpus(24, 16);
      const env = simWorkerEnv(ctx, sim.url, { EMBEDQ_EMBED_BATCH: '8' });
      const spawnWorker = (): ChildProcess => spawn(process.execPath, [BIN, 'worker', '--concurrency', '2'], { env, stdio: 'ignore' });
      const r = await runIngest(ctx, { paths: [dir], index: 'crash', model: MODEL, dims: 64, chunkTokens: 30, chunkOverlap: 0, wait: false });
      const runs = new RunTracker(ctx.redis, ctx.config.redisPrefix);
      // Kill it after the simulator answered two batches, with a third held unanswered: mid-run
      // by construction, however fast or slow the machine.
      const gate = sim.holdAfter(2);
      const first = spawnWorker();
      await gate.held;
      first.kill('SIGKILL');
      await new Promise((res) => first.once('exit', res));
      gate.release();
      const before = await runs.get(r.runId);
      expect(before!.finalized).toBe(false);
      expect(before!.embedJobs).toBeGreaterThan(3);
      const second = spawnWorker();
      try {
        await waitFor(async () => (await runs.get(r.runId))?.finalized, 'the run to finish on the second worker', { timeoutMs: 200_000 });
        const s = (await runs.get(r.runId))!;
        expect(s.finalized).toBe(true);
        expect(s.failedJobs).toBe(0);
        const v = await vectorRows(ctx, 'crash');
        expect(v.chunks).toBeGreaterThan(0);
        expect(v.rows).toBe(v.chunks);
        expect(v.distinct).toBe(v.chunks);
        // At most the batches in flight at the kill were embedded twice; the rest once.
        expect(sim.stats().inputs).toBeGreaterThanOrEqual(v.chunks);
      } finally {
        second.kill('SIGTERM');
        await new Promise((res) => second.once('exit', res));
      }
    },
  ), 300_000); // a safety net: two worker processes start and recover stalled jobs on a loaded machine
