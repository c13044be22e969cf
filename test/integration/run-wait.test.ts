/**
 * How `embedq ingest` (and every command that waits for a run) learns that the run is done: the
 * finalize job announces it, and the waiter wakes then, instead of at its next poll. The poll
 * stays as the fallback for an announcement that was lost.
 */
import { Progress, type ProgressSnapshot } from '../../src/cli/progress.ts';
import { waitForRun } from '../../src/cli/run-wait.ts';
import { expect, test } from '../support/fixtures.ts';

/** A silent progress line that says when the waiter has polled the run once. */
class FirstPoll extends Progress {
  readonly seen: Promise<void>;
  #resolve!: () => void;
  constructor() {
    super(false);
    this.seen = new Promise((r) => (this.#resolve = r));
  }
  override update(s: ProgressSnapshot): void {
    this.#resolve();
    super.update(s);
  }
}

test('a waiter wakes when its run is finalized, not at its next poll', async ({ ctx }) => {
  await ctx.runs.create('wake-1', { index: 'wake', tenant: 'default', ingestJobs: 1 });
  const progress = new FirstPoll();
  // An hour between polls: only the announcement can end this wait within the test's timeout.
  const waiting = waitForRun(ctx, 'wake-1', { progress, localWorker: false, pollMs: 3_600_000 });
  await progress.seen;
  expect((await ctx.runs.get('wake-1'))!.finalized).toBe(false);
  await ctx.runs.markFinalized('wake-1');
  await waiting;
  expect((await ctx.runs.get('wake-1'))!.finalized).toBe(true);
});
