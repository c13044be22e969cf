/**
 * What ingest refuses, end to end with the real queue and database: links out of the tree,
 * special files, pseudo-filesystems, runs with nothing to read, and a provider without its key.
 * Each refusal is a rejection with a reason or an error before anything is created.
 */
import { execFileSync } from 'node:child_process';
import { rmSync, symlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { NothingToIngestError, runIngest } from '../../src/cli/commands/ingest.ts';
import { runReembedStart } from '../../src/cli/commands/reembed.ts';
import { Progress } from '../../src/cli/progress.ts';
import { waitForRun } from '../../src/cli/run-wait.ts';
import { ConfigError } from '../../src/errors.ts';
import { createQueues } from '../../src/queue/producer.ts';
import { RunTracker } from '../../src/queue/runs.ts';
import { startWorkers } from '../../workers/runtime.ts';
import { countRows, docIds } from '../support/assert.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { expect, test } from '../support/fixtures.ts';
import { withConfig, type Context } from '../../src/context.ts';

const queuedJobs = async (ctx: Context) => {
  const queues = createQueues(ctx.redis, ctx.config);
  try {
    const counts = await Promise.all([queues.ingest.getJobCounts(), queues.embed.getJobCounts()]);
    return counts.flatMap((c) => Object.values(c)).reduce((a, b) => a + b, 0);
  } finally {
    await queues.close();
  }
};

test('a link to a file outside the folder is rejected, not indexed, unless --follow-symlinks', async ({ ctx }) => {
  const outside = writeCorpus({ 'secret.txt': 'root:x:0:0:the secret text outside the tree' });
  const dir = writeCorpus({ 'good.md': prose(1, 4) });
  symlinkSync(join(outside, 'secret.txt'), join(dir, 'secret.txt'));
  symlinkSync('/proc/self/status', join(dir, 'status.txt'));
  execFileSync('mkfifo', [join(dir, 'pipe.md')]);
  try {
    const r = await runIngest(ctx, { paths: [dir], index: 'links' });
    expect(r.documents).toBe(1);
    const reasons = Object.fromEntries(r.rejected.map((x) => [x.path.replace(`${dir}/`, ''), x.reason]));
    expect(reasons['secret.txt']).toMatch(/^symbolic link to .*secret\.txt, outside .*: not read \(--follow-symlinks reads it\)$/);
    expect(reasons['status.txt']).toMatch(/pseudo-filesystem/);
    expect(reasons['pipe.md']).toBe('a FIFO (named pipe), not a regular file: not read');
    expect(await countRows(ctx, 'chunks', `text LIKE '%secret text%' OR text LIKE '%VmRSS%'`)).toBe(0);

    const followed = await runIngest(ctx, { paths: [dir], index: 'links', followSymlinks: true });
    expect(followed.documents).toBe(1);
    // Read under the link's name, its id relative to the folder holding the root (docs/ingest.md).
    expect(await docIds(ctx)).toContain(`${basename(dir)}/secret.txt`);
    expect(followed.rejected.map((x) => x.path.replace(`${dir}/`, '')).sort()).toEqual(['pipe.md', 'status.txt']);
  } finally {
    rmSync(outside, { recursive: true, force: true });
  }
});

test('a worker reads the planned names literally: a vanished a*b.md is "not found", and aXb.md is not read in its place', async ({ ctx }) => {
  const dir = writeCorpus({ 'a*b.md': prose(2, 3), 'aXb.md': prose(3, 3) });
  const s = await runIngest(ctx, { paths: [join(dir, 'a*b.md')], index: 'literal', wait: false });
  rmSync(join(dir, 'a*b.md'));
  const runs = new RunTracker(ctx.redis, ctx.config.redisPrefix);
  const queues = createQueues(ctx.redis, ctx.config);
  const workers = await startWorkers(ctx, { name: 'literal-test' });
  try {
    await waitForRun(ctx, s.runId, { progress: new Progress(false), localWorker: true });
  } finally {
    await workers.close();
    await queues.close();
  }
  const state = (await runs.get(s.runId))!;
  expect(state.rejected).toEqual([{ path: join(dir, 'a*b.md'), reason: 'not found' }]);
  expect(await docIds(ctx)).toEqual([]);
});

test.for([
  ['every path missing', (dir: string) => [join(dir, 'missing.md'), join(dir, 'also-missing')], /not found/],
  ['a glob with no match', (dir: string) => [join(dir, '*.pdf')], /no files match this pattern/],
  ['a folder of unsupported files', (dir: string) => [dir], /^no supported files in this folder \(\.txt \.md /],
  ['/dev/zero', () => ['/dev/zero'], /pseudo-filesystem/],
  ['/proc', () => ['/proc'], /pseudo-filesystem/],
] as [string, (dir: string) => string[], RegExp][])('nothing readable (%s): fails with the rejections, creates no index and enqueues nothing', async ([, inputs, reason], { ctx }) => {
  const dir = writeCorpus({ 'image.png': 'not text', 'notes.log': 'unsupported when walked' });
  const err = await runIngest(ctx, { paths: inputs(dir), index: 'empty', wait: false }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(NothingToIngestError);
  const rejected = (err as NothingToIngestError).rejected;
  expect(rejected.length).toBe(inputs('').length);
  for (const r of rejected) expect(r.reason).toMatch(reason);
  expect((err as Error).message).toMatch(/^nothing to ingest: .*no index or run was created$/);
  expect(await countRows(ctx, 'indexes')).toBe(0);
  expect(await queuedJobs(ctx)).toBe(0);
});

test('a missing OPENAI_API_KEY or COHERE_API_KEY stops ingest and reembed before anything is created or enqueued', async ({ ctx }) => {
  const dir = writeCorpus({ 'a.md': prose(4, 3) });
  const noKeys = withConfig(ctx, { ...ctx.config, openai: {}, cohere: {} });
  for (const [model, key] of [
    ['openai/text-embedding-3-small', 'OPENAI_API_KEY'],
    ['cohere/embed-english-v3.0', 'COHERE_API_KEY'],
  ] as const) {
    const err = await runIngest(noKeys, { paths: [dir], index: 'keyed', model, wait: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(new RegExp(`^${model}.*: ${key} is not set`));
  }
  expect(await countRows(ctx, 'indexes')).toBe(0);
  expect(await queuedJobs(ctx)).toBe(0);

  await runIngest(ctx, { paths: [dir], index: 'keyed' });
  await expect(runReembedStart(noKeys, { index: 'keyed', to: 'openai/text-embedding-3-small', wait: false })).rejects.toThrow(/OPENAI_API_KEY is not set/);
  expect(await countRows(ctx, 'reembeds')).toBe(0);
});
