/** A tenant over budget is stopped before the provider is called, and resumes when the budget allows. */
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { RunTracker } from '../../src/queue/runs.ts';
import { checkBudget, setBudget } from '../../src/store/budgets.ts';
import { startWorkers } from '../../workers/runtime.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { expect, test } from '../support/fixtures.ts';
import { withSim } from '../support/sim-context.ts';
import { waitFor } from '../support/wait.ts';

const MODEL = 'openai/text-embedding-3-small';

test('over budget: delayed before any provider call, with the reason logged; raising the budget lets it finish', () =>
  withSim(
    async (sim, ctx) => {
      await setBudget(ctx.db, { tenant: 'acme', usdPerDay: 0.000001, usdPerMonth: null, tokensPerDay: null, tokensPerMonth: null, onExceed: 'delay' });
      const r = await runIngest(ctx, { paths: [writeCorpus({ 'a.txt': prose(1, 30) })], index: 'b', model: MODEL, dims: 64, tenant: 'acme', wait: false });
      const w = await startWorkers(ctx);
      try {
        const { Queue } = await import('bullmq');
        const q = new Queue('embed', { connection: ctx.redis, prefix: ctx.config.redisPrefix });
        // The job cycles delayed → active → delayed every budgetRecheckMs: wait until it is seen delayed.
        const job = await waitFor(async () => (await q.getDelayed())[0], 'the embed job to be delayed by the budget');
        const { logs } = await q.getJobLogs(job.id!);
        expect(logs.join('\n')).toMatch(/tenant acme would exceed its daily budget \$0.000001/);
        expect(sim.stats().requests).toBe(0);
        await setBudget(ctx.db, { tenant: 'acme', usdPerDay: 10, usdPerMonth: null, tokensPerDay: null, tokensPerMonth: null, onExceed: 'delay' });
        const runs = new RunTracker(ctx.redis, ctx.config.redisPrefix);
        await waitFor(async () => (await runs.get(r.runId))?.finalized, 'the run to finish once the budget was raised');
        expect((await runs.get(r.runId))!.embedded).toBeGreaterThan(0);
        expect(sim.stats().requests).toBeGreaterThan(0);
        await q.close();
      } finally {
        await w.close();
      }
    },
    { worker: { concurrency: 2, ingestConcurrency: 1, lockMs: 30_000, embedAttempts: 6, embedBatch: 1024, providerAttempts: 4, budgetRecheckMs: 200 } },
  ));

test('on-exceed fail: the job fails with the reason, the provider is never called', () =>
  withSim(async (sim, ctx) => {
    await setBudget(ctx.db, { tenant: 'thrifty', usdPerDay: null, usdPerMonth: null, tokensPerDay: 5, tokensPerMonth: null, onExceed: 'fail' });
    const r = await runIngest(ctx, { paths: [writeCorpus({ 'a.txt': prose(2, 10) })], index: 'c', model: MODEL, dims: 64, tenant: 'thrifty' });
    expect(r.failedJobs).toBe(1);
    expect(sim.stats().requests).toBe(0);
    const other = await checkBudget(ctx.db, 'nobudget', 1e9, 1e9);
    expect(other.ok).toBe(true);
  }));
