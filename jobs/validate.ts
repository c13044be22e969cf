/**
 * The one place a job's payload is checked before its handler runs (workers/runtime.ts calls
 * {@link checkPayload}). A payload is untrusted input: it came out of Redis, and anything holding
 * the Redis URL (or, before it was closed, the dashboard's add-job route) can put a job there.
 * Beyond its schema (jobs/catalog.ts), an ingest job must belong to a recorded run of the same
 * index and tenant and read only under that run's roots, and a re-sync must be exactly what its
 * job scheduler holds. A refused job fails at once as unrecoverable, with the reason.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Job } from 'bullmq';
import type { z } from 'zod';
import { isUnder } from '../src/corpus/readers/roots.ts';
import { InvalidPayloadError } from '../src/errors.ts';
import type { QueueName } from '../src/queue/names.ts';
import { PAYLOAD_SCHEMAS } from './catalog.ts';
import type { Context } from '../src/context.ts';
import { sourcePaths, type IngestPayload } from './ingest.ts';

const AFTER = 'Jobs come from `embedq ingest`, `embedq reembed` and `embedq schedules`; nothing was read or written';

/** Throws {@link InvalidPayloadError} unless `job` is one embedq would have made. */
export async function checkPayload(ctx: Context, queue: QueueName, job: Job): Promise<void> {
  const refuse = (why: string) => new InvalidPayloadError(`${queue} job ${job.id ?? '?'} refused: ${why}. ${AFTER}`);
  const schemas = PAYLOAD_SCHEMAS[queue] as Readonly<Record<string, z.ZodType>>;
  const schema = Object.hasOwn(schemas, job.name) ? schemas[job.name] : undefined;
  if (!schema) throw refuse(`no ${queue} job is named ${JSON.stringify(job.name)} (expected ${Object.keys(schemas).join(', ')})`);
  const parsed = schema.safeParse(job.data);
  if (!parsed.success) throw refuse(`its payload does not match the ${job.name} schema (${describeIssues(parsed.error.issues)})`);
  if (queue === 'ingest') {
    const why = await ingestProblem(ctx, job.data as IngestPayload);
    if (why) throw refuse(why);
  }
  if (queue === 'schedules' && job.name === 'scheduled-ingest') {
    const scheduler = job.repeatJobKey ? await ctx.queues.schedules.getJobScheduler(job.repeatJobKey) : undefined;
    if (!scheduler || !isDeepStrictEqual(scheduler.template?.data, job.data))
      throw refuse(`a re-sync must come from a job scheduler (\`embedq schedules add\`) and carry its data unchanged${job.repeatJobKey ? `; scheduler ${job.repeatJobKey} ${scheduler ? 'holds other data' : 'does not exist'}` : ''}`);
  }
}

async function ingestProblem(ctx: Context, p: IngestPayload): Promise<string | undefined> {
  const run = await ctx.runs.get(p.runId);
  if (!run) return `its run ${p.runId} is not recorded under Redis prefix ${ctx.config.redisPrefix}`;
  if (run.index !== p.index || run.tenant !== p.tenant) return `it names index ${p.index} and tenant ${p.tenant}, but its run ${p.runId} is for index ${run.index} and tenant ${run.tenant}`;
  const outside = sourcePaths(p.source).filter((path) => !run.roots.some((root) => isUnder(path, root)));
  if (outside.length)
    return `${outside.length} of its paths lie outside the roots its run recorded (${run.roots.join(', ') || 'none'}): ${outside.slice(0, 3).join(', ')}${outside.length > 3 ? ', …' : ''}`;
  return undefined;
}


function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const shown = issues.slice(0, 4).map((i) => `${i.path.map(String).join('.') || 'payload'}: ${i.message}`);
  return shown.join('; ') + (issues.length > 4 ? `; and ${issues.length - 4} more` : '');
}
