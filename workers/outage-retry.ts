/**
 * Jobs ride out a Redis or Postgres restart: a job whose call failed because the service went
 * away goes back to the queue after a backoff (1 s, 2 s, … 30 s) without spending an attempt,
 * and the outage is reported once. Its writes are idempotent, so running it again is safe.
 */
import type { Job } from 'bullmq';
import type { Context } from '../src/context.ts';
import { DelayJobError } from '../src/errors.ts';
import { lostService } from '../src/outage.ts';

export const OUTAGE_BACKOFF = { firstMs: 1000, maxMs: 30_000 } as const;

/** Returns a {@link DelayJobError} for an error that means a lost connection; any other error unchanged. */
export function outageRetry(ctx: Pick<Context, 'config' | 'outages'>, job: Job, e: unknown): unknown {
  const service = lostService(e, ctx.config);
  if (!service) return e;
  ctx.outages.down(service, e);
  // Starts not counted as attempts: earlier outage (or budget) delays of this job.
  const delays = Math.max(0, (job.attemptsStarted ?? 0) - (job.attemptsMade ?? 0) - 1);
  const delayMs = Math.min(OUTAGE_BACKOFF.maxMs, OUTAGE_BACKOFF.firstMs * 2 ** Math.min(delays, 10));
  const what = service === 'redis' ? 'Redis' : 'Postgres';
  return new DelayJobError(`${what} went away (${(e as Error).message?.split('\n')[0] ?? e}); retrying without spending an attempt`, delayMs);
}
