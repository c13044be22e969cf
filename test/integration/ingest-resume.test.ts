/**
 * Ingest jobs survive killed workers: a job resumes at the position it recorded, a stall counts
 * as an attempt (never as a permanent failure while the job gets further), and the run counts
 * what was stored even when a job fails. Workers are real processes killed with SIGKILL; where a
 * job stops is decided by Postgres locks the test holds, never by timing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { Queue } from 'bullmq';
import type { PoolClient } from 'pg';
import { runIngest } from '../../src/cli/commands/ingest.ts';
import type { Context } from '../../src/context.ts';
import { RunTracker } from '../../src/queue/runs.ts';
import { countRows } from '../support/assert.ts';
import { BIN, contextEnv } from '../support/cli.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { expect, test } from '../support/fixtures.ts';
import { waitUntil } from '../support/wait.ts';

const PAGE = 500; // documents per page in jobs/ingest.ts

/** A JSONL corpus of `n` one-chunk records; the first record of page k+1 carries `{"stop": k}`. */
function records(n: number): string {
  const lines = Array.from({ length: n }, (_, i) => JSON.stringify({ id: `r${i}`, text: `Record ${i}. ${prose(i, 1)}`, ...(i > 0 && i % PAGE === 0 ? { metadata: { stop: i / PAGE } } : {}) }));
  return writeCorpus({ 'big.jsonl': `${lines.join('\n')}\n` });
}

/**
 * Holds the documents write of every record marked `{"stop": k}` until the test lets go of lock
 * k: the job stores the pages before it, then waits there for as long as the test likes.
 */
async function stops(ctx: Context, ks: number[]): Promise<{ release(k: number): Promise<void>; close(): Promise<void> }> {
  const key = randomInt(1, 2 ** 31 - 1);
  await ctx.db.query(`
    CREATE FUNCTION stop_here() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_advisory_xact_lock_shared(${key}, (NEW.metadata->>'stop')::int); RETURN NEW; END $$;
    CREATE TRIGGER stop_here BEFORE INSERT OR UPDATE ON documents FOR EACH ROW WHEN (NEW.metadata ? 'stop') EXECUTE FUNCTION stop_here();`);
  const holder: PoolClient = await ctx.db.connect();
  for (const k of ks) await holder.query('SELECT pg_advisory_lock($1, $2)', [key, k]);
  return {
    release: async (k) => void (await holder.query('SELECT pg_advisory_unlock($1, $2)', [key, k])),
    close: async () => {
      await holder.query('SELECT pg_advisory_unlock_all()');
      holder.release();
    },
  };
}


function workerProcess(ctx: Context, embedBatch = 100): () => ChildProcess {
  const env = {
    ...process.env,
    ...contextEnv(ctx),
    // A killed worker's job is found stalled about one lock period later.
    EMBEDQ_WORKER_LOCK_MS: '2000',
    // At 100, every page's misses fill embed jobs, so nothing waits to be gathered and resuming re-reads nothing.
    EMBEDQ_EMBED_BATCH: String(embedBatch),
    EMBEDQ_LOG_LEVEL: 'silent',
  };
  return () => spawn(process.execPath, [BIN, 'worker'], { env, stdio: 'ignore' });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

/** The first line an attempt of the run's only ingest job would read next, from the cursor it recorded. */
async function recordedLine(ctx: Context, runId: string): Promise<() => Promise<number>> {
  const q = new Queue('ingest', { connection: ctx.redis, prefix: ctx.config.redisPrefix });
  const jobs = await q.getJobs(['waiting']);
  await q.close();
  expect(jobs).toHaveLength(1);
  const runs = new RunTracker(ctx.redis, ctx.config.redisPrefix);
  return async () => (await runs.cursor(runId, jobs[0]!.id!))?.pos.line ?? 0;
}


test('an ingest job whose worker is killed three times resumes each time where it stopped: every document stored once, nothing failed', async ({ ctx }) => {
  const n = 4 * PAGE;
  const dir = records(n);
  const hold = await stops(ctx, [1, 2, 3]);
  const spawnWorker = workerProcess(ctx);
  const runs = new RunTracker(ctx.redis, ctx.config.redisPrefix);
  let child: ChildProcess | undefined;
  try {
    const r = await runIngest(ctx, { paths: [dir], index: 'resume', wait: false, localWorker: false });
    const line = await recordedLine(ctx, r.runId);
    for (const k of [1, 2, 3]) {
      child = spawnWorker();
      // Pages before stop k are stored and recorded; the page holding stop k waits on the test's lock.
      await waitUntil(`the position after page ${k}`, line, (l) => l === k * PAGE + 1);
      expect(await countRows(ctx, 'documents')).toBe(k * PAGE);
      await kill(child);
      await hold.release(k);
    }
    child = spawnWorker();
    const s = (await waitUntil('the run to finish', () => runs.get(r.runId), (v) => v?.finalized === true))!;
    expect({ failedJobs: s.failedJobs, documents: s.documents, documentsSkipped: s.documentsSkipped, chunks: s.chunks }).toEqual({ failedJobs: 0, documents: n, documentsSkipped: 0, chunks: n });
    const { rows } = await ctx.db.query<{ docs: number; distinct: number; chunks: number }>(
      'SELECT (SELECT count(*)::int FROM documents) AS docs, (SELECT count(DISTINCT doc_id)::int FROM documents) AS distinct, (SELECT count(*)::int FROM chunks) AS chunks',
    );
    expect(rows[0]).toEqual({ docs: n, distinct: n, chunks: n });
    const q = new Queue('ingest', { connection: ctx.redis, prefix: ctx.config.redisPrefix });
    const [job] = await q.getCompleted(0, -1);
    expect(await q.getFailedCount()).toBe(0);
    await q.close();
    // The last attempt began at the first record of the last page and read only that page.
    expect(job?.returnvalue).toMatchObject({ resumedAt: { line: 3 * PAGE + 1 }, read: PAGE, documents: n });
  } finally {
    if (child) await kill(child);
    await hold.close();
  }
}, 240_000);

test('misses still being gathered when the worker died are re-read, not re-counted: every chunk gets its vector', async ({ ctx }) => {
  const n = 2 * PAGE;
  const dir = records(n);
  const hold = await stops(ctx, [1]);
  // 1024 per embed job: page 1's 500 misses wait for more when page 2 stops.
  const spawnWorker = workerProcess(ctx, 1024);
  const runs = new RunTracker(ctx.redis, ctx.config.redisPrefix);
  let child: ChildProcess | undefined;
  try {
    const r = await runIngest(ctx, { paths: [dir], index: 'regather', wait: false, localWorker: false });
    const line = await recordedLine(ctx, r.runId);
    child = spawnWorker();
    await waitUntil('the position after page 1', line, (l) => l === PAGE + 1);
    await kill(child);
    await hold.release(1);
    child = spawnWorker();
    const s = (await waitUntil('the run to finish', () => runs.get(r.runId), (v) => v?.finalized === true))!;
    expect({ failedJobs: s.failedJobs, documents: s.documents, documentsSkipped: s.documentsSkipped, chunks: s.chunks, embedded: s.embedded }).toEqual({ failedJobs: 0, documents: n, documentsSkipped: 0, chunks: n, embedded: n });
    const { getIndex } = await import('../../src/store/indexes.ts');
    const table = (await getIndex(ctx.db, 'regather'))!.live.tableName;
    const { rows } = await ctx.db.query<{ vectors: number; chunks: number }>(`SELECT (SELECT count(DISTINCT chunk_id)::int FROM ${table}) AS vectors, (SELECT count(*)::int FROM chunks) AS chunks`);
    expect(rows[0]).toEqual({ vectors: n, chunks: n });
    const q = new Queue('ingest', { connection: ctx.redis, prefix: ctx.config.redisPrefix });
    const [job] = await q.getCompleted(0, -1);
    await q.close();
    // It began again at the start of its slice (where the gathered misses came from) and read it all.
    expect(job?.returnvalue).toMatchObject({ resumedAt: { line: 0 }, read: n });
  } finally {
    if (child) await kill(child);
    await hold.close();
  }
}, 240_000);

test('a worker that dies on every start without getting further: the stalls count as attempts and the job fails with the reason', async ({ ctx }) => {
  const dir = records(2 * PAGE);
  const hold = await stops(ctx, [1]);
  const spawnWorker = workerProcess(ctx);
  const runs = new RunTracker(ctx.redis, ctx.config.redisPrefix);
  let child: ChildProcess | undefined;
  try {
    const r = await runIngest(ctx, { paths: [dir], index: 'poison', wait: false, localWorker: false });
    const line = await recordedLine(ctx, r.runId);
    const q = new Queue('ingest', { connection: ctx.redis, prefix: ctx.config.redisPrefix });
    const [job] = await q.getJobs(['waiting']);
    const attemptKey = `${ctx.config.redisPrefix}:attempt:ingest:${job!.id}`;
    let seen: string | null = null;
    // Three starts, each killed while the job waits at the same place (page 2).
    for (let i = 0; i < 3; i++) {
      child = spawnWorker();
      const prev: string | null = seen;
      seen = await waitUntil<string | null>('a new start of the job', () => ctx.redis.hget(attemptKey, 'open'), (v) => v !== null && v !== prev);
      await waitUntil('the position after page 1', line, (l) => l === PAGE + 1);
      await kill(child);
    }
    child = spawnWorker();
    const s = (await waitUntil('the run to settle', () => runs.get(r.runId), (v) => v !== null && v.ingestSettled === 1))!;
    expect(s.failedJobs).toBe(1);
    // What the job stored before it failed is counted.
    expect(s.documents).toBe(PAGE);
    const failed = await q.getFailed(0, -1);
    expect(failed.map((j) => j.failedReason)).toEqual([expect.stringMatching(/stopped after 3 of 3 attempts: its worker stopped 3 time\(s\)/)]);
    await q.close();
  } finally {
    if (child) await kill(child);
    await hold.close();
  }
}, 240_000);

test('a run whose ingest job fails after storing documents reports the documents it stored', async ({ ctx }) => {
  // Postgres refuses the 601st record (its id is over the btree key limit) on every attempt.
  const ok = Array.from({ length: PAGE + 100 }, (_, i) => JSON.stringify({ id: `r${i}`, text: `Record ${i}. ${prose(i, 1)}` }));
  const bad = JSON.stringify({ id: randomBytes(4000).toString('base64'), text: 'too long an id' });
  const dir = writeCorpus({ 'part.jsonl': `${[...ok, bad].join('\n')}\n` });
  const r = await runIngest(ctx, { paths: [dir], index: 'partial' });
  expect(r.failedJobs).toBe(1);
  expect(await countRows(ctx, 'documents')).toBe(PAGE);
  expect(r.documents).toBe(PAGE);
  expect(r.chunks).toBe(PAGE);
}, 120_000);
