/**
 * The typed job catalog: queue name → handler, and queue name → job name → payload schema (what
 * jobs/validate.ts checks before a handler runs). A queue without a handler or schemas (or either
 * of the wrong payload type) fails the type check.
 */
import type { Job } from 'bullmq';
import { z } from 'zod';
import type { QueueName } from '../src/queue/names.ts';
import type { Context } from '../src/context.ts';
import { backfillPayloadSchema, handleBackfill, type BackfillPayload } from './backfill.ts';
import { batchSubmitPayloadSchema, handleBatches, type BatchesPayload } from './batch.ts';
import { embedPayloadSchema, handleEmbed, type EmbedPayload } from './embed.ts';
import { finalizePayloadSchema, handleFinalize, type FinalizePayload } from './finalize.ts';
import { handleIngest, ingestPayloadSchema, type IngestPayload } from './ingest.ts';
import { handleSchedules, scheduledIngestPayloadSchema, SYSTEM_SCHEDULES, type ScheduledIngestPayload } from './schedules.ts';

export interface Payloads {
  ingest: IngestPayload;
  embed: EmbedPayload;
  finalize: FinalizePayload;
  batches: BatchesPayload;
  reembed: BackfillPayload;
  schedules: ScheduledIngestPayload | Record<string, never>;
}

export type Handler<N extends QueueName> = (ctx: Context, job: Job<Payloads[N]>) => Promise<unknown>;

export const CATALOG: { [N in QueueName]: Handler<N> } = {
  ingest: handleIngest,
  embed: handleEmbed,
  finalize: handleFinalize,
  batches: handleBatches,
  reembed: handleBackfill,
  schedules: handleSchedules,
};

/** Scheduled system jobs carry no data. */
const noData = z.strictObject({}) satisfies z.ZodType<Record<string, never>>;

/** The jobs of a queue's system schedules, one home for their names: SYSTEM_SCHEDULES. */
const systemJobs = (queue: QueueName) => Object.fromEntries(SYSTEM_SCHEDULES.filter((s) => s.queue === queue).map((s) => [s.jobName, noData]));

/** Every job name each queue accepts, with the schema of its payload. */
export const PAYLOAD_SCHEMAS: { [N in QueueName]: Readonly<Record<string, z.ZodType<Payloads[N]>>> } = {
  ingest: { ingest: ingestPayloadSchema },
  embed: { embed: embedPayloadSchema },
  finalize: { finalize: finalizePayloadSchema },
  batches: { 'batch-submit': batchSubmitPayloadSchema, ...systemJobs('batches') },
  reembed: { backfill: backfillPayloadSchema },
  schedules: { 'scheduled-ingest': scheduledIngestPayloadSchema, ...systemJobs('schedules') },
};
