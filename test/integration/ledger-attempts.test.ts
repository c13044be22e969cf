/**
 * The ledger holds every provider attempt before it is sent and settles it after, so a worker
 * killed mid-call leaves a trace (swept to `unknown`, possibly billed) instead of a hole; and a
 * worker shut down mid-call finishes what is in flight, stores it, and sends nothing more.
 */
import { spawn } from 'node:child_process';
import { Queue } from 'bullmq';
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { formatLog, runLog } from '../../src/cli/commands/log.ts';
import { formatSpend, runSpend } from '../../src/cli/commands/spend.ts';
import { createContext, type Context } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { RunTracker } from '../../src/queue/runs.ts';
import { sweepUnsettled, UNSETTLED_AFTER_MS } from '../../src/store/ledger.ts';
import { startWorkers } from '../../workers/runtime.ts';
import { countRows, vectorCount } from '../support/assert.ts';
import { BIN, simWorkerEnv } from '../support/cli.ts';
import { waitUntil } from '../support/wait.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { expect, test } from '../support/fixtures.ts';
import { withSim } from '../support/sim-context.ts';
import { holdUntil } from '../support/simulator/intercept.ts';

const MODEL = 'openai/text-embedding-3-small';
const PRICE = 0.02; // USD per 1M tokens, the registry's for MODEL

interface Row {
  id: string;
  status: string;
  inputs: number;
  tokens: string;
  latency_ms: number | null;
  error: string | null;
}
const ledger = async (ctx: Context): Promise<Row[]> => (await ctx.db.query<Row>(`SELECT id, status, inputs, tokens, latency_ms, error FROM ledger WHERE mode = 'sync' ORDER BY id`)).rows;

async function finalized(ctx: Context, runId: string): Promise<void> {
  const runs = new RunTracker(ctx.redis, ctx.config.redisPrefix);
  const s = (await waitUntil('the run to finish', () => runs.get(runId), (v) => v?.finalized === true))!;
  expect(s.failedJobs).toBe(0);
}

test('an attempt is in the ledger as `sent` while the provider holds it, and `ok` with billed tokens after', () =>
  withSim(async (sim, ctx) => {
    const dir = writeCorpus({ 'a.txt': prose(3, 10) });
    const release = Promise.withResolvers<void>();
    const held = sim.intercept(holdUntil(release.promise));
    const run = runIngest(ctx, { paths: [dir], index: 'held', model: MODEL, dims: 64, chunkTokens: 40, chunkOverlap: 0 });
    await held.arrived;
    const during = await ledger(ctx);
    expect(during).toHaveLength(1);
    expect(during[0]).toMatchObject({ status: 'sent', latency_ms: null, error: null });
    expect(Number(during[0]!.tokens)).toBeGreaterThan(0); // the estimate
    release.resolve();
    const r = await run;
    expect(r.failedJobs).toBe(0);
    const after = await ledger(ctx);
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ id: during[0]!.id, status: 'ok', inputs: r.chunks });
    expect(Number(after[0]!.tokens)).toBe(sim.stats().tokens);
    expect(after[0]!.latency_ms).not.toBeNull();
    expect((await runSpend(ctx, { by: 'model' })).total).toMatchObject({ possiblyBilledCalls: 0, tokens: sim.stats().tokens });
  }));

test('a worker killed mid-call leaves a `sent` row; the sweep makes it `unknown`, and spend and log count it as possibly billed', () =>
  withSim(async (sim, ctx) => {
    const dir = writeCorpus({ 'a.txt': prose(5, 10) });
    const env = simWorkerEnv(ctx, sim.url);
    const worker = () => spawn(process.execPath, [BIN, 'worker', '--concurrency', '1'], { env, stdio: 'ignore' });
    const release = Promise.withResolvers<void>();
    const held = sim.intercept(holdUntil(release.promise));
    const r = await runIngest(ctx, { paths: [dir], index: 'killed', model: MODEL, dims: 64, chunkTokens: 40, chunkOverlap: 0, wait: false, localWorker: false });
    const first = worker();
    await held.arrived;
    first.kill('SIGKILL');
    await new Promise((res) => first.once('exit', res));
    release.resolve(); // answered into a closed socket: billed by the provider, never seen by us

    const [orphan] = await ledger(ctx);
    expect(orphan).toMatchObject({ status: 'sent' });
    // Not yet stale: the sweep leaves attempts that may still be in flight alone.
    expect(await sweepUnsettled(ctx.db, UNSETTLED_AFTER_MS)).toBe(0);
    expect(await sweepUnsettled(ctx.db, 0)).toBe(1);
    expect((await ledger(ctx))[0]).toMatchObject({ id: orphan!.id, status: 'unknown', error: expect.stringMatching(/never settled.*possibly billed/) });

    const second = worker();
    try {
      await finalized(ctx, r.runId);
    } finally {
      second.kill('SIGTERM');
      await new Promise((res) => second.once('exit', res));
    }
    expect(await vectorCount(ctx, 'killed')).toBe(await countRows(ctx, 'chunks'));
    const rows = await ledger(ctx);
    expect(rows.map((x) => x.status)).toEqual(['unknown', 'ok']);
    // Nothing billed is missing from the ledger: paid (ok) plus possibly paid (unknown) covers the provider's count.
    expect(rows.reduce((a, x) => a + x.inputs, 0)).toBe(sim.stats().inputs);

    const spend = await runSpend(ctx, { by: 'model' });
    const estimate = Number(orphan!.tokens);
    expect(spend.total).toMatchObject({ possiblyBilledCalls: 1, possiblyBilledTokens: estimate, tokens: Number(rows[1]!.tokens) });
    expect(spend.total.possiblyBilledUsd).toBeCloseTo((estimate / 1e6) * PRICE, 12);
    expect(formatSpend(spend)).toMatch(/POSSIBLY BILLED[\s\S]*possibly billed: 1 attempt, ~\d+ tokens, ~\$0\.\d{6} \(estimated\), not in SPENT/);
    const log = await runLog(ctx, {});
    expect(log.possiblyBilled).toMatchObject({ calls: 1, tokens: estimate });
    expect(log.rows.map((x) => x.status)).toEqual(['ok', 'unknown']);
    expect(formatLog(log)).toMatch(/unknown[\s\S]*possibly billed: 1 attempt/);
  }), 120_000); // longer than finalized()'s own bound, so a slow run still kills its worker

test('shutdown mid-call: the request in flight finishes and is stored, the rest is not sent and goes back to the queue', () =>
  withSim(
    async (sim, ctx) => {
      const dir = writeCorpus({ 'a.txt': prose(9, 24) });
      const release = Promise.withResolvers<void>();
      const held = sim.intercept(holdUntil(release.promise));
      // One request a minute: while the first is held, the others wait for their places.
      const w1 = await startWorkers(ctx, { name: 'w1', concurrency: 4 });
      const r = await runIngest(ctx, { paths: [dir], index: 'drained', model: MODEL, dims: 64, chunkTokens: 30, chunkOverlap: 0, wait: false, localWorker: false });
      await held.arrived;
      const closing = w1.close();
      release.resolve();
      await closing;

      const q = new Queue('embed', { connection: ctx.redis, prefix: ctx.config.redisPrefix });
      try {
        expect(sim.stats().requests).toBe(1);
        const firstInputs = sim.stats().inputs;
        expect(firstInputs).toBeGreaterThan(0);
        expect(await vectorCount(ctx, 'drained')).toBe(firstInputs);
        expect((await ledger(ctx)).map((x) => x.status)).toEqual(['ok']);
        expect(await q.getFailedCount()).toBe(0);
        const waiting = [...(await q.getDelayed()), ...(await q.getWaiting())];
        expect(waiting.length).toBeGreaterThan(0);
        expect(waiting.every((j) => j.attemptsMade === 0)).toBe(true);

        // Another worker (no rate limit this time) does the rest, and pays for nothing twice.
        const ctx2 = createContext({ ...ctx.config, rateLimits: {} }, { logger: createLogger('silent') });
        const w2 = await startWorkers(ctx2, { name: 'w2' });
        try {
          await finalized(ctx, r.runId);
        } finally {
          await w2.close();
          await ctx2.close();
        }
        const chunks = await countRows(ctx, 'chunks');
        expect(chunks).toBeGreaterThan(firstInputs);
        expect(await vectorCount(ctx, 'drained')).toBe(chunks);
        expect(sim.stats().inputs).toBe(chunks);
      } finally {
        await q.close();
      }
    },
    { rateLimits: { [MODEL]: { rpm: 1 } }, models: { [MODEL]: { maxInputsPerRequest: 2 } } },
  ), 120_000);
