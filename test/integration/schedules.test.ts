/** Scheduled jobs: declared once, listed, and a source re-sync that picks up changed and deleted files. */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { runSchedulesAdd, runSchedulesList, runSchedulesRemove } from '../../src/cli/commands/schedules.ts';
import { parseRepeat } from '../../src/cli/parse.ts';
import { startWorkers } from '../../workers/runtime.ts';
import { countRows, docIds, orphanVectors } from '../support/assert.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { describe, expect, test } from '../support/fixtures.ts';
import { waitFor } from '../support/wait.ts';

test('a schedule fires and re-ingests a changed file, and removes a deleted one from the index', async ({ ctx }) => {
  const dir = writeCorpus({ 'a.txt': prose(1, 5), 'b.txt': prose(2, 5), 'gone.txt': prose(3, 5) });
  await runIngest(ctx, { paths: [dir], index: 'synced' });
  const added = await runSchedulesAdd(ctx, { kind: 'ingest', paths: [dir], index: 'synced', every: '1s' });
  expect(added).toMatchObject({ name: 'user-synced-default', kind: 'ingest', repeat: 'every 1s' });
  // Re-adding under the same name updates rather than duplicates.
  await runSchedulesAdd(ctx, { kind: 'ingest', paths: [dir], index: 'synced', every: '1s' });
  expect((await runSchedulesList(ctx)).filter((s) => s.kind === 'ingest')).toHaveLength(1);

  writeFileSync(join(dir, 'a.txt'), 'The zebra named Quillon paints lighthouses every solstice.');
  rmSync(join(dir, 'gone.txt'));
  const hash = async () => (await ctx.db.query(`SELECT encode(content_hash, 'hex') AS h FROM documents WHERE doc_id LIKE '%a.txt'`)).rows[0]?.h;
  const before = await hash();
  const w = await startWorkers(ctx);
  try {
    await waitFor(async () => (await hash()) !== before, 'the scheduled re-sync to re-read a.txt');
    await waitFor(async () => (await countRows(ctx, 'documents', `doc_id LIKE '%gone.txt'`)) === 0, 'the re-sync to delete gone.txt');
    expect((await docIds(ctx)).map((id) => id.split('/').at(-1))).toEqual(['a.txt', 'b.txt']);
    expect(await orphanVectors(ctx, 'vec_synced_1')).toBe(0);
  } finally {
    await w.close();
  }
  expect(await runSchedulesRemove(ctx, 'synced-default')).toBe(true);
  const names = (await runSchedulesList(ctx)).map((s) => s.name);
  expect(names).toEqual(['batch-poll', 'cache-gc', 'ledger-sweep', 'spend-rollup']);
});

describe('schedule input', () => {
  test('intervals, cron expressions and their errors', () => {
    expect(parseRepeat({ every: '1h' })).toEqual({ every: 3_600_000 });
    expect(parseRepeat({ cron: '0 * * * *' })).toEqual({ pattern: '0 * * * *' });
    expect(() => parseRepeat({ cron: '61 * * * *' })).toThrow(/is not a valid cron expression/);
    expect(() => parseRepeat({ every: 'hourly' })).toThrow(/--every must be a number and a unit/);
    expect(() => parseRepeat({})).toThrow(/exactly one of --every/);
  });

  test('unknown kinds, unknown indexes and unsafe tenants are refused', async ({ ctx }) => {
    await expect(runSchedulesAdd(ctx, { kind: 'backup', paths: ['.'], index: 'x', every: '1h' })).rejects.toThrow(/only "ingest" schedules exist/);
    await expect(runSchedulesAdd(ctx, { kind: 'ingest', paths: ['.'], index: 'nope', every: '1h' })).rejects.toThrow(/index nope does not exist/);
    await runIngest(ctx, { paths: [writeCorpus({ 'a.txt': prose(1, 2) })], index: 'ok' });
    await expect(runSchedulesAdd(ctx, { kind: 'ingest', paths: ['.'], index: 'ok', every: '1h', tenant: 'Bad Tenant' })).rejects.toThrow(/not a safe identifier/);
  });
});
