/** `embed` job: a batch of cache misses for one index version, through {@link embedBatch}. */
import type { Job } from 'bullmq';
import { z } from 'zod';
import { tokenizerFor } from '../src/corpus/tokenizer.ts';
import { NonRetryableError } from '../src/errors.ts';
import { embedBatch } from '../src/pipeline/embed-batch.ts';
import { InputClaims } from '../src/queue/claims.ts';
import type { RunCounters } from '../src/queue/runs.ts';
import { getIndexVersion } from '../src/store/indexes.ts';
import { contentJobId } from '../src/queue/names.ts';
import type { Context } from '../src/context.ts';
import { defineJob, enqueueBulk, idOf } from './define.ts';
import { positiveId, runId, tenantId } from './fields.ts';

export interface EmbedPayload {
  runId: string;
  indexVersionId: number;
  tenant: string;
  /** [chunk id, input hash hex] pairs: ids and hashes only, never texts or secrets. */
  items: [string, string][];
}

const embedPayloadSchema = z.strictObject({
  runId,
  indexVersionId: positiveId,
  tenant: tenantId,
  items: z.array(z.tuple([z.string().regex(/^\d{1,19}$/, 'a chunk id'), z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 in hex')])).max(4096),
}) satisfies z.ZodType<EmbedPayload>;

async function handleEmbed(ctx: Context, job: Job<EmbedPayload>): Promise<Partial<RunCounters>> {
  const { providers } = ctx;
  const p = job.data;
  const version = await getIndexVersion(ctx.db, p.indexVersionId);
  if (!version || version.state === 'dropped') throw new NonRetryableError(`index version ${p.indexVersionId} no longer exists`);
  const { provider } = await providers.get(version.modelVersionId);
  const r = await embedBatch({
    db: ctx.db,
    version,
    tenant: p.tenant,
    provider,
    tokenizer: tokenizerFor(provider.model.spec.tokenizer),
    overlong: ctx.config.overlong,
    items: p.items.map(([chunkId, hex]) => ({ chunkId, inputHash: Buffer.from(hex, 'hex') })),
    ...(job.id ? { jobId: job.id } : {}),
    runId: p.runId,
    budgetRecheckMs: ctx.config.worker.budgetRecheckMs,
    ...(ctx.drain ? { drain: ctx.drain } : {}),
    // Claims live one lock period, like the job's own lock: a killed worker's claims lapse as its jobs return.
    claims: {
      claims: new InputClaims(ctx.redis, ctx.config.redisPrefix, ctx.config.worker.lockMs),
      owner: job.id ?? `${p.runId}:${p.indexVersionId}`,
      onWait: (held) => job.log(`waiting for ${held} input(s) another job is embedding; they will come from the cache`).then(() => undefined),
    },
  });
  await ctx.runs.live(p.runId, { done: r.embedded + r.cacheHits + r.stale, hits: r.cacheHits });
  return { embedded: r.embedded, cacheHits: r.cacheHits, tokens: r.tokens, costNanoUsd: Math.round(r.costUsd * 1e9), truncated: r.truncated, split: r.split };
}

export const embedJob = defineJob({
  name: 'embed',
  queue: 'embed',
  schema: embedPayloadSchema,
  handler: handleEmbed,
  attempts: (c) => c.worker.embedAttempts,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 3600, count: 2000 },
  removeOnFail: { age: 7 * 24 * 3600 },
  concurrency: (c) => c.worker.concurrency,
  run: { as: 'embed', counters: true },
  // `salt` tells apart the same items embedded again for another reason (a batch's failed requests).
  jobId: (p: EmbedPayload, salt: string = '') => contentJobId('embed', p.runId, p.indexVersionId, salt, ...p.items.flat()),
});

/**
 * Enqueues embed jobs of run `runId`; the run learns of them first, so it never looks finished
 * while they are outstanding. Returns their ids.
 */
export async function enqueueEmbeds(ctx: Context, runId: string, payloads: EmbedPayload[], salt = ''): Promise<string[]> {
  const jobs = payloads.map((payload) => ({ payload, jobId: idOf(embedJob, payload, salt) }));
  await ctx.runs.addEmbedJobs(runId, jobs.map((j) => j.jobId));
  await enqueueBulk(ctx, embedJob, jobs);
  return jobs.map((j) => j.jobId);
}
