/**
 * The provider-batch lifecycle in src/store/batches.ts: each step applies only from the statuses
 * its BATCH_STEPS entry names, never to a batch already read back, and says whether it applied.
 */
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { createBatch, getBatch, markReadBack, markSubmitted, markUploaded, recordPoll } from '../../src/store/batches.ts';
import { getIndex } from '../../src/store/indexes.ts';
import type { Context } from '../../src/context.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { expect, test } from '../support/fixtures.ts';

async function newBatch(ctx: Context): Promise<string> {
  await runIngest(ctx, { paths: [writeCorpus({ 'a.txt': prose(1, 2) })], index: 'life' });
  const live = (await getIndex(ctx.db, 'life'))!.live;
  return createBatch(ctx.db, { provider: 'openai', modelVersionId: live.modelVersionId, indexVersionId: live.id, tenant: 'default', runId: 'r1', submitJobId: 'bsubmit-1' });
}

test('steps run in order; one out of order or replayed changes nothing', async ({ ctx }) => {
  const id = await newBatch(ctx);
  expect(await markSubmitted(ctx.db, id, 'batch_x', 'validating')).toBe(false); // not uploaded yet
  expect(await recordPoll(ctx.db, id, { status: 'completed', outputFileId: 'f', errorFileId: null })).toBe(false);
  expect((await getBatch(ctx.db, id))!.status).toBe('preparing');

  expect(await markUploaded(ctx.db, id, 'file-in')).toBe(true);
  expect(await markUploaded(ctx.db, id, 'file-other')).toBe(false); // a replayed submit keeps the first file
  expect(await markSubmitted(ctx.db, id, 'batch_x', 'validating')).toBe(true);
  expect(await markReadBack(ctx.db, id, { status: 'ingested' })).toBe(false); // the provider is not done

  expect(await recordPoll(ctx.db, id, { status: 'in_progress', outputFileId: null, errorFileId: null })).toBe(true);
  expect((await getBatch(ctx.db, id))!.finishedAt).toBeNull();
  expect(await recordPoll(ctx.db, id, { status: 'completed', outputFileId: 'file-out', errorFileId: null })).toBe(true);
  const done = (await getBatch(ctx.db, id))!;
  expect(done).toMatchObject({ status: 'completed', inputFileId: 'file-in', providerBatchId: 'batch_x', outputFileId: 'file-out' });
  expect(done.finishedAt).not.toBeNull();

  expect(await markReadBack(ctx.db, id, { status: 'ingested', completed: 3, failed: 1, tokensBilled: 42 })).toBe(true);
  // A second poller's stale view, or a second read-back, never undoes the first.
  expect(await recordPoll(ctx.db, id, { status: 'in_progress', outputFileId: null, errorFileId: null })).toBe(false);
  expect(await markReadBack(ctx.db, id, { status: 'rejected', errors: { reason: 'late' } })).toBe(false);
  const after = (await getBatch(ctx.db, id))!;
  expect(after).toMatchObject({ status: 'ingested', completed: 3, failed: 1, tokensBilled: 42, outputFileId: 'file-out', errors: null });
  expect(after.finishedAt).toEqual(done.finishedAt);
  expect(after.ingestedAt).not.toBeNull();
});

test('a failed batch keeps the provider errors from its poll; a read-back adds its own only when given', async ({ ctx }) => {
  const id = await newBatch(ctx);
  await markUploaded(ctx.db, id, 'file-in');
  await markSubmitted(ctx.db, id, 'batch_y', 'validating');
  await recordPoll(ctx.db, id, { status: 'failed', outputFileId: null, errorFileId: null, errors: { data: [{ message: 'bad line 3' }] } });
  await markReadBack(ctx.db, id, { status: 'failed', completed: 0, failed: 0, tokensBilled: 0 });
  expect((await getBatch(ctx.db, id))!).toMatchObject({ status: 'failed', errors: { data: [{ message: 'bad line 3' }] } });
});
