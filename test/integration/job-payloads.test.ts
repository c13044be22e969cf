/**
 * Jobs put straight into the queues (the BullMQ Queue API, as anything holding the Redis URL can)
 * are checked against their schema and their run before a worker acts on them: a path outside the
 * run's roots, reader limits lifted, an unknown run or a hand-made re-sync fail at once with the
 * reason, and nothing is read or indexed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue, QueueEvents, type Job } from 'bullmq';
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { RunTracker } from '../../src/queue/runs.ts';
import { startWorkers } from '../../workers/runtime.ts';
import { SYSTEM_SCHEDULES } from '../../jobs/catalog.ts';
import { checkPayload } from '../../jobs/validate.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { describe, expect, test } from '../support/fixtures.ts';

/** Resolves with the job's failedReason once it has failed; throws if it completed. */
async function failure(job: Job, events: QueueEvents): Promise<string> {
  try {
    await job.waitUntilFinished(events, 120_000);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`job ${job.id} completed; it should have been refused`);
}

describe('job payload validation in the worker', () => {
  test('ingest jobs outside the run, with reader limits lifted, or of an unknown run fail with the reason; nothing is indexed', async ({ ctx }) => {
    const dir = writeCorpus({ 'a.txt': prose(1, 6), 'b.txt': prose(2, 6) });
    const run = await runIngest(ctx, { paths: [dir], index: 'docs', chunkTokens: 64, chunkOverlap: 8 });
    expect(run.documents).toBe(2);
    expect((await new RunTracker(ctx.redis, ctx.config.redisPrefix).get(run.runId))!.roots).toEqual([dir]);
    writeFileSync(join(dir, 'extra.txt'), prose(3, 6));

    const opts = { connection: ctx.redis, prefix: ctx.config.redisPrefix };
    const ingest = new Queue('ingest', opts);
    const schedules = new Queue('schedules', opts);
    const ingestEvents = new QueueEvents('ingest', { connection: { url: ctx.config.redisUrl }, prefix: ctx.config.redisPrefix });
    const scheduleEvents = new QueueEvents('schedules', { connection: { url: ctx.config.redisUrl }, prefix: ctx.config.redisPrefix });
    await Promise.all([ingestEvents.waitUntilReady(), scheduleEvents.waitUntilReady()]);
    const base = { runId: run.runId, index: 'docs', tenant: 'default', read: { invalidUtf8: 'replace' } };
    const w = await startWorkers(ctx);
    try {
      const cases: [Job, RegExp][] = [
        [await ingest.add('ingest', { ...base, source: { kind: 'files', paths: ['/etc/passwd'] } }), /1 of its paths lie outside the roots its run recorded \(.+\): \/etc\/passwd/],
        [await ingest.add('ingest', { ...base, source: { kind: 'files', paths: [`${dir}/../../etc/passwd`] } }), /source\.paths\.0: an absolute, normalized path/],
        [await ingest.add('ingest', { ...base, read: { invalidUtf8: 'replace', maxFileBytes: 1e12 }, source: { kind: 'files', paths: [join(dir, 'extra.txt')] } }), /read\.maxFileBytes: reader limits are fixed by the worker/],
        [await ingest.add('ingest', { ...base, runId: 'no-such-run', source: { kind: 'files', paths: [join(dir, 'extra.txt')] } }), /its run no-such-run is not recorded/],
        [await ingest.add('ingest', { ...base, tenant: 'other', source: { kind: 'csv', path: join(dir, 'extra.txt') } }), /names index docs and tenant other, but its run .* is for index docs and tenant default/],
        [await ingest.add('read-anything', { ...base, source: { kind: 'files', paths: [join(dir, 'extra.txt')] } }), /no ingest job is named "read-anything"/],
        [await schedules.add('scheduled-ingest', { index: 'docs', tenant: 'default', paths: ['/etc'], baseDir: '/', mode: 'sync' }), /a re-sync must come from a job scheduler/],
      ];
      for (const [job, reason] of cases) {
        const why = await failure(job, job.queueName === 'ingest' ? ingestEvents : scheduleEvents);
        expect(why).toMatch(reason);
        expect(why).toMatch(/refused: .*nothing was read or written$/);
        const state = (await (job.queueName === 'ingest' ? ingest : schedules).getJob(job.id!))!;
        expect(state.attemptsMade, `${job.id} is not retried`).toBe(1);
      }
    } finally {
      await w.close();
      await Promise.all([ingest.close(), schedules.close(), ingestEvents.close(), scheduleEvents.close()]);
    }
    const { rows } = await ctx.db.query<{ source: string }>(`SELECT source FROM documents ORDER BY source`);
    expect(rows.map((r) => r.source)).toEqual([join(dir, 'a.txt'), join(dir, 'b.txt')]);
    // The refused jobs settled nothing in the honest run.
    const after = (await new RunTracker(ctx.redis, ctx.config.redisPrefix).get(run.runId))!;
    expect({ failedJobs: after.failedJobs, documents: after.documents, ingestSettled: after.ingestSettled }).toEqual({ failedJobs: 0, documents: 2, ingestSettled: after.ingestJobs });
  });

});

test('every system schedule declares a job its queue accepts (a new schedule cannot be refused as unknown)', async ({ ctx }) => {
  // Before SYSTEM_SCHEDULES was the one home of these names, ledger-sweep was refused as "no schedules job is named".
  const deps = { ctx } as unknown as Parameters<typeof checkPayload>[0];
  for (const s of SYSTEM_SCHEDULES) {
    const job = { id: `repeat:${s.name}:1`, name: s.jobName, data: {}, repeatJobKey: s.name } as unknown as Job;
    await expect(checkPayload(deps, s.queue, job), s.name).resolves.toBeUndefined();
  }
});
