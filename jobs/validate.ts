/**
 * The one place a job's payload is checked before its handler runs (workers/runtime.ts calls
 * {@link checkPayload}). A payload is untrusted input: it came out of Redis, and anything holding
 * the Redis URL (or, before it was closed, the dashboard's add-job route) can put a job there.
 * A job must be named in the catalog, match its definition's schema, and pass the definition's
 * own check (an ingest job reads only under its run's roots, a re-sync is exactly what its job
 * scheduler holds). A refused job fails at once as unrecoverable, with the reason.
 */
import type { Job } from 'bullmq';
import type { z } from 'zod';
import { InvalidPayloadError } from '../src/errors.ts';
import type { QueueName } from '../src/queue/names.ts';
import type { Context } from '../src/context.ts';
import { TRACEPARENT } from '../src/telemetry.ts';
import { JOBS_BY_QUEUE } from './catalog.ts';

const AFTER = 'Jobs come from `embedq ingest`, `embedq reembed` and `embedq schedules`; nothing was read or written';

/** Throws {@link InvalidPayloadError} unless `job` is one embedq would have made. */
export async function checkPayload(ctx: Context, queue: QueueName, job: Job): Promise<void> {
  const refuse = (why: string) => new InvalidPayloadError(`${queue} job ${job.id ?? '?'} refused: ${why}. ${AFTER}`);
  const jobs = JOBS_BY_QUEUE.get(queue) ?? new Map();
  const def = jobs.get(job.name);
  if (!def) throw refuse(`no ${queue} job is named ${JSON.stringify(job.name)} (expected ${[...jobs.keys()].join(', ')})`);
  // A job enqueued under a span carries its traceparent (jobs/define.ts); the schema sees the rest.
  const { traceparent, ...data } = (job.data ?? {}) as Record<string, unknown>;
  if (traceparent !== undefined && (typeof traceparent !== 'string' || !TRACEPARENT.test(traceparent))) throw refuse('its traceparent is not a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)');
  const parsed = def.schema.safeParse(traceparent === undefined ? job.data : data);
  if (!parsed.success) throw refuse(`its payload does not match the ${job.name} schema (${describeIssues(parsed.error.issues)})`);
  const why = await def.check?.(ctx, job);
  if (why) throw refuse(why);
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const shown = issues.slice(0, 4).map((i) => `${i.path.map(String).join('.') || 'payload'}: ${i.message}`);
  return shown.join('; ') + (issues.length > 4 ? `; and ${issues.length - 4} more` : '');
}
