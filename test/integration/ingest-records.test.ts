/** JSONL and CSV records with configurable fields, and graceful worker shutdown. */
import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { RunTracker } from '../../src/queue/runs.ts';
import { BIN, contextEnv } from '../support/cli.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { expect, test } from '../support/fixtures.ts';
import { waitFor } from '../support/wait.ts';

test('JSONL and CSV records use the configured id and text fields; metadata is kept', async ({ ctx }) => {
  const dir = writeCorpus({
    'kb.jsonl': [JSON.stringify({ key: 'k1', body: prose(1, 3), metadata: { lang: 'en' } }), JSON.stringify({ key: 'k2', body: prose(2, 3) })].join('\n'),
    'faq.csv': `key,body,topic\nq1,"${prose(3, 2)}",billing\nq2,"${prose(4, 2)}",shipping\n`,
  });
  const r = await runIngest(ctx, { paths: [dir], index: 'rec', idField: 'key', textField: 'body' });
  expect(r.rejected).toEqual([]);
  expect(r.documents).toBe(4);
  const { rows } = await ctx.db.query(`SELECT doc_id, metadata FROM documents ORDER BY doc_id`);
  // Record ids are scoped by their file (docs/ingest.md, "Document ids").
  const root = basename(dir);
  expect(rows.map((x) => x.doc_id)).toEqual([`${root}/faq.csv#q1`, `${root}/faq.csv#q2`, `${root}/kb.jsonl#k1`, `${root}/kb.jsonl#k2`]);
  expect(rows[2].metadata).toMatchObject({ lang: 'en' });
  expect(rows[0].metadata).toMatchObject({ topic: 'billing' });
});

test('a worker shuts down gracefully on SIGTERM: its active job finishes, then it exits 0', async ({ ctx }) => {
  const dir = writeCorpus(Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}.txt`, prose(i, 30)])));
  const r = await runIngest(ctx, { paths: [dir], index: 'grace', wait: false, chunkTokens: 40, chunkOverlap: 0 });
  const child = spawn(process.execPath, [BIN, 'worker'], {
    env: { ...process.env, ...contextEnv(ctx), EMBEDQ_LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  await new Promise<void>((res) => child.stderr.on('data', () => stderr.includes('embedq worker: ready') && res()));
  child.kill('SIGTERM');
  const [code, signal] = await new Promise<[number | null, string | null]>((res) => child.once('exit', (c, s) => res([c, s])));
  expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: expect.stringContaining('SIGTERM received') });
  expect(stderr).toMatch(/SIGTERM received, finishing active jobs/);
  // Whatever it took, it finished: no job is left active, and a new worker completes the run.
  const runs = new RunTracker(ctx.redis, ctx.config.redisPrefix);
  const { Queue } = await import('bullmq');
  const q = new Queue('ingest', { connection: ctx.redis, prefix: ctx.config.redisPrefix });
  expect((await q.getJobCounts('active')).active).toBe(0);
  await q.close();
  const { startWorkers } = await import('../../workers/runtime.ts');
  const w = await startWorkers(ctx);
  try {
    await waitFor(async () => (await runs.get(r.runId))?.finalized, 'the run to finish on the new worker');
    const s = (await runs.get(r.runId))!;
    expect(s.finalized).toBe(true);
    expect(s.failedJobs).toBe(0);
    expect(s.documents).toBe(30);
  } finally {
    await w.close();
  }
});
