/**
 * A scheduled re-sync deletes the documents of files gone from its roots, and nothing else: not a
 * sibling folder whose name starts with the root's, and nothing at all when a root itself cannot
 * be read (unmounted, renamed, a permission hiccup).
 */
import { renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Job } from 'bullmq';
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { runSchedulesAdd } from '../../src/cli/commands/schedules.ts';
import { createQueues } from '../../src/queue/producer.ts';
import type { Context } from '../../src/context.ts';
import { scheduledIngestJob, type ScheduledIngestPayload } from '../../jobs/scheduled-ingest.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { expect, test } from '../support/fixtures.ts';

const SIBLINGS = ['docs', 'docs2', 'docs-old', 'docs.bak'];

/** A parent folder with `docs` and its look-alike siblings, two files each, all ingested. */
async function siblingCorpus(ctx: Context): Promise<string> {
  const parent = writeCorpus(Object.fromEntries(SIBLINGS.flatMap((name, i) => [[`${name}/a.txt`, prose(10 * i + 1, 3)], [`${name}/sub/b.txt`, prose(10 * i + 2, 3)]])));
  const r = await runIngest(ctx, { paths: SIBLINGS.map((n) => join(parent, n)), index: 'roots' });
  expect(r.documents).toBe(8);
  return parent;
}

/** Runs one scheduled re-sync in process, as a worker would (no timers: the handler is awaited). */
async function resync(ctx: Context, paths: string[]): Promise<unknown> {
  const data: ScheduledIngestPayload = { index: 'roots', tenant: ctx.config.defaultTenant, paths, mode: 'sync' };
  return await scheduledIngestJob.handler(ctx, { name: 'scheduled-ingest', data } as Job);
}

const sources = async (ctx: Context) => (await ctx.db.query<{ source: string }>(`SELECT source FROM documents ORDER BY source`)).rows.map((r) => r.source);

test('a re-sync of docs removes its vanished file and leaves docs2, docs-old and docs.bak alone', async ({ ctx }) => {
  const parent = await siblingCorpus(ctx);
  rmSync(join(parent, 'docs', 'sub', 'b.txt'));
  const r = await resync(ctx, [join(parent, 'docs')]);
  expect(r).toMatchObject({ removed: 1 });
  // The re-sync's run forms ids as `embedq ingest` does: relative to the folder holding the root.
  const queues = createQueues(ctx.redis, ctx.config);
  const jobs = await queues.ingest.getJobs(['waiting', 'active', 'completed', 'delayed', 'prioritized']);
  await queues.close();
  expect(jobs.filter((j) => j.data.runId === (r as { runId: string }).runId).map((j) => j.data.source)).toEqual([{ kind: 'files', paths: [join(parent, 'docs', 'a.txt')], baseDir: parent }]);
  expect(await sources(ctx)).toEqual(
    [join(parent, 'docs', 'a.txt'), ...SIBLINGS.slice(1).flatMap((n) => [join(parent, n, 'a.txt'), join(parent, n, 'sub', 'b.txt')])].sort(),
  );
});

test('a file root matches only that file, not files whose names start with it', async ({ ctx }) => {
  const parent = await siblingCorpus(ctx);
  writeFileSync(join(parent, 'docs', 'a.txt2.txt'), prose(99, 3));
  await runIngest(ctx, { paths: [join(parent, 'docs', 'a.txt2.txt')], index: 'roots' });
  const before = await sources(ctx);
  expect(before).toContain(join(parent, 'docs', 'a.txt2.txt'));
  expect(await resync(ctx, [join(parent, 'docs', 'a.txt')])).toMatchObject({ removed: 0 });
  expect(await sources(ctx)).toEqual(before);
});

test('a root that is gone (renamed, unmounted) fails the job with the reason and deletes nothing', async ({ ctx }) => {
  const parent = await siblingCorpus(ctx);
  const before = await sources(ctx);
  renameSync(join(parent, 'docs'), join(parent, 'docs-moved'));
  await expect(resync(ctx, [join(parent, 'docs'), join(parent, 'docs2')])).rejects.toThrow(
    new RegExp(`root ${join(parent, 'docs').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} could not be read \\(not found\\).*nothing was deleted`),
  );
  expect(await sources(ctx)).toEqual(before);
  // A root that is there again is re-synced as usual.
  renameSync(join(parent, 'docs-moved'), join(parent, 'docs'));
  expect(await resync(ctx, [join(parent, 'docs')])).toMatchObject({ removed: 0 });
  expect(await sources(ctx)).toEqual(before);
});

test('a glob root removes the vanished files it matched, and only those', async ({ ctx }) => {
  const parent = await siblingCorpus(ctx);
  writeFileSync(join(parent, 'docs', 'c.txt'), prose(77, 3));
  await runIngest(ctx, { paths: [join(parent, 'docs', 'c.txt')], index: 'roots' });
  rmSync(join(parent, 'docs', 'c.txt'));
  rmSync(join(parent, 'docs', 'sub', 'b.txt'));
  // `docs/*.txt` matches docs/c.txt, not docs/sub/b.txt (nor docs2/…): one document goes.
  expect(await resync(ctx, [join(parent, 'docs', '*.txt')])).toMatchObject({ removed: 1 });
  const left = await sources(ctx);
  expect(left).not.toContain(join(parent, 'docs', 'c.txt'));
  expect(left).toContain(join(parent, 'docs', 'sub', 'b.txt'));
  expect(left).toHaveLength(8);
});

test('a re-sync reads records as the schedule\'s first ingest did: its record flags and --follow-symlinks are kept', async ({ ctx }) => {
  const outside = writeCorpus({ 'linked.txt': prose(70, 3) });
  const parent = writeCorpus({ 'kb/faq.csv': 'id,body,lang,secret_note\n1,How do refunds work?,en,internal\n', 'kb/plain.txt': prose(71, 3) });
  symlinkSync(join(outside, 'linked.txt'), join(parent, 'kb', 'linked.txt'));
  const kb = join(parent, 'kb');
  const first = await runIngest(ctx, { paths: [kb], index: 'roots', textField: 'body', metadataColumns: 'lang', followSymlinks: true });
  expect(first).toMatchObject({ documents: 3, rejected: [] });
  await runSchedulesAdd(ctx, { kind: 'ingest', paths: [kb], index: 'roots', every: '1h', name: 'kb', textField: 'body', metadataColumns: 'lang', followSymlinks: true });
  const queues = createQueues(ctx.redis, ctx.config);
  try {
    const scheduler = await queues.schedules.getJobScheduler('user-kb');
    const data = scheduler!.template!.data as ScheduledIngestPayload;
    expect(data).toMatchObject({ fields: { textField: 'body', metadataColumns: 'lang' }, followSymlinks: true });
    const r = (await scheduledIngestJob.handler(ctx, { name: 'scheduled-ingest', data } as Job)) as { runId: string; removed: number };
    // The linked file is still a source (not vanished, still read), and the CSV is read with the same columns.
    expect(r.removed).toBe(0);
    const jobs = (await queues.ingest.getJobs(['waiting', 'active', 'completed', 'delayed', 'prioritized'])).filter((j) => j.data.runId === r.runId);
    const paths = jobs.flatMap((j) => (j.data.source.kind === 'files' ? j.data.source.paths : [j.data.source.path]));
    expect(paths.map((x: string) => x.slice(kb.length + 1)).sort()).toEqual(['faq.csv', 'linked.txt', 'plain.txt']);
    for (const j of jobs) expect(j.data.read).toMatchObject({ csv: { textColumn: 'body', metadataColumns: ['lang'] }, jsonl: { textField: 'body' } });
  } finally {
    await queues.close();
  }
});
